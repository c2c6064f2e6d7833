package ws

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// A peer that upgrades, sends its first message and then falls silent
// (no heartbeats) is closed after IdleTimeout with idle_timeout, and is
// told so.
func TestIdleTimeout(t *testing.T) {
	cfg := Config{HeartbeatInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}
	s := startServer(t, netcode.Env{}, cfg)
	wc, _, err := rawDial(t, s.url, nil)
	require.NoError(t, err)
	_, in := acceptOne(t, s)
	require.NoError(t, wc.Write(ctxT(t), websocket.MessageBinary, []byte{markReliable, 'h', 'i'}))
	m := conntest.Recv(t, in, 5*time.Second)
	require.NoError(t, m.Err)
	start := time.Now()
	closed := make(chan websocket.CloseError, 1)
	go func() { closed <- readClose(t, wc) }() // reads (and drops) the server's heartbeats
	m = conntest.Recv(t, in, 5*time.Second)
	assert.ErrorIs(t, m.Err, netcode.ErrIdleTimeout)
	assert.Equal(t, netcode.CodeIdleTimeout, netcode.CodeOf(m.Err))
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	assert.Equal(t, statusOf(netcode.CodeIdleTimeout), (<-closed).Code)
}

// Heartbeats keep two quiet ends open past the idle timeout and past the
// HTTP server's own read and write timeouts (2 s in startServer), which
// the upgrade must clear; a WebSocket ping also counts as heard.
func TestQuietConnectionStaysOpen(t *testing.T) {
	cfg := Config{HeartbeatInterval: 100 * time.Millisecond, IdleTimeout: time.Second}
	s := startServer(t, netcode.Env{}, cfg)
	c, sc := s.pair(t, cfg)
	cin, sin := conntest.Pump(t, c), conntest.Pump(t, sc)
	quiet := time.After(2500 * time.Millisecond)
	select {
	case m := <-cin:
		t.Fatalf("client ended while quiet: %v", m.Err)
	case m := <-sin:
		t.Fatalf("server ended while quiet: %v", m.Err)
	case <-quiet:
	}
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("after")))
	m := conntest.Recv(t, sin, 5*time.Second)
	require.NoError(t, m.Err)
	assert.Equal(t, "after", string(m.Data))
	assert.Positive(t, sc.Stats().BytesRecv, "heartbeats counted as bytes")
}

// A WebSocket ping (a browser or proxy may send them) refreshes the idle
// timer even when no tickwire heartbeat arrives.
func TestPingsCountAsHeard(t *testing.T) {
	cfg := Config{HeartbeatInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}
	s := startServer(t, netcode.Env{}, cfg)
	wc, _, err := rawDial(t, s.url, nil)
	require.NoError(t, err)
	_, in := acceptOne(t, s)
	require.NoError(t, wc.Write(ctxT(t), websocket.MessageBinary, []byte{markReliable}))
	require.NoError(t, (<-in).Err)
	drained := make(chan struct{})
	go func() { // reads the server's heartbeats, and so the pongs
		defer close(drained)
		for {
			if _, _, err := wc.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = wc.CloseNow(); <-drained })
	for range 12 { // 12 × 50 ms = 600 ms, twice the idle timeout
		require.NoError(t, wc.Ping(ctxT(t)))
		select {
		case m := <-in:
			t.Fatalf("closed although pinged: %v", m.Err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A peer that does not read makes writes time out with slow_consumer,
// and Close stays bounded while a writer is blocked.
func TestWriteTimeoutAndBoundedClose(t *testing.T) {
	cfg := Config{WriteTimeout: 200 * time.Millisecond}
	s := startServer(t, netcode.Env{}, cfg)
	_, _, err := rawDial(t, s.url, nil) // never reads
	require.NoError(t, err)
	sc, err := s.l.AcceptWS()
	require.NoError(t, err)
	big := make([]byte, 60000)
	var werr error
	for i := 0; i < 10000 && werr == nil; i++ {
		werr = sc.WriteMessage(netcode.Reliable, big)
	}
	require.Error(t, werr)
	assert.ErrorIs(t, werr, netcode.ErrWriteTimeout)
	assert.Equal(t, netcode.CodeSlowConsumer, netcode.CodeOf(werr))
	start := time.Now()
	require.NoError(t, sc.Close(netcode.CodeSlowConsumer, "too slow"))
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.ErrorIs(t, sc.WriteMessage(netcode.Reliable, []byte("x")), netcode.ErrClosed)
}

// Close while another goroutine is blocked writing returns within the
// close bound and unblocks the writer.
func TestCloseUnblocksWriter(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	_, _, err := rawDial(t, s.url, nil) // never reads
	require.NoError(t, err)
	sc, err := s.l.AcceptWS()
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		big := make([]byte, 60000)
		for {
			if err := sc.WriteMessage(netcode.Reliable, big); err != nil {
				done <- err
				return
			}
		}
	}()
	require.Eventually(t, func() bool { return sc.Stats().MessagesSent > 5 }, 5*time.Second, time.Millisecond)
	start := time.Now()
	require.NoError(t, sc.Close(netcode.CodeServerShutdown, "bye"))
	assert.Less(t, time.Since(start), 2*time.Second)
	select {
	case err := <-done:
		assert.ErrorIs(t, err, netcode.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("writer still blocked after Close")
	}
}

// A close reason longer than a WebSocket close frame allows is cut at a
// UTF-8 boundary, and the code still arrives.
func TestLongCloseReason(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	c, sc := s.pair(t, Config{})
	in := conntest.Pump(t, c)
	reason := ""
	for len(reason) < 200 {
		reason += "é"
	}
	require.NoError(t, sc.Close(netcode.CodeRoomFull, reason))
	m := conntest.Recv(t, in, 5*time.Second)
	var ce *netcode.CloseError
	require.ErrorAs(t, m.Err, &ce)
	assert.Equal(t, netcode.CodeRoomFull, ce.Code)
	assert.LessOrEqual(t, len(ce.Reason), MaxCloseReason)
	assert.Equal(t, netcode.TruncateUTF8(reason, MaxCloseReason), ce.Reason)
}

func TestTransportListen(t *testing.T) {
	env := netcode.Env{HeartbeatInterval: time.Second, IdleTimeout: 10 * time.Second, MaxMessageSize: 16 << 10}
	_, err := (&Transport{}).Listen(env)
	require.ErrorIs(t, err, netcode.ErrNoHTTP)

	env.HTTP = http.NewServeMux()
	_, err = (&Transport{Config: Config{IdleTimeout: time.Minute}}).Listen(env)
	require.Error(t, err, "a timeout different from the engine's")

	l, err := (&Transport{}).Listen(env)
	require.NoError(t, err)
	defer l.Close()
	wl := l.(*Listener)
	assert.Equal(t, 16<<10, wl.cfg.MaxMessageSize, "the engine's frame limit")
	assert.Equal(t, DefaultPath, l.Addr().String())
	assert.Equal(t, "ws", l.Addr().Network())
	assert.Equal(t, "ws", (&Transport{}).Name())
}

func TestConfig(t *testing.T) {
	require.NoError(t, Config{}.Validate())
	for name, cfg := range map[string]Config{
		"negative size":     {MaxMessageSize: -1},
		"huge size":         {MaxMessageSize: MaxMessageSizeLimit + 1},
		"idle <= heartbeat": {HeartbeatInterval: time.Second, IdleTimeout: time.Second},
		"negative write":    {WriteTimeout: -1},
		"negative backlog":  {AcceptBacklog: -1},
		"bad pattern":       {AllowedOrigins: []string{"["}},
	} {
		assert.ErrorIs(t, cfg.Validate(), ErrBadConfig, name)
	}
}
