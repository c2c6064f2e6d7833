package tcp

import (
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
}

// Listen listens on addr ("host:port"; port 0 picks one).
func Listen(addr string, cfg Config) (*Listener, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: listen %s: %w", addr, err)
	}
	return &Listener{ln: ln, cfg: cfg}, nil
}

// Accept waits for the next connection. There is no handshake at this
// layer: the session's Hello frame is the first message. After Close it
// returns netcode.ErrClosed.
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
	c := newConn(nc, l.cfg)
	c.released = func() { l.open.Add(-1) }
	return c, nil
}

// ListenerStats implements netcode.ListenerStatsReporter. TCP has no
// handshake of its own: every accepted connection counts as one started
// and accepted.
func (l *Listener) ListenerStats() netcode.ListenerStats {
	n := l.accepted.Load()
	return netcode.ListenerStats{
		Transport:         transportName,
		Addr:              l.Addr().String(),
		Sessions:          int(l.open.Load()),
		HandshakesStarted: n,
		Accepted:          n,
		AcceptErrors:      l.acceptErrors.Load(),
	}
}

// Close stops accepting; accepted Conns stay open. Idempotent.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.ln.Close() })
	return l.closeErr
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }
