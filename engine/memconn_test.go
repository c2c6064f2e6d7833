package engine

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/tickwire/tickwire/netcode"
)

// memConn is one end of an in-memory netcode.Conn pair: messages are
// copied, a full inbox blocks the writer (back-pressure like a socket),
// and Close delivers its code to the peer as a *netcode.CloseError.
type memConn struct {
	in     chan memMsg
	peer   *memConn
	done   chan struct{}
	once   sync.Once
	code   atomic.Uint32
	reason atomic.Value // string
	last   []byte
}

type memMsg struct {
	ch netcode.Channel
	b  []byte
}

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

func memPair(inbox int) (client, server *memConn) {
	client = &memConn{in: make(chan memMsg, inbox), done: make(chan struct{})}
	server = &memConn{in: make(chan memMsg, inbox), done: make(chan struct{})}
	client.peer, server.peer = server, client
	return client, server
}

func (c *memConn) ReadMessage() (netcode.Channel, []byte, error) {
	select {
	case m := <-c.in:
		c.last = m.b
		return m.ch, m.b, nil
	case <-c.done:
		return 0, nil, netcode.ErrClosed
	case <-c.peer.done:
		select {
		case m := <-c.in:
			c.last = m.b
			return m.ch, m.b, nil
		default:
		}
		r, _ := c.peer.reason.Load().(string)
		return 0, nil, &netcode.CloseError{Code: netcode.Code(c.peer.code.Load()), Reason: r}
	}
}

func (c *memConn) WriteMessage(ch netcode.Channel, p []byte) error {
	if !ch.Valid() {
		return netcode.ErrBadChannel
	}
	m := memMsg{ch: ch, b: append([]byte(nil), p...)}
	select {
	case <-c.done:
		return netcode.ErrClosed
	case <-c.peer.done:
		return netcode.ErrClosed
	default:
	}
	select {
	case c.peer.in <- m:
		return nil
	case <-c.done:
		return netcode.ErrClosed
	case <-c.peer.done:
		return netcode.ErrClosed
	}
}

func (c *memConn) Close(code netcode.Code, reason string) error {
	c.once.Do(func() {
		c.code.Store(uint32(code))
		c.reason.Store(reason)
		close(c.done)
	})
	return nil
}

func (c *memConn) Stats() netcode.Stats { return netcode.Stats{Transport: "mem"} }
func (c *memConn) Transport() string    { return "mem" }
func (c *memConn) LocalAddr() net.Addr  { return memAddr("local") }
func (c *memConn) RemoteAddr() net.Addr { return memAddr("remote") }

// memListener hands out the server ends of pairs made by dial.
type memListener struct {
	conns chan netcode.Conn
	done  chan struct{}
	once  sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan netcode.Conn), done: make(chan struct{})}
}

func (l *memListener) Accept() (netcode.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, netcode.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr("listener") }

// dial connects a new pair through l and returns the client end.
func (l *memListener) dial(inbox int) (*memConn, bool) {
	c, s := memPair(inbox)
	select {
	case l.conns <- s:
		return c, true
	case <-l.done:
		return nil, false
	}
}
