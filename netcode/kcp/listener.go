package kcp

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"net"

	"github.com/tickwire/tickwire/netcode"
)

// Listener accepts KCP sessions on one UDP port, served by Config.Loops
// event loops, each with its own socket on the port (SO_REUSEPORT: the
// kernel keeps each client address on one socket) and its own share of
// the sessions.
type Listener struct {
	ep  *endpoint   // the first loop: its socket's address is the listener's
	eps []*endpoint // every loop
	reg *registry
}

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
	// Loops is the number of event loops (sockets) serving the port.
	Loops int
}

// Listen opens Config.Loops UDP sockets on addr ("127.0.0.1:0", ":7777";
// one when the platform has no SO_REUSEPORT) and accepts sessions on
// them.
func Listen(addr string, cfg Config) (*Listener, error) {
	c, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("kcp: listen %q: %w", addr, err)
	}
	pcs, err := listenLoops(ua, c.Loops)
	if err != nil {
		return nil, fmt.Errorf("kcp: listen %q: %w", addr, err)
	}
	for _, pc := range pcs {
		setBuffers(pc, c)
	}
	return newListener(c, pcs...)
}

// listenLoops opens n sockets on ua: one plain socket, or n sharing the
// port with SO_REUSEPORT (the first one picks the port when ua has none).
func listenLoops(ua *net.UDPAddr, n int) ([]*net.UDPConn, error) {
	if n <= 1 || !reusePortSupported {
		pc, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, err
		}
		return []*net.UDPConn{pc}, nil
	}
	pcs := make([]*net.UDPConn, 0, n)
	at := ua.String()
	for range n {
		pc, err := listenReusePort(at)
		if err != nil {
			for _, p := range pcs {
				_ = p.Close() // the listen error is the one reported
			}
			return nil, err
		}
		if len(pcs) == 0 {
			at = pc.LocalAddr().String() // the others join the port the first one got
		}
		pcs = append(pcs, pc)
	}
	return pcs, nil
}

func newListener[P net.PacketConn](c *config, pcs ...P) (*Listener, error) {
	if c.Key == nil {
		k, err := GenerateKey()
		if err != nil {
			for _, p := range pcs {
				_ = p.Close() // the key error is the one reported
			}
			return nil, err
		}
		c.Key = k
	}
	reg := newRegistry(c, roleServer)
	l := &Listener{reg: reg}
	reg.onEmpty = l.shutdownLoops // before any loop runs: read under reg.mu
	for i, pc := range pcs {
		e, err := newEndpoint(c, pc, reg)
		if err != nil {
			for _, p := range pcs[i:] {
				_ = p.Close() // the config error is the one reported
			}
			l.shutdownLoops()
			return nil, err
		}
		l.eps = append(l.eps, e)
	}
	l.ep = l.eps[0]
	return l, nil
}

// shutdownLoops closes every loop's socket (their goroutines end).
func (l *Listener) shutdownLoops() {
	for _, e := range l.eps {
		e.shutdown()
	}
}

func (l *Listener) waitLoops() {
	for _, e := range l.eps {
		e.wait()
	}
}

// ListenPacket accepts sessions on pc (a UDP socket, or an in-memory link
// such as netcode/memlink), with one event loop. The Listener owns pc
// from then on.
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
	case c := <-l.reg.backlog:
		return c, nil
	case <-l.reg.acceptDone:
		return nil, netcode.ErrClosed
	}
}

// Close stops accepting: Accept returns ErrClosed, new handshakes are
// refused and sessions still waiting in the backlog are closed with
// CodeServerShutdown. Accepted sessions stay open; the socket closes with
// the last of them. Close waits for the socket's goroutines only when no
// session remains; Shutdown closes everything and always waits.
func (l *Listener) Close() error {
	g := l.reg
	g.mu.Lock()
	if !g.accepting {
		g.mu.Unlock()
		return nil
	}
	g.accepting = false
	g.closing = true
	close(g.acceptDone)
	g.mu.Unlock()
	for {
		select {
		case c := <-g.backlog:
			c.ep.lmu.Lock()
			c.finishLocked(netcode.ErrClosed, &control{Type: ctlClose, Code: netcode.CodeServerShutdown, Reason: "listener closed"})
			c.ep.lmu.Unlock()
			continue
		default:
		}
		break
	}
	if l.SessionCount() == 0 {
		l.shutdownLoops()
		l.waitLoops()
	}
	return nil
}

// Shutdown closes the listener and every session (telling each peer
// CodeServerShutdown), then waits for the sockets' goroutines or ctx.
func (l *Listener) Shutdown(ctx context.Context) error {
	_ = l.Close() // Listener.Close always returns nil
	for _, e := range l.eps {
		e.lmu.Lock()
		e.finishAllLocked(netcode.ErrClosed, &control{Type: ctlClose, Code: netcode.CodeServerShutdown, Reason: "server shutdown"})
		e.lmu.Unlock()
		e.deliver()
	}
	l.shutdownLoops()
	waited := make(chan struct{})
	go func() { // owned here: ends when the loops end, which shutdownLoops guarantees
		l.waitLoops()
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

// PublicKey is the listener's static X25519 public key, which clients
// pin (Config.ServerKey; EncodePublicKey gives its text form).
func (l *Listener) PublicKey() *ecdh.PublicKey { return l.ep.cfg.Key.PublicKey() }

// SessionCount is the number of sessions open on the listener's socket.
func (l *Listener) SessionCount() int { return l.ep.sessionCount() }

// Loops is the number of event loops (sockets) serving the port.
func (l *Listener) Loops() int { return len(l.eps) }

// Stats returns the listener's counters.
func (l *Listener) Stats() ListenerStats {
	st := ListenerStats{
		Sessions: l.ep.sessionCount(),
		Accepted: l.ep.accepted.Load(),
		Rejected: l.ep.rejected.Load(),
		Loops:    len(l.eps),
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
	st.IO = map[string]uint64{}
	for i := range e.io {
		st.IO[ioNames[i]] = e.io[i].Load()
	}
	st.IO["migrations"] = e.migrations.Load()
	for _, ep := range l.eps {
		ep.lmu.Lock()
		ls := ep.lp.Stats()
		ep.lmu.Unlock()
		st.IO["acks_held"] += ls.HeldAcks
		st.IO["acks_merged"] += ls.MergedAcks
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
	e, err := newEndpoint(cfg, pc, newRegistry(cfg, roleClient))
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
