package kcp

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/tickwire/tickwire/netcode"
)

// Listener accepts KCP sessions on one UDP socket.
type Listener struct{ ep *endpoint }

var (
	_ netcode.Listener              = (*Listener)(nil)
	_ netcode.ListenerStatsReporter = (*Listener)(nil)
)

// ListenerStats are a listener's counters.
type ListenerStats struct {
	Sessions int    // sessions open now (accepted or waiting in the backlog)
	Accepted uint64 // handshakes completed
	Rejected uint64 // verified Connects refused (limits, shutdown)
	// Drops counts datagrams dropped before reaching a session:
	// malformed, unauthenticated (bad cookie, unknown token or address),
	// closed (Hello to a closed listener).
	Drops [netcode.NumDropReasons]uint64
}

// Listen opens a UDP socket on addr ("127.0.0.1:0", ":7777") and accepts
// sessions on it.
func Listen(addr string, cfg Config) (*Listener, error) {
	c, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("kcp: listen %q: %w", addr, err)
	}
	pc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("kcp: listen %q: %w", addr, err)
	}
	setBuffers(pc, c)
	return newListener(c, pc)
}

func newListener(c *config, pc net.PacketConn) (*Listener, error) {
	e, err := newEndpoint(c, pc, roleServer)
	if err != nil {
		_ = pc.Close() // the config error is the one reported
		return nil, err
	}
	return &Listener{ep: e}, nil
}

// ListenPacket accepts sessions on pc (a UDP socket, or an in-memory link
// such as netcode/memlink). The Listener owns pc from then on.
func ListenPacket(pc net.PacketConn, cfg Config) (*Listener, error) {
	c, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	return newListener(c, pc)
}

func setBuffers(pc *net.UDPConn, c *config) {
	if err := pc.SetReadBuffer(c.ReadBuffer); err != nil {
		c.Logger.Debug("kcp: SetReadBuffer", "err", err)
	}
	if err := pc.SetWriteBuffer(c.WriteBuffer); err != nil {
		c.Logger.Debug("kcp: SetWriteBuffer", "err", err)
	}
}

// Accept implements netcode.Listener.
func (l *Listener) Accept() (netcode.Conn, error) {
	c, err := l.AcceptKCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptKCP is Accept returning the concrete type.
func (l *Listener) AcceptKCP() (*Conn, error) {
	select {
	case c := <-l.ep.backlog:
		return c, nil
	case <-l.ep.acceptDone:
		return nil, netcode.ErrClosed
	}
}

// Close stops accepting: Accept returns ErrClosed, new handshakes are
// refused and sessions still waiting in the backlog are closed with
// CodeServerShutdown. Accepted sessions stay open; the socket closes with
// the last of them. Close waits for the socket's goroutines only when no
// session remains; Shutdown closes everything and always waits.
func (l *Listener) Close() error {
	e := l.ep
	e.mu.Lock()
	if !e.accepting {
		e.mu.Unlock()
		return nil
	}
	e.accepting = false
	e.closing = true
	close(e.acceptDone)
	e.mu.Unlock()
	e.lmu.Lock()
	for {
		select {
		case c := <-e.backlog:
			c.finishLocked(netcode.ErrClosed, &control{Type: ctlClose, Code: netcode.CodeServerShutdown, Reason: "listener closed"})
			continue
		default:
		}
		break
	}
	e.lmu.Unlock()
	if e.sessionCount() == 0 {
		e.shutdown()
		e.wait()
	}
	return nil
}

// Shutdown closes the listener and every session (telling each peer
// CodeServerShutdown), then waits for the socket's goroutines or ctx.
func (l *Listener) Shutdown(ctx context.Context) error {
	_ = l.Close() // Listener.Close always returns nil
	e := l.ep
	e.mu.Lock()
	conns := make([]*Conn, 0, len(e.byToken))
	for _, c := range e.byToken {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	e.lmu.Lock()
	for _, c := range conns {
		c.finishLocked(netcode.ErrClosed, &control{Type: ctlClose, Code: netcode.CodeServerShutdown, Reason: "server shutdown"})
	}
	e.lmu.Unlock()
	e.shutdown()
	waited := make(chan struct{})
	go func() { // owned here: ends when the loops end, which shutdown guarantees
		e.wait()
		close(waited)
	}()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Addr implements netcode.Listener.
func (l *Listener) Addr() net.Addr { return l.ep.pc.LocalAddr() }

// SessionCount is the number of sessions open on the listener's socket.
func (l *Listener) SessionCount() int { return l.ep.sessionCount() }

// Stats returns the listener's counters.
func (l *Listener) Stats() ListenerStats {
	st := ListenerStats{
		Sessions: l.ep.sessionCount(),
		Accepted: l.ep.accepted.Load(),
		Rejected: l.ep.rejected.Load(),
	}
	for i := range st.Drops {
		st.Drops[i] = l.ep.drops[i].Load()
	}
	return st
}

// ListenerStats implements netcode.ListenerStatsReporter: Stats in the
// transport-neutral shape the engine reports.
func (l *Listener) ListenerStats() netcode.ListenerStats {
	e := l.ep
	st := netcode.ListenerStats{
		Transport:         "kcp",
		Addr:              l.Addr().String(),
		Sessions:          e.sessionCount(),
		HandshakesStarted: e.cookies.Load(),
		Accepted:          e.accepted.Load(),
		Refused:           map[string]uint64{},
		Drops:             map[string]uint64{},
	}
	for i := range e.refused {
		st.Refused[refusalNames[i]] = e.refused[i].Load()
	}
	for i := range e.drops {
		st.Drops[netcode.DropReason(i).String()] = e.drops[i].Load()
	}
	return st
}

// Dial opens a UDP socket and handshakes with the listener at addr.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	c, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("kcp: dial %q: %w", addr, err)
	}
	la := &net.UDPAddr{}
	if ra.IP.IsLoopback() {
		la.IP = ra.IP
	}
	pc, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("kcp: dial %q: %w", addr, err)
	}
	setBuffers(pc, c)
	return dial(ctx, pc, ra, c)
}

// DialPacket handshakes over pc with the listener at raddr. The Conn owns
// pc from then on (Close closes it), also when DialPacket fails.
func DialPacket(ctx context.Context, pc net.PacketConn, raddr net.Addr, cfg Config) (*Conn, error) {
	c, err := cfg.populate()
	if err != nil {
		_ = pc.Close() // the Conn owns pc even on failure; the config error is the one reported
		return nil, err
	}
	return dial(ctx, pc, raddr, c)
}

func dial(ctx context.Context, pc net.PacketConn, raddr net.Addr, cfg *config) (*Conn, error) {
	e, err := newEndpoint(cfg, pc, roleClient)
	if err != nil {
		_ = pc.Close() // the Conn owns pc even on failure; the config error is the one reported
		return nil, err
	}
	e.private = true
	c, err := dialOn(ctx, e, raddr)
	if err != nil {
		e.shutdown()
		e.wait()
		return nil, err
	}
	return c, nil
}

// dialOn runs one handshake on e, bounded by the HandshakeTimeout.
func dialOn(ctx context.Context, e *endpoint, raddr net.Addr) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.HandshakeTimeout)
	defer cancel()
	c, err := e.dial(ctx, raddr)
	if err != nil {
		if errors.Is(err, netcode.ErrHandshake) {
			return nil, err
		}
		return nil, fmt.Errorf("kcp: dial: %w", err)
	}
	return c, nil
}
