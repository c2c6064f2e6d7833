package main

import (
	"bufio"
	"context"
	"encoding/json"
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
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
)

// TestSignalShutsDownGracefully starts the real binary (this test binary
// running main) as a child process configured partly by environment
// variables and partly by flags, connects a client over each transport,
// sends the child a real SIGINT or SIGTERM, and checks that it exits 0
// after telling both clients CodeServerShutdown.
func TestSignalShutsDownGracefully(t *testing.T) {
	for name, sig := range map[string]syscall.Signal{"SIGINT": syscall.SIGINT, "SIGTERM": syscall.SIGTERM} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0],
				"-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0", "-webrtc", "127.0.0.1:0", "-log-level", "debug")
			cmd.Env = append(os.Environ(),
				childEnv+"=1",
				"TICKWIRE_KCP_ADDR=127.0.0.1:0",
				"TICKWIRE_TCP_ADDR=127.0.0.1:1", // the -tcp flag overrides it
				"TICKWIRE_DATA_DIR="+t.TempDir(),
				"TICKWIRE_LOG_FORMAT=json",
				"TICKWIRE_LOG_LEVEL=debug", // the session lines are at debug
				"TICKWIRE_SHUTDOWN_TIMEOUT=5s",
				"TICKWIRE_DRAIN_TIMEOUT=-1s", // no drain: a plain shutdown (drain_test.go drains)
			)
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			lines := make(chan map[string]any, 256)
			go func() { // reads the child's log to EOF, then reaps it
				defer close(exited)
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					var m map[string]any
					if json.Unmarshal(sc.Bytes(), &m) != nil {
						t.Logf("child: %s", sc.Text())
						continue
					}
					select {
					case lines <- m:
					default: // nobody waits for that many lines
					}
				}
				_, _ = io.Copy(io.Discard, stderr)
				close(lines)
				exited <- cmd.Wait()
			}()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			await := func(msg string) map[string]any {
				t.Helper()
				for {
					select {
					case m, ok := <-lines:
						require.True(t, ok, "child exited before logging %q", msg)
						if m["msg"] == msg {
							return m
						}
					case <-ctx.Done():
						require.FailNow(t, "timed out waiting for log", msg)
					}
				}
			}
			listening := await("tickwire listening")
			assert.Regexp(t, `^127\.0\.0\.1:\d+$`, listening["kcp"], "from TICKWIRE_KCP_ADDR")
			assert.NotEqual(t, "127.0.0.1:1", listening["tcp"], "the -tcp flag beats TICKWIRE_TCP_ADDR")
			httpBase := "http://" + listening["http"].(string)
			resp, err := http.Get(httpBase + "/healthz")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)

			var clients []*client.Client
			for tr, dial := range map[string]client.DialFunc{
				"kcp": kcp.Dialer{Addr: listening["kcp"].(string)}.Dial,
				"tcp": tcp.Dialer{Addr: listening["tcp"].(string)}.Dial,
			} {
				tok, err := client.GuestToken(ctx, httpBase, "sig")
				require.NoError(t, err)
				c, err := client.Dial(ctx, client.Options{Dial: dial, Token: tok, Name: "signal-test", Version: "9.9"})
				require.NoError(t, err, tr)
				defer c.Close()
				clients = append(clients, c)
				opened := await("session opened") // the engine logs who connected
				assert.Equal(t, "signal-test", opened["client"])
				assert.Equal(t, "9.9", opened["client_version"])
				assert.Equal(t, tr, opened["transport"])
			}

			require.NoError(t, cmd.Process.Signal(sig))
			await("signal received; shutting down")
			await("tickwire stopped")
			for range lines { // the child closes its stderr as it exits
			}
			select {
			case err := <-exited:
				require.NoError(t, err, "exit status")
			case <-ctx.Done():
				require.FailNow(t, "child did not exit after "+name)
			}
			for _, c := range clients {
				select {
				case <-c.Done():
				case <-ctx.Done():
					require.FailNow(t, "client not closed")
				}
				var ce *netcode.CloseError
				require.ErrorAs(t, c.Err(), &ce)
				assert.Equal(t, netcode.CodeServerShutdown, ce.Code)
			}
		})
	}
}
