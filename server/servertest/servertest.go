// Package servertest starts a complete tickwire server for tests: every
// listener on 127.0.0.1 port 0, a temporary data directory, logs through
// t.Logf, and a shutdown (checked) when the test ends.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/web"
)

// Loopback is the address every test listener binds.
const Loopback = "127.0.0.1:0"

// Transports returns KCP and TCP on loopback, the transports Start uses
// when cfg lists none.
func Transports() []netcode.Transport {
	return []netcode.Transport{&kcp.Transport{Addr: Loopback}, &tcp.Transport{Addr: Loopback}}
}

// Start starts a server with cfg: no Transports means Transports(), an
// empty HTTPAddr loopback, an empty DataDir a t.TempDir(), a nil Logger
// one that writes to t.Logf at warning level. Everything else, Routes
// included, is given to server.Start as is; a test of the browser SDK or
// the demo page mounts them as cmd/tickwire does (see Demo):
//
//	srv := servertest.Start(t, server.Config{Routes: servertest.Demo(t), Transports: ...})
//	page := srv.HTTPURL() + "/"
//
// The server is shut down in t.Cleanup.
func Start(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	if cfg.Transports == nil {
		cfg.Transports = Transports()
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = Loopback
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := server.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
	})
	return srv
}

// Demo returns the routes of the demo page and the browser SDK
// (web.Routes), for Config.Routes.
func Demo(t testing.TB) map[string]http.Handler {
	t.Helper()
	routes, err := web.Routes()
	require.NoError(t, err)
	return routes
}

// Request sends one HTTP request (body may be empty) with the given
// headers, bounded by 10 s, and returns the answer with its whole body
// read.
func Request(t testing.TB, method, url string, hdr map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// tlogWriter sends log lines to t.Logf.
type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
