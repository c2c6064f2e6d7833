package tcp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/tickwire/tickwire/netcode"
)

var (
	_ netcode.Listener              = (*Listener)(nil)
	_ netcode.ListenerStatsReporter = (*Listener)(nil)
)

// Listener accepts framed TCP connections.
type Listener struct {
	ln  net.Listener
	cfg Config

	closeOnce sync.Once
	closeErr  error

	open         atomic.Int64 // accepted Conns not yet closed
	accepted     atomic.Uint64
	acceptErrors atomic.Uint64
	tlsFailures  atomic.Uint64 // TLS handshakes that failed (Refused["tls_handshake"])
}

// Listen listens on addr ("host:port"; port 0 picks one).
func Listen(addr string, cfg Config) (*Listener, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	if t := cfg.TLS; t != nil && len(t.Certificates) == 0 && t.GetCertificate == nil && t.GetConfigForClient == nil {
		return nil, fmt.Errorf("%w: TLS has no certificate (Certificates, GetCertificate or GetConfigForClient)", ErrBadConfig)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: listen %s: %w", addr, err)
	}
	return &Listener{ln: ln, cfg: cfg}, nil
}

// Accept waits for the next connection. There is no handshake of this
// transport: the session's Hello frame is the first message. With
// Config.TLS the TLS handshake is not done here (a slow client must not
// hold the accept loop) but by the Conn's first ReadMessage, bounded by
// the idle timeout and by the engine's handshake timeout; a failed one
// ends the Conn with an error matching netcode.ErrHandshake and is
// counted in ListenerStats().Refused["tls_handshake"]. After Close
// Accept returns netcode.ErrClosed.
func (l *Listener) Accept() (netcode.Conn, error) {
	return netcode.AsConn(l.AcceptTCP())
}

// AcceptTCP is Accept returning the concrete type.
func (l *Listener) AcceptTCP() (*Conn, error) {
	nc, err := l.ln.Accept()
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return nil, netcode.ErrClosed
		}
		l.acceptErrors.Add(1)
		return nil, fmt.Errorf("tcp: accept: %w", err)
	}
	l.accepted.Add(1)
	l.open.Add(1)
	if l.cfg.TLS != nil {
		nc = tls.Server(nc, l.cfg.TLS)
	}
	c := newConn(nc, l.cfg)
	c.released = func() { l.open.Add(-1) }
	c.tlsFailed = func() { l.tlsFailures.Add(1) }
	return c, nil
}

// refusedTLSHandshake names the TLS handshake failures in
// ListenerStats().Refused.
const refusedTLSHandshake = "tls_handshake"

// ListenerStats implements netcode.ListenerStatsReporter. TCP has no
// handshake of its own: every accepted connection counts as one started
// and accepted. With TLS, Refused["tls_handshake"] counts connections
// whose TLS handshake failed (a plain client, an untrusted certificate
// on the client's side, garbage, a timeout).
func (l *Listener) ListenerStats() netcode.ListenerStats {
	n := l.accepted.Load()
	st := netcode.ListenerStats{
		Transport:         transportName,
		Addr:              l.Addr().String(),
		Sessions:          int(l.open.Load()),
		HandshakesStarted: n,
		Accepted:          n,
		AcceptErrors:      l.acceptErrors.Load(),
	}
	if l.cfg.TLS != nil {
		st.Refused = map[string]uint64{refusedTLSHandshake: l.tlsFailures.Load()}
	}
	return st
}

// Close stops accepting; accepted Conns stay open. Idempotent.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.ln.Close() })
	return l.closeErr
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }
