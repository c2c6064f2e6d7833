package kcp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	kcpgo "github.com/xtaci/kcp-go/v5"
	"golang.org/x/net/ipv4"

	"github.com/tickwire/tickwire/netcode"
)

// endpoint owns one packet socket: a read loop that demultiplexes every
// datagram by its type byte, a tick loop that drives heartbeats, receive
// reports, redundancy and idle timeouts, and the session maps. A Listener
// has one (roleServer); every dialed Conn has its own (roleClient).
type endpoint struct {
	cfg   *config
	pc    net.PacketConn
	log   *slog.Logger
	role  role
	jar   cookieJar
	start time.Time // monotonic base for nanosecond timestamps

	done     chan struct{} // closed on shutdown
	downOnce sync.Once
	wg       sync.WaitGroup // the read and tick loops

	acceptDone chan struct{} // closed by Listener.Close
	backlog    chan *Conn

	mu        sync.Mutex // guards the fields below
	byToken   map[uint64]*Conn
	byAddr    map[string]*Conn // server: handshaken address -> session
	perIP     map[string]int
	accepting bool // server: Listener not closed
	closing   bool // server: shut the socket down when the last session goes
	hs        *clientHandshake
	readErr   error
	scratch   []*Conn // tick loop snapshot

	drops    [netcode.NumDropReasons]atomic.Uint64
	cookies  atomic.Uint64 // server: Hellos answered with a cookie
	accepted atomic.Uint64
	rejected atomic.Uint64
	refused  [numRefusals]atomic.Uint64 // server: rejected, by reason
}

// Reasons a verified Connect is refused, counted in ListenerStats.Refused.
const (
	refusedClosed      = iota // the listener is closed
	refusedMaxSessions        // Config.MaxSessions reached
	refusedPerIP              // Config.MaxSessionsPerIP reached
	refusedBacklog            // AcceptBacklog full: the owner is not accepting fast enough
	refusedInternal           // session setup failed
	numRefusals
)

var refusalNames = [numRefusals]string{"closed", "max_sessions", "per_ip", "backlog", "internal"}

// clientHandshake is Dial's state, shared with the read loop.
type clientHandshake struct {
	nonce  [8]byte
	remote net.Addr
	cookie chan handshake // capacity 1
	accept chan *Conn     // capacity 1
	reject chan netcode.Code
	conn   *Conn // set by the read loop once accepted
}

// role is the side an endpoint plays.
type role uint8

const (
	roleClient role = iota // a dialed Conn's own socket
	roleServer             // a Listener's socket: accepts sessions
)

func newEndpoint(cfg *config, pc net.PacketConn, r role) *endpoint {
	e := &endpoint{
		cfg:        cfg,
		pc:         pc,
		log:        cfg.Logger,
		role:       r,
		jar:        cookieJar{secret: cfg.CookieSecret},
		start:      time.Now(),
		done:       make(chan struct{}),
		acceptDone: make(chan struct{}),
		byToken:    make(map[uint64]*Conn),
		byAddr:     make(map[string]*Conn),
		perIP:      make(map[string]int),
		accepting:  r == roleServer,
	}
	if r == roleServer {
		e.backlog = make(chan *Conn, cfg.AcceptBacklog)
	}
	e.wg.Add(2)
	go e.readLoop()
	go e.tickLoop()
	return e
}

// nanos returns now as nanoseconds since the endpoint started.
func (e *endpoint) nanos(now time.Time) int64 { return int64(now.Sub(e.start)) }

// shutdown closes the socket and stops both loops; wait waits for them.
func (e *endpoint) shutdown() {
	e.downOnce.Do(func() {
		close(e.done)
		_ = e.pc.Close() // shutting down: the read loop ends on the close either way
	})
}

func (e *endpoint) wait() { e.wg.Wait() }

func (e *endpoint) drop(r netcode.DropReason) { e.drops[r].Add(1) }

func (e *endpoint) readLoop() {
	defer e.wg.Done()
	if bc := newBatchConn(e.pc); bc != nil {
		e.readBatches(bc)
		return
	}
	buf := make([]byte, maxDatagram)
	for {
		n, addr, err := e.pc.ReadFrom(buf)
		if err != nil {
			if e.readFailed(err) {
				return
			}
			continue
		}
		e.handle(buf[:n], addr, time.Now())
	}
}

// readBatches is the read loop of a real UDP socket: one recvmmsg takes
// every datagram already queued (up to a batch), so a busy listener makes
// one system call and one netpoller wait per batch instead of per
// datagram.
func (e *endpoint) readBatches(bc batchConn) {
	size := clientReadBatch
	if e.role == roleServer {
		size = serverReadBatch
	}
	msgs := make([]ipv4.Message, size)
	bufs := make([]byte, size*maxDatagram)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{bufs[i*maxDatagram : (i+1)*maxDatagram : (i+1)*maxDatagram]}
	}
	for {
		n, err := bc.ReadBatch(msgs, 0)
		if err != nil {
			if e.readFailed(err) {
				return
			}
			continue
		}
		now := time.Now()
		for i := range msgs[:n] {
			m := &msgs[i]
			e.handle(m.Buffers[0][:m.N], m.Addr, now)
			m.Addr = nil
		}
	}
}

// readFailed decides after a socket read error: a timeout is retried
// (false); a closed endpoint or any other error ends the loop (true).
func (e *endpoint) readFailed(err error) bool {
	select {
	case <-e.done:
		return true
	default:
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	e.fail(err)
	return true
}

// fail ends every session after a socket read error.
func (e *endpoint) fail(err error) {
	e.log.Warn("kcp: socket read failed", "err", err)
	e.mu.Lock()
	e.readErr = err
	conns := make([]*Conn, 0, len(e.byToken))
	for _, c := range e.byToken {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	for _, c := range conns {
		c.finish(fmt.Errorf("kcp: socket: %w: %w", err, netcode.ErrClosed), nil)
	}
}

func (e *endpoint) tickEvery() time.Duration {
	d := min(e.cfg.HeartbeatInterval/2, e.cfg.IdleTimeout/8, e.cfg.Redundancy.ReportInterval)
	return min(max(d, 5*time.Millisecond), 100*time.Millisecond)
}

func (e *endpoint) tickLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.tickEvery())
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case now := <-t.C:
			e.mu.Lock()
			e.scratch = e.scratch[:0]
			for _, c := range e.byToken {
				e.scratch = append(e.scratch, c)
			}
			conns := e.scratch
			e.mu.Unlock()
			for i, c := range conns {
				c.tick(now)
				conns[i] = nil
			}
		}
	}
}

// handle dispatches one datagram. It runs on the read loop and must never
// block on a session.
func (e *endpoint) handle(b []byte, addr net.Addr, now time.Time) {
	if len(b) == 0 {
		e.drop(netcode.DropMalformed)
		return
	}
	switch t := b[0]; {
	case isSession(t):
		h, payload, err := decodeSessionHeader(b)
		if err != nil {
			e.drop(netcode.DropMalformed)
			return
		}
		e.mu.Lock()
		c := e.byToken[h.Token]
		e.mu.Unlock()
		if c == nil || !sameAddr(c.remote, addr) {
			e.drop(netcode.DropUnauthenticated)
			return
		}
		c.onDatagram(now, h, payload, len(b))
	case isHandshake(t):
		h, err := decodeHandshake(b)
		if err != nil {
			e.drop(netcode.DropMalformed)
			return
		}
		if e.role == roleServer {
			e.serverHandshake(h, addr, now)
		} else {
			e.clientHandshake(h, addr)
		}
	default:
		e.drop(netcode.DropMalformed)
	}
}

func (e *endpoint) reply(h handshake, addr net.Addr) {
	var buf [helloSize]byte
	if _, err := e.pc.WriteTo(appendHandshake(buf[:0], h), addr); err != nil {
		e.log.Debug("kcp: handshake reply failed", "addr", addr, "err", err)
	}
}

func (e *endpoint) serverHandshake(h handshake, addr net.Addr, now time.Time) {
	switch h.Type {
	case typeHello:
		e.mu.Lock()
		ok := e.accepting
		e.mu.Unlock()
		if !ok { // fail the client fast: a 12-byte Reject to a >=128-byte Hello
			e.drop(netcode.DropClosed)
			e.reply(handshake{Type: typeReject, Nonce: h.Nonce, Code: netcode.CodeServerShutdown}, addr)
			return
		}
		e.cookies.Add(1)
		bucket, mac := e.jar.mint(now, addr, h.Nonce)
		e.reply(handshake{Type: typeCookie, Nonce: h.Nonce, Bucket: bucket, MAC: mac}, addr)
	case typeConnect:
		if !e.jar.verify(now, addr, h.Nonce, h.Bucket, h.MAC) {
			e.drop(netcode.DropUnauthenticated)
			return
		}
		e.connect(h, addr, now)
	default:
		e.drop(netcode.DropMalformed)
	}
}

// connect handles a Connect whose cookie verified: it answers a repeated
// Connect with the same Accept, and otherwise creates the session.
func (e *endpoint) connect(h handshake, addr net.Addr, now time.Time) {
	key := addr.Network() + "|" + addr.String()
	e.mu.Lock()
	if old := e.byAddr[key]; old != nil {
		if old.nonce == h.Nonce { // our Accept was lost: say it again
			e.mu.Unlock()
			e.reply(old.acceptMsg, addr)
			return
		}
		// The same address started a new handshake: its old session is
		// gone (the client restarted on the same port).
		e.mu.Unlock()
		old.finish(netcode.Errorf(netcode.CodeReplaced, "new handshake from %s", addr), &control{Type: ctlClose, Code: netcode.CodeReplaced, Reason: "replaced by a new handshake"})
		e.mu.Lock()
	}
	code, why := netcode.CodeOK, 0
	ipk := ipKey(addr)
	switch {
	case !e.accepting:
		code, why = netcode.CodeServerShutdown, refusedClosed
	case len(e.byToken) >= e.cfg.MaxSessions:
		code, why = netcode.CodeRateLimited, refusedMaxSessions
	case e.cfg.MaxSessionsPerIP > 0 && e.perIP[ipk] >= e.cfg.MaxSessionsPerIP:
		code, why = netcode.CodeRateLimited, refusedPerIP
	case len(e.backlog) >= cap(e.backlog):
		code, why = netcode.CodeRateLimited, refusedBacklog
	}
	if code != netcode.CodeOK {
		e.mu.Unlock()
		e.rejected.Add(1)
		e.refused[why].Add(1)
		e.reply(handshake{Type: typeReject, Nonce: h.Nonce, Code: code}, addr)
		return
	}
	var ids [12]byte
	_, _ = rand.Read(ids[:]) // crypto/rand.Read never fails on supported platforms
	conv := binary.BigEndian.Uint32(ids[:4])
	token := binary.BigEndian.Uint64(ids[4:])
	for e.byToken[token] != nil || token == 0 {
		_, _ = rand.Read(ids[4:]) // crypto/rand.Read never fails on supported platforms
		token = binary.BigEndian.Uint64(ids[4:])
	}
	t := e.cfg.tune
	c, err := newConn(e, addr, conv, token, t.dataShards, t.parityShards, now)
	if err != nil {
		e.mu.Unlock()
		e.refused[refusedInternal].Add(1)
		e.log.Error("kcp: session setup failed", "err", err)
		e.reply(handshake{Type: typeReject, Nonce: h.Nonce, Code: netcode.CodeInternal}, addr)
		return
	}
	c.nonce = h.Nonce
	c.addrKey, c.ipKey = key, ipk
	c.acceptMsg = handshake{Type: typeAccept, Nonce: h.Nonce, Conv: conv, Token: token,
		DataShards: uint8(t.dataShards), ParityShards: uint8(t.parityShards)}
	e.byToken[token] = c
	e.byAddr[key] = c
	e.perIP[ipk]++
	e.backlog <- c // room checked above; only this goroutine sends
	e.mu.Unlock()
	e.accepted.Add(1)
	e.reply(c.acceptMsg, addr)
}

func (e *endpoint) clientHandshake(h handshake, addr net.Addr) {
	e.mu.Lock()
	hs := e.hs
	e.mu.Unlock()
	if hs == nil || h.Nonce != hs.nonce || !sameAddr(hs.remote, addr) {
		e.drop(netcode.DropUnauthenticated)
		return
	}
	switch h.Type {
	case typeCookie:
		select {
		case hs.cookie <- h:
		default:
		}
	case typeAccept:
		if hs.conn != nil {
			return // a duplicate Accept
		}
		if !validShards(int(h.DataShards), int(h.ParityShards)) {
			e.drop(netcode.DropMalformed)
			return
		}
		c, err := newConn(e, hs.remote, h.Conv, h.Token, int(h.DataShards), int(h.ParityShards), time.Now())
		if err != nil {
			e.log.Error("kcp: session setup failed", "err", err)
			return
		}
		e.mu.Lock()
		hs.conn = c
		e.byToken[h.Token] = c
		e.mu.Unlock()
		hs.accept <- c
	case typeReject:
		select {
		case hs.reject <- h.Code:
		default:
		}
	default:
		e.drop(netcode.DropMalformed)
	}
}

// validShards reports whether an Accept's FEC shards are usable: none,
// or both positive with a small total (kcp-go allows up to 256).
func validShards(ds, ps int) bool {
	return (ds == 0 && ps == 0) || (ds > 0 && ps > 0 && ds+ps <= 64)
}

// remove forgets c. When a closed listener loses its last session, the
// socket goes too.
func (e *endpoint) remove(c *Conn) {
	e.mu.Lock()
	if e.byToken[c.token] == c {
		delete(e.byToken, c.token)
	}
	if c.addrKey != "" && e.byAddr[c.addrKey] == c {
		delete(e.byAddr, c.addrKey)
		if e.perIP[c.ipKey]--; e.perIP[c.ipKey] <= 0 {
			delete(e.perIP, c.ipKey)
		}
	}
	last := e.role == roleServer && e.closing && len(e.byToken) == 0
	e.mu.Unlock()
	if last {
		e.shutdown()
	}
}

func (e *endpoint) sessionCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.byToken)
}

// dial runs the client side of the handshake.
func (e *endpoint) dial(ctx context.Context, remote net.Addr) (*Conn, error) {
	hs := &clientHandshake{
		remote: remote,
		cookie: make(chan handshake, 1),
		accept: make(chan *Conn, 1),
		reject: make(chan netcode.Code, 1),
	}
	_, _ = rand.Read(hs.nonce[:]) // crypto/rand.Read never fails on supported platforms
	e.mu.Lock()
	e.hs = hs
	e.mu.Unlock()

	send := func(h handshake) error {
		var buf [helloSize]byte
		_, err := e.pc.WriteTo(appendHandshake(buf[:0], h), remote)
		return err
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	rto := 100 * time.Millisecond
	next := handshake{Type: typeHello, Nonce: hs.nonce}
	for {
		select {
		case <-timer.C:
			if err := send(next); err != nil {
				return nil, fmt.Errorf("kcp: handshake send: %w: %w", err, netcode.ErrHandshake)
			}
			timer.Reset(rto)
			rto = min(2*rto, time.Second)
		case ck := <-hs.cookie:
			next = handshake{Type: typeConnect, Nonce: hs.nonce, Bucket: ck.Bucket, MAC: ck.MAC}
			rto = 100 * time.Millisecond
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(0)
		case c := <-hs.accept:
			return c, nil
		case code := <-hs.reject:
			return nil, &netcode.CodedError{Code: code, Msg: "kcp: server rejected the handshake", Err: netcode.ErrHandshake}
		case <-ctx.Done():
			return nil, fmt.Errorf("kcp: handshake with %s: %w: %w", remote, ctx.Err(), netcode.ErrHandshake)
		case <-e.done:
			return nil, fmt.Errorf("kcp: handshake: socket closed: %w", netcode.ErrHandshake)
		}
	}
}

// sameAddr compares two remote addresses without allocating for UDP.
func sameAddr(a, b net.Addr) bool {
	if ua, ok := a.(*net.UDPAddr); ok {
		ub, ok := b.(*net.UDPAddr)
		return ok && ua.Port == ub.Port && ua.IP.Equal(ub.IP) && ua.Zone == ub.Zone
	}
	return a.Network() == b.Network() && a.String() == b.String()
}

// ipKey names the source host of addr for per-IP limits.
func ipKey(addr net.Addr) string {
	if u, ok := addr.(*net.UDPAddr); ok {
		return string(u.IP.To16())
	}
	if h, _, err := net.SplitHostPort(addr.String()); err == nil {
		return h
	}
	return addr.String()
}

// kcpSession creates the kcp-go session of a handshaken Conn over its
// private PacketPusher and applies the profile.
func kcpSession(c *Conn, conv uint32, ds, ps int) (*kcpgo.UDPSession, error) {
	s, err := kcpgo.NewConn4(conv, c.remote, nil, ds, ps, false, c.pc)
	if err != nil {
		return nil, err
	}
	t := c.cfg.tune
	s.SetNoDelay(t.noDelay, t.interval, t.resend, t.nc)
	s.SetWindowSize(t.sndWnd, t.rcvWnd)
	s.SetWriteDelay(false)
	if !s.SetMtu(t.mtu - sessionHeaderSize) {
		_ = s.Close() // the MTU error is the one reported
		return nil, fmt.Errorf("kcp: mtu %d too small: %w", t.mtu, ErrConfig)
	}
	return s, nil
}
