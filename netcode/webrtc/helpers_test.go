package webrtc

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

const waitFor = 10 * time.Second

// testLogger logs through t.Logf at debug level when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// server is a listener on 127.0.0.1 with its own HTTP server.
type server struct {
	l   *Listener
	url string
}

// listenT starts a listener and an HTTP server for it; cleanup shuts
// both down and checks that nothing is left.
func listenT(t testing.TB, cfg Config, env netcode.Env, tr *Transport) *server {
	t.Helper()
	mux := http.NewServeMux()
	env.HTTP = mux
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	if tr == nil {
		tr = &Transport{}
	}
	if tr.Addr == "" {
		tr.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	tr.Config = cfg
	l, err := tr.listen(env)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, l.Shutdown(ctx))
		require.Zero(t, l.SessionCount())
	})
	return &server{l: l, url: ts.URL}
}

func dialT(t testing.TB, url string, cfg Config) (*Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c, err := Dial(ctx, Dialer{URL: url, Token: "tok", Config: cfg})
	if err == nil {
		t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
	}
	return c, err
}

func acceptT(t testing.TB, l *Listener) *Conn {
	t.Helper()
	out := make(chan *Conn, 1)
	go func() {
		c, err := l.AcceptWebRTC()
		if err != nil {
			close(out)
			return
		}
		out <- c
	}()
	select {
	case c, ok := <-out:
		require.True(t, ok, "accept failed")
		t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
		return c
	case <-time.After(waitFor):
		require.FailNow(t, "accept timed out")
	}
	return nil
}

// pair returns a dialed client and the server's accepted Conn.
func pair(t testing.TB, cfg Config) (client, srv *Conn, s *server) {
	t.Helper()
	s = listenT(t, cfg, netcode.Env{}, nil)
	c, err := dialT(t, s.url, cfg)
	require.NoError(t, err)
	return c, acceptT(t, s.l), s
}
