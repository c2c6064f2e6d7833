package tcp

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/tickwire/tickwire/netcode"
)

var _ netcode.Listener = (*Listener)(nil)

// Listener accepts framed TCP connections.
type Listener struct {
	ln  net.Listener
	cfg Config

	closeOnce sync.Once
	closeErr  error
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
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err // a nil interface, not a nil *Conn
	}
	return c, nil
}

// AcceptTCP is Accept returning the concrete type.
func (l *Listener) AcceptTCP() (*Conn, error) {
	nc, err := l.ln.Accept()
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return nil, netcode.ErrClosed
		}
		return nil, fmt.Errorf("tcp: accept: %w", err)
	}
	return newConn(nc, l.cfg), nil
}

// Close stops accepting; accepted Conns stay open. Idempotent.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.ln.Close() })
	return l.closeErr
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }
