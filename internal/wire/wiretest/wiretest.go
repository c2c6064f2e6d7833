// Package wiretest starts a complete tickwire server for tests: every
// listener on 127.0.0.1 port 0, a temporary data directory, logs through
// t.Logf, and a shutdown (checked) when the test ends.
package wiretest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/internal/wire"
)

// Start starts a server with cfg; empty addresses become 127.0.0.1:0, an
// empty DataDir a t.TempDir(), a nil Logger one that writes to t.Logf at
// warning level. The server is shut down in t.Cleanup.
func Start(t testing.TB, cfg wire.Config) *wire.Server {
	t.Helper()
	for _, a := range []*string{&cfg.KCPAddr, &cfg.TCPAddr, &cfg.HTTPAddr} {
		if *a == "" {
			*a = "127.0.0.1:0"
		}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := wire.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
	})
	return srv
}

// tlogWriter sends log lines to t.Logf.
type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
