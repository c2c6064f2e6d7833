package httpapi

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"sync/atomic"
	"time"
)

// ServerLogCounters counts what net/http's server reports about
// connections it dropped before any request (see ServerErrorLog).
type ServerLogCounters struct {
	tlsHandshake atomic.Uint64
}

// TLSHandshakeFailures counts connections whose TLS handshake failed: a
// client that does not trust the certificate, a scanner, garbage, a
// timeout. (A plain HTTP request on the HTTPS port is not one: the server
// answers it 400.)
func (c *ServerLogCounters) TLSHandshakeFailures() uint64 { return c.tlsHandshake.Load() }

// ServerErrorLog is the *log.Logger for http.Server.ErrorLog. The server
// logs a line for every failed TLS handshake, which any stranger can
// cause at will: those are counted in c (nil: not counted) and go to h at
// debug level, so that a scan cannot flood the log; every other line goes
// to h at warn.
func ServerErrorLog(h slog.Handler, c *ServerLogCounters) *log.Logger {
	return log.New(serverLogWriter{h: h, c: c}, "", 0)
}

// tlsHandshakeLine begins what net/http logs for a failed handshake.
var tlsHandshakeLine = []byte("http: TLS handshake error")

type serverLogWriter struct {
	h slog.Handler
	c *ServerLogCounters
}

func (w serverLogWriter) Write(p []byte) (int, error) {
	msg := string(bytes.TrimRight(p, "\n"))
	level := slog.LevelWarn
	if bytes.HasPrefix(p, tlsHandshakeLine) {
		if w.c != nil {
			w.c.tlsHandshake.Add(1)
		}
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if w.h.Enabled(ctx, level) {
		r := slog.NewRecord(time.Now(), level, msg, 0)
		if err := w.h.Handle(ctx, r); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
