package httpapi

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Failed TLS handshakes (anyone can cause them) are counted and kept out
// of the warnings; the server's other complaints stay warnings.
func TestServerErrorLog(t *testing.T) {
	var buf bytes.Buffer
	var c ServerLogCounters
	l := ServerErrorLog(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}), &c)
	l.Printf("http: TLS handshake error from 192.0.2.1:5555: remote error: tls: bad certificate")
	l.Printf("http: TLS handshake error from 192.0.2.1:5556: EOF")
	assert.EqualValues(t, 2, c.TLSHandshakeFailures())
	assert.Empty(t, buf.String(), "at debug, below the handler's level")
	l.Printf("http: Accept error: too many open files; retrying in 5ms")
	assert.Contains(t, buf.String(), "level=WARN")
	assert.Contains(t, buf.String(), "Accept error")
	assert.EqualValues(t, 2, c.TLSHandshakeFailures())
	ServerErrorLog(slog.DiscardHandler, nil).Printf("http: TLS handshake error from x: y") // nil counters: not counted, no panic
}
