package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
)

// drainChild is the real binary (this test binary running main) as a
// child process, with its JSON log lines on a channel.
type drainChild struct {
	cmd    *exec.Cmd
	lines  chan map[string]any
	exited chan error
	exitAt time.Time // when Wait returned; read after exited
}

func startDrainChild(t *testing.T, ctx context.Context, args ...string) *drainChild {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{
		"-kcp", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0", "-webrtc", "off",
		"-log-format", "json", "-data", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &drainChild{cmd: cmd, lines: make(chan map[string]any, 256), exited: make(chan error, 1)}
	go func() { // reads the child's log to EOF, then reaps it
		defer close(c.exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				t.Logf("child: %s", sc.Text())
				continue
			}
			select {
			case c.lines <- m:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		close(c.lines)
		err := cmd.Wait()
		c.exitAt = time.Now()
		c.exited <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
	})
	return c
}

func (c *drainChild) await(t *testing.T, ctx context.Context, msg string) map[string]any {
	t.Helper()
	for {
		select {
		case m, ok := <-c.lines:
			require.True(t, ok, "child exited before logging %q", msg)
			if m["msg"] == msg {
				return m
			}
		case <-ctx.Done():
			require.FailNow(t, "timed out waiting for log", msg)
		}
	}
}

// TestSIGTERMDrains: SIGTERM makes the real binary drain: connected
// clients are told draining, /readyz turns 503, a new session is refused
// with draining, the open room runs until the drain deadline, then every
// client is closed with draining and the process exits 0 within
// -drain-timeout plus -shutdown-timeout.
func TestSIGTERMDrains(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const drainTimeout, shutdownTimeout = 1500 * time.Millisecond, 3 * time.Second
	child := startDrainChild(t, ctx, "-drain-timeout", drainTimeout.String(), "-shutdown-timeout", shutdownTimeout.String())
	listening := child.await(t, ctx, "tickwire listening")
	httpBase := "http://" + listening["http"].(string)
	dial := func(dial client.DialFunc) (*client.Client, error) {
		tok, err := client.GuestToken(ctx, httpBase, "drain")
		require.NoError(t, err)
		return client.Dial(ctx, client.Options{Dial: dial, Token: tok, QueueSize: 1024})
	}
	kcpDial := kcp.Dialer{Addr: listening["kcp"].(string)}.Dial
	tcpDial := tcp.Dialer{Addr: listening["tcp"].(string)}.Dial
	player, err := dial(kcpDial)
	require.NoError(t, err)
	defer player.Close()
	idle, err := dial(tcpDial)
	require.NoError(t, err)
	defer idle.Close()
	r, err := player.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, TickRate: 10})
	require.NoError(t, err)

	require.NoError(t, child.cmd.Process.Signal(syscall.SIGTERM))
	signalled := time.Now()
	child.await(t, ctx, "signal received; draining")
	for _, c := range []*client.Client{player, idle} {
		for m := range c.Messages() {
			if m.Kind == frame.KindError && m.Ref == 0 {
				var e frame.Error
				require.NoError(t, m.Decode(&e))
				assert.Equal(t, netcode.CodeDraining, e.Code)
				break
			}
		}
	}
	resp, err := http.Get(httpBase + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "not ready while draining")
	_, err = dial(tcpDial)
	var ce *netcode.CloseError
	if errors.As(err, &ce) { // the Close at accept may come while Hello is sent
		err = ce.Code
	}
	assert.ErrorIs(t, err, netcode.CodeDraining, "a new session is refused: %v", err)
	_, err = r.SendInput(netcode.Reliable, []byte("the room still runs"))
	require.NoError(t, err)

	child.await(t, ctx, "drain: deadline reached with rooms open")
	child.await(t, ctx, "tickwire stopped")
	for range child.lines {
	}
	select {
	case err := <-child.exited:
		require.NoError(t, err, "exit status")
	case <-ctx.Done():
		require.FailNow(t, "child did not exit")
	}
	took := child.exitAt.Sub(signalled)
	t.Logf("SIGTERM to exit: %v", took)
	assert.GreaterOrEqual(t, took, drainTimeout, "the room ran until the drain deadline")
	assert.Less(t, took, drainTimeout+shutdownTimeout, "exited within the deadline")
	for _, c := range []*client.Client{player, idle} {
		<-c.Done()
		var ce *netcode.CloseError
		require.ErrorAs(t, c.Err(), &ce)
		assert.Equal(t, netcode.CodeDraining, ce.Code)
	}
}

// TestSecondSignalExitsAtOnce: a second SIGTERM during a drain ends the
// process at once, killed by the signal, long before the drain deadline.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	child := startDrainChild(t, ctx, "-drain-timeout", "1m")
	listening := child.await(t, ctx, "tickwire listening")
	tok, err := client.GuestToken(ctx, "http://"+listening["http"].(string), "stay")
	require.NoError(t, err)
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: listening["tcp"].(string)}.Dial, Token: tok})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	require.NoError(t, err)

	require.NoError(t, child.cmd.Process.Signal(syscall.SIGTERM))
	child.await(t, ctx, "signal received; draining")
	second := time.Now()
	require.NoError(t, child.cmd.Process.Signal(syscall.SIGTERM))
	for range child.lines {
	}
	select {
	case err := <-child.exited:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "killed, not a clean exit")
		ws, ok := ee.Sys().(syscall.WaitStatus)
		require.True(t, ok)
		assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGTERM, "ended by the second SIGTERM: %v", ws)
		assert.Less(t, child.exitAt.Sub(second), 5*time.Second)
	case <-ctx.Done():
		require.FailNow(t, "child did not exit on the second signal")
	}
}
