package kcp

import (
	"context"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp/internal/alarm"
	"github.com/tickwire/tickwire/netcode/kcp/internal/loop"
)

// endpoint owns one packet socket and the event loop of every session on
// it: kcp-go's sans-IO cores driven by one loop.Loop, a read loop that
// takes datagrams in batches (recvmmsg) and a timer loop for what is due
// (retransmissions, delayed acknowledgements, heartbeats, receive reports,
// idle timeouts). A Listener has one (roleServer); a dialed Conn has its
// own, and a ClientSocket one shared by many dialed Conns (roleClient).
//
// One mutex, lmu, guards the loop and every session's transport state.
// Whoever holds it and has made output flushes it before letting go
// (flushLocked): the read loop after each batch, the timer loop when
// something is due, a writer after queueing (Flush). Every session's
// datagrams of that pass leave in one batched write (sendmmsg).
type endpoint struct {
	*registry
	cfg   *config
	pc    net.PacketConn
	log   *slog.Logger
	jar   cookieJar
	start time.Time // monotonic base for nanosecond timestamps

	done     chan struct{} // closed on shutdown
	downOnce sync.Once
	wg       sync.WaitGroup // the read and timer loops
	kick     chan struct{}  // capacity 1: the timer loop must look again
	// alarm wakes the timer loop (through kick) at deadlines closer than
	// preciseBelow: a Go timer may fire up to a millisecond late (see
	// package alarm), which is a deferred copy's whole delay and longer
	// than an ACK racing it may wait. alarmAt is what it is set for.
	// Set under lmu.
	alarm   *alarm.Alarm
	alarmAt time.Time
	// raceUntil: a session with a bounded ACK hold (loop.Session's
	// AckWithin: its peer's copies are racing our ACKs) got data until
	// then, so near wake-ups go on the alarm. Zero on a clean, busy path.
	raceUntil time.Time

	lmu      sync.Mutex // guards the loop, the output batch, conns and every session's transport state
	lp       *loop.Loop
	out      outbox
	tickerAt time.Time  // when the timer loop next wakes
	armed    bool       // queued output waits for a Flush: the timer loop flushes it by tickerAt
	conns    []connSlot // the sessions on this loop (Conn.slot is each one's index)
	copies   copyQueue  // deferred redundant copies (copies.go)
	ready    []*Conn    // pushed sessions with messages or an end to deliver

	dmu   sync.Mutex // held while pushed sessions' Receivers run: one delivery pass at a time, taken outside lmu
	spare []*Conn    // deliver's swap buffer; owned by the holder of dmu

	// foreign holds the sealed datagrams of one read pass that belong to
	// a session of another loop (a client whose new address the kernel
	// hashed to this loop's socket): they are opened under that loop's
	// lock after this one is let go. Owned by the read loop.
	foreign []foreignDatagram
	// spub is the server's static public key, sent in every Cookie.
	spub [pubSize]byte
}

// foreignDatagram is a datagram read on one loop for a session of
// another; b stays valid until the read loop's next read.
type foreignDatagram struct {
	c    *Conn
	h    sessionHeader
	b    []byte
	addr net.Addr
}

// registry is what the event loops of one Listener (or one client
// socket) share: the sessions by token and handshake, the per-IP counts,
// the accept backlog and the counters. A session belongs to exactly one
// loop (Conn.ep); the registry only finds it.
type registry struct {
	role role

	acceptDone chan struct{} // closed by Listener.Close
	backlog    chan *Conn

	mu        sync.Mutex // guards the fields below; taken inside lmu, never around it
	byToken   map[uint64]*Conn
	byAddr    map[addrNonce]*Conn // server: the handshake that created each session
	perIP     map[string]int
	accepting bool // server: Listener not closed
	closing   bool // server: shut the sockets down when the last session goes
	private   bool // client: the socket belongs to one Conn, which closes it
	hs        map[[8]byte]*clientHandshake
	keys      []*ecdh.PrivateKey // handshake keys made ahead (ClientSocket.PrepareKeys), each used once
	readErr   error
	onEmpty   func() // server: called (once closing) when the last session goes

	drops      [netcode.NumDropReasons]atomic.Uint64
	migrations atomic.Uint64 // sealed sessions moved to a new client address
	cookies    atomic.Uint64 // server: Hellos answered with a cookie
	accepted   atomic.Uint64
	rejected   atomic.Uint64
	refused    [numRefusals]atomic.Uint64 // server: rejected, by reason
	io         [numIO]atomic.Uint64
}

// I/O counters of a socket's loops, reported in ListenerStats.IO.
const (
	ioDatagramsIn = iota
	ioDatagramsOut
	ioReadCalls
	ioWriteCalls
	ioHandoffs // sealed datagrams read on one loop's socket for a session of another (a moved client)
	numIO
)

var ioNames = [numIO]string{"datagrams_in", "datagrams_out", "read_calls", "write_calls", "handoffs"}

func newRegistry(cfg *config, r role) *registry {
	g := &registry{
		role:       r,
		acceptDone: make(chan struct{}),
		byToken:    make(map[uint64]*Conn),
		byAddr:     make(map[addrNonce]*Conn),
		perIP:      make(map[string]int),
		hs:         make(map[[8]byte]*clientHandshake),
		accepting:  r == roleServer,
	}
	if r == roleServer {
		g.backlog = make(chan *Conn, cfg.AcceptBacklog)
	}
	return g
}

// maxAckHold is how long the ACKs owed by a session that sends at a
// steady rate (a room ticking at 25 Hz or more) may wait for its next
// send, so that a tick carries the ACK of the member's input.
const maxAckHold = 40 * time.Millisecond

// addrNonce names one handshake: a client address and its nonce. Several
// sessions may come from one address (clients sharing a socket); a
// repeated Connect (our Accept was lost) carries the same nonce.
type addrNonce struct {
	addr  string
	nonce [8]byte
}

// Reasons a verified Connect is refused, counted in ListenerStats.Refused.
const (
	refusedClosed      = iota // the listener is closed
	refusedMaxSessions        // Config.MaxSessions reached
	refusedPerIP              // Config.MaxSessionsPerIP reached
	refusedBacklog            // AcceptBacklog full: the owner is not accepting fast enough
	refusedPlaintext          // a Hello asked for no encryption and Config.AllowPlaintext is off
	numRefusals
)

var refusalNames = [numRefusals]string{"closed", "max_sessions", "per_ip", "backlog", "plaintext"}

// clientHandshake is one Dial's state, shared with the read loop.
type clientHandshake struct {
	nonce     [8]byte
	remote    net.Addr
	plaintext bool
	cookie    chan handshake // capacity 1
	accept    chan *Conn     // capacity 1
	reject    chan netcode.Code
	conn      *Conn // set by the read loop once accepted
	// Set by Dial (under the registry's mu) once a Cookie gave the
	// server's key: the session's keys and the handshake key that must
	// seal the Accept, or a Reject from then on.
	sc *sessionCrypto
	hk cipher.AEAD
}

// role is the side an endpoint plays.
type role uint8

const (
	roleClient role = iota // a dialed Conn's socket, or a ClientSocket
	roleServer             // a Listener's socket: accepts sessions
)

func newEndpoint(cfg *config, pc net.PacketConn, g *registry) (*endpoint, error) {
	t := cfg.tune
	lp, err := loop.New(loop.Config{
		Interval:   time.Duration(t.interval) * time.Millisecond,
		FastResend: t.resend,
		SendWindow: t.sndWnd,
		RecvWindow: t.rcvWnd,
		MTU:        t.mtu - sessionHeaderSize - tagSize, // room for the tag, sealed or not
		Headroom:   sessionHeaderSize,
		Tailroom:   tagSize,
		MaxAckHold: maxAckHold,
	})
	if err != nil {
		return nil, fmt.Errorf("kcp: %w: %w", err, ErrConfig)
	}
	ca, err := alarm.New()
	if err != nil {
		return nil, fmt.Errorf("kcp: %w", err)
	}
	e := &endpoint{
		alarm:    ca,
		registry: g,
		cfg:      cfg,
		pc:       pc,
		log:      cfg.Logger,
		jar:      cookieJar{secret: cfg.CookieSecret},
		start:    time.Now(),
		done:     make(chan struct{}),
		kick:     make(chan struct{}, 1),
		lp:       lp,
		out:      newOutbox(pc),
	}
	if cfg.Key != nil {
		copy(e.spub[:], cfg.Key.PublicKey().Bytes())
	}
	e.copies.first = e.flushDelay() + firstFlightSlack // the peer's ACK delay is its KCP interval
	e.wg.Add(3)
	go e.readLoop()
	go e.timerLoop()
	go e.alarmWaker()
	return e, nil
}

// nanos returns now as nanoseconds since the endpoint started.
func (e *endpoint) nanos(now time.Time) int64 { return int64(now.Sub(e.start)) }

// shutdown closes the socket and stops both loops; wait waits for them.
func (e *endpoint) shutdown() {
	e.downOnce.Do(func() {
		close(e.done)
		_ = e.alarm.Close() // the alarm waker ends
		_ = e.pc.Close()    // shutting down: the read loop ends on the close either way
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
		e.io[ioReadCalls].Add(1)
		e.io[ioDatagramsIn].Add(1)
		now := time.Now()
		e.lmu.Lock()
		e.handle(buf[:n], addr, now)
		e.endPassLocked(now)
		e.lmu.Unlock()
		e.deliver()
		e.handleForeign(now)
	}
}

// readBatches is the read loop of a real UDP socket: one recvmmsg takes
// every datagram already queued (up to a batch), the whole batch is fed
// to the sessions under one lock, and what they answer leaves in one
// batched write.
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
		e.io[ioReadCalls].Add(1)
		e.io[ioDatagramsIn].Add(uint64(n))
		now := time.Now()
		e.lmu.Lock()
		for i := range msgs[:n] {
			m := &msgs[i]
			e.handle(m.Buffers[0][:m.N], m.Addr, now)
			m.Addr = nil
		}
		e.endPassLocked(now)
		e.lmu.Unlock()
		e.deliver()
		e.handleForeign(now)
	}
}

// handleForeign opens the pass's datagrams for other loops' sessions,
// each under its own loop's lock (never two loops' locks at once).
func (e *endpoint) handleForeign(now time.Time) {
	if len(e.foreign) > 0 {
		e.io[ioHandoffs].Add(uint64(len(e.foreign)))
	}
	for i := range e.foreign {
		f := &e.foreign[i]
		o := f.c.ep
		o.lmu.Lock()
		f.c.openLocked(now, f.h, f.b, f.addr)
		o.endPassLocked(now)
		o.lmu.Unlock()
		o.deliver()
		*f = foreignDatagram{}
	}
	e.foreign = e.foreign[:0]
}

// endPassLocked ends a read pass: output goes, and the timer loop is told
// when the loop now needs it sooner than it planned.
func (e *endpoint) endPassLocked(now time.Time) {
	e.flushLocked(now)
	if due, ok := e.lp.NextDue(); ok && due.Before(e.tickerAt) {
		e.wakeAtLocked(now, due, now.Before(e.raceUntil))
	}
}

// preciseBelow: a wake-up closer than this for a deferred copy, or for
// an ACK racing the peer's copy (raceUntil), is set on the alarm, not
// left to the timer loop's Go timer. Other deadlines (ACKs held for the
// next tick, retransmission checks) keep the Go timer, whose coarseness
// gathers many sessions' deadlines into one pass: on a clean, busy path
// the alarm costs nothing.
const preciseBelow = 2 * time.Millisecond

// alarmWaker kicks the timer loop each time the alarm fires.
func (e *endpoint) alarmWaker() {
	defer e.wg.Done()
	for {
		if err := e.alarm.Wait(); err != nil {
			if !errors.Is(err, alarm.ErrClosed) {
				e.log.Error("kcp: alarm failed", "err", err)
			}
			return
		}
		e.wakeTimer()
	}
}

// wakeAtLocked makes the timer loop wake at due, earlier than it planned
// (tickerAt): on the alarm when due is close and precise matters, else by
// a kick that makes it set its Go timer again.
func (e *endpoint) wakeAtLocked(now, due time.Time, precise bool) {
	e.tickerAt = due
	if precise && due.Sub(now) < preciseBelow {
		e.armAlarmLocked(now, due)
		return
	}
	e.wakeTimer()
}

// armAlarmLocked makes the alarm fire at due unless it is already set
// for that or sooner. A Set is a system call.
func (e *endpoint) armAlarmLocked(now, due time.Time) {
	if e.alarmAt.After(now) && !due.Before(e.alarmAt) {
		return
	}
	e.alarmAt = due
	e.alarm.Set(due.Sub(now))
}

func (e *endpoint) wakeTimer() {
	select {
	case e.kick <- struct{}{}:
	default:
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

// fail ends every session of this loop after a socket read error.
func (e *endpoint) fail(err error) {
	e.log.Warn("kcp: socket read failed", "err", err)
	e.lmu.Lock()
	e.mu.Lock()
	e.readErr = err
	e.mu.Unlock()
	e.finishAllLocked(fmt.Errorf("kcp: socket: %w: %w", err, netcode.ErrClosed), nil)
	e.flushLocked(time.Now())
	e.lmu.Unlock()
	e.deliver()
}

// deliver runs the Receivers of pushed sessions that have something
// (messages, or their end), outside lmu. One goroutine delivers at a
// time: a caller that finds another one delivering leaves the work to
// it (what it queued is on the list the holder drains, and the holder
// looks again after letting go).
func (e *endpoint) deliver() {
	for {
		if !e.dmu.TryLock() {
			return
		}
		delivered := false
		for {
			e.lmu.Lock()
			batch := e.ready
			e.ready, e.spare = e.spare[:0], nil
			if len(batch) == 0 {
				if delivered { // what the Receivers queued leaves now, in one batch (a Push with nothing to hand over sends nothing)
					e.flushLocked(time.Now())
				}
				e.lmu.Unlock()
				e.spare = batch
				break
			}
			e.lmu.Unlock()
			for i, c := range batch {
				if c.deliverPushed() {
					delivered = true
				}
				batch[i] = nil
			}
			e.spare = batch[:0]
		}
		e.dmu.Unlock()
		e.lmu.Lock()
		more := len(e.ready) > 0
		e.lmu.Unlock()
		if !more {
			return
		}
	}
}

// connSlot is a live session of the loop and when the timer loop next
// has something to do for it (endpoint nanos; 0: at its next tick): an
// idle session only at its heartbeat or idle timeout. The timer loop
// walks these slots, not the sessions, so a loop of thousands of idle
// sessions costs a scan of a compact slice per tick, not a visit to
// each.
type connSlot struct {
	tickAt int64
	c      *Conn
}

// removeConnLocked takes c's slot out of the loop (the last slot moves
// into its place).
func (e *endpoint) removeConnLocked(c *Conn) {
	last := len(e.conns) - 1
	if c.slot != last {
		e.conns[c.slot] = e.conns[last]
		e.conns[c.slot].c.slot = c.slot
	}
	e.conns[last] = connSlot{}
	e.conns = e.conns[:last]
}

// finishAllLocked ends every session of this loop.
func (e *endpoint) finishAllLocked(why error, notify *control) {
	for i := len(e.conns) - 1; i >= 0; i-- { // each finish takes its slot away
		if i < len(e.conns) {
			e.conns[i].c.finishLocked(why, notify)
		}
	}
}

func (e *endpoint) tickEvery() time.Duration {
	d := min(e.cfg.HeartbeatInterval/2, e.cfg.IdleTimeout/8, e.cfg.Redundancy.ReportInterval)
	return min(max(d, 5*time.Millisecond), 100*time.Millisecond)
}

// timerLoop wakes when the loop has something due (a retransmission, a
// delayed acknowledgement, queued output nobody flushed) and every
// tickEvery for the sessions' clocks (heartbeats, reports, idle
// timeouts).
func (e *endpoint) timerLoop() {
	defer e.wg.Done()
	every := e.tickEvery()
	nextTick := time.Now().Add(every)
	e.lmu.Lock()
	e.tickerAt = nextTick
	e.lmu.Unlock()
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
		case <-e.kick:
		}
		now := time.Now()
		e.lmu.Lock()
		if !now.Before(nextTick) {
			e.tickSessionsLocked(now)
			nextTick = now.Add(every)
		}
		if !now.Before(e.tickerAt) || e.armed {
			e.flushLocked(now)
		}
		wake, precise := nextTick, false
		if due, ok := e.lp.NextDue(); ok && due.Before(wake) {
			wake, precise = due, now.Before(e.raceUntil)
		}
		if due, ok := e.copies.nextDue(); ok && due.Before(wake) { // deferred copies (copies.go)
			wake, precise = due, true
		}
		e.tickerAt = wake
		if precise && wake.Sub(now) < preciseBelow {
			e.armAlarmLocked(now, wake)
		}
		e.lmu.Unlock()
		e.deliver()
		t.Reset(max(wake.Sub(now), 0))
	}
}

// flushDelay is the longest queued output waits when nobody flushes: the
// KCP interval, as kcp-go's own timer would give.
func (e *endpoint) flushDelay() time.Duration {
	return time.Duration(e.cfg.tune.interval) * time.Millisecond
}

// armLocked makes sure queued output leaves within flushDelay even if
// its writer never flushes.
func (e *endpoint) armLocked(now time.Time) {
	if e.armed {
		return
	}
	e.armed = true
	if at := now.Add(e.flushDelay()); at.Before(e.tickerAt) {
		e.tickerAt = at
		e.wakeTimer()
	}
}

func (e *endpoint) tickSessionsLocked(now time.Time) {
	t := e.nanos(now)
	// Backwards: a session that ends takes its slot away and the last
	// slot, already visited, moves into it.
	for i := len(e.conns) - 1; i >= 0; i-- {
		if i < len(e.conns) && t >= e.conns[i].tickAt {
			e.conns[i].c.tickLocked(now)
		}
	}
}

// flushLocked flushes every core with output (sent to, or due at now),
// stamps our header on each KCP datagram, adds its redundant copies, and
// writes the pass's datagrams (with the control and unreliable ones
// staged meanwhile) in one batch.
func (e *endpoint) flushLocked(now time.Time) {
	e.armed = false
	for _, d := range e.lp.Flush(now) {
		c := d.Session.Owner.(*Conn)
		c.emitKCPLocked(now, d.B)
	}
	// Deferred redundant copies (copies.go): those due leave in this
	// batch; the timer loop wakes for the earliest still waiting.
	e.copies.sendDueLocked(now)
	if due, ok := e.copies.nextDue(); ok && due.Before(e.tickerAt) {
		e.wakeAtLocked(now, due, true)
	}
	if e.out.len() == 0 {
		return
	}
	e.io[ioDatagramsOut].Add(uint64(e.out.len()))
	calls, err := e.out.write()
	e.io[ioWriteCalls].Add(uint64(calls))
	if err != nil {
		select {
		case <-e.done: // closing: the socket is gone
		default:
			e.log.Debug("kcp: write failed", "err", err)
		}
	}
}

// handle dispatches one datagram. It runs on the read loop with lmu held
// and never blocks on a session.
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
		switch {
		case c == nil:
			e.drop(netcode.DropUnauthenticated)
		case c.sc == nil || e.role == roleClient:
			// A plaintext session is its token and address; a client
			// hears its server at the address it dialed.
			if c.ep != e || !sameAddr(c.remote, addr) {
				e.drop(netcode.DropUnauthenticated)
				return
			}
			if c.sc == nil {
				c.onDatagramLocked(now, h, payload, len(b))
				return
			}
			c.openLocked(now, h, b, addr)
		case c.ep != e:
			// A sealed session whose client moved to an address the
			// kernel gives another loop's socket: opened under that
			// loop's lock once this pass lets go of ours.
			e.foreign = append(e.foreign, foreignDatagram{c: c, h: h, b: b, addr: addr})
		default:
			c.openLocked(now, h, b, addr)
		}
	case isHandshake(t):
		h, err := decodeHandshake(b)
		if err != nil {
			e.drop(netcode.DropMalformed)
			return
		}
		if e.role == roleServer {
			e.serverHandshake(h, addr, now)
		} else {
			e.clientHandshake(h, b, addr, now)
		}
	default:
		e.drop(netcode.DropMalformed)
	}
}

// reply stages a handshake answer for the pass's batch.
func (e *endpoint) reply(h handshake, addr net.Addr) {
	b := e.out.alloc(helloSize)
	e.out.add(appendHandshake(b[:0], h), addr)
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
		if h.Mode == modePlaintext && !e.cfg.AllowPlaintext {
			// Encryption is not optional here: a 12-byte coded Reject.
			e.refused[refusedPlaintext].Add(1)
			e.reply(handshake{Type: typeReject, Nonce: h.Nonce, Code: netcode.CodeUnsupported}, addr)
			return
		}
		e.cookies.Add(1)
		bucket, mac := e.jar.mint(now, addr, &h)
		e.reply(handshake{Type: typeCookie, Nonce: h.Nonce, Bucket: bucket, MAC: mac, Pub: e.spub}, addr)
	case typeConnect:
		if !e.jar.verify(now, addr, &h) {
			e.drop(netcode.DropUnauthenticated)
			return
		}
		e.connect(h, addr, now)
	default:
		e.drop(netcode.DropMalformed)
	}
}

// connect handles a Connect whose cookie verified: it answers a repeated
// Connect with the same Accept, and otherwise creates the session. Runs
// with lmu held.
func (e *endpoint) connect(h handshake, addr net.Addr, now time.Time) {
	key := addrNonce{addr: addr.Network() + "|" + addr.String(), nonce: h.Nonce}
	e.mu.Lock()
	old := e.byAddr[key]
	e.mu.Unlock()
	if old != nil { // our Accept was lost: say it again, the same bytes
		e.replyRaw(old.acceptMsg, addr)
		return
	}
	// The cookie verified: the source is real, and only now is a key
	// agreed (one X25519 per session, none for a spoofed source).
	var sc *sessionCrypto
	var hk cipher.AEAD
	if h.Mode == modeSealed {
		var err error
		if sc, hk, err = agree(e.cfg.Key, h.Pub[:], h.Nonce, false, e.cfg.rekeyShift); err != nil {
			e.drop(netcode.DropMalformed) // a low-order or invalid client key
			return
		}
	} else if !e.cfg.AllowPlaintext { // unreachable: the cookie binds the Hello's mode
		e.drop(netcode.DropUnauthenticated)
		return
	}
	answer := func(h handshake) []byte {
		if hk == nil {
			return appendHandshake(make([]byte, 0, acceptSize), h)
		}
		return sealHandshake(make([]byte, 0, acceptSealedSize), h, hk)
	}
	e.mu.Lock()
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
		e.replyRaw(answer(handshake{Type: typeReject, Nonce: h.Nonce, Code: code}), addr)
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
	c := newConnLocked(e, addr, conv, token, sc, now)
	c.hsKey, c.ipKey = key, ipk
	c.acceptMsg = answer(handshake{Type: typeAccept, Nonce: h.Nonce, Conv: conv, Token: token})
	e.byToken[token] = c
	e.byAddr[key] = c
	e.perIP[ipk]++
	e.backlog <- c // room checked above; only this goroutine sends
	e.mu.Unlock()
	e.accepted.Add(1)
	e.replyRaw(c.acceptMsg, addr)
}

// replyRaw stages an encoded handshake answer for the pass's batch.
func (e *endpoint) replyRaw(b []byte, addr net.Addr) {
	e.out.add(append(e.out.alloc(len(b))[:0], b...), addr)
}

// clientHandshake handles the server's answers to our handshakes. Runs
// with lmu held.
func (e *endpoint) clientHandshake(h handshake, b []byte, addr net.Addr, now time.Time) {
	e.mu.Lock()
	hs := e.hs[h.Nonce]
	var sc *sessionCrypto
	var hk cipher.AEAD
	if hs != nil {
		sc, hk = hs.sc, hs.hk
	}
	e.mu.Unlock()
	if hs == nil || !sameAddr(hs.remote, addr) {
		e.drop(netcode.DropUnauthenticated)
		return
	}
	// A sealed handshake's Accept must be sealed with the key agreed
	// with the server, and so must a Reject once the Connect went.
	switch {
	case hs.plaintext || (h.Type != typeAccept && h.Type != typeReject):
	case h.Sealed && hk != nil:
		if !openHandshake(&h, b, hk) {
			e.drop(netcode.DropUnauthenticated)
			return
		}
	case h.Type == typeReject && !h.Sealed && hk == nil: // refused at Hello (shutdown, plaintext)
	default:
		e.drop(netcode.DropUnauthenticated)
		return
	}
	if hs.plaintext && h.Sealed {
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
		if h.DataShards != 0 || h.ParityShards != 0 {
			// kcp-go's FEC lives in its UDPSession, which the event loop
			// does not use; a server asking for it is not ours.
			e.drop(netcode.DropMalformed)
			return
		}
		c := newConnLocked(e, hs.remote, h.Conv, h.Token, sc, now)
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

// remove forgets c. When a closed listener loses its last session, the
// socket goes too.
func (e *endpoint) remove(c *Conn) {
	e.mu.Lock()
	if e.byToken[c.token] == c {
		delete(e.byToken, c.token)
	}
	if c.ipKey != "" && e.byAddr[c.hsKey] == c {
		delete(e.byAddr, c.hsKey)
		if e.perIP[c.ipKey]--; e.perIP[c.ipKey] <= 0 {
			delete(e.perIP, c.ipKey)
		}
	}
	last := e.role == roleServer && e.closing && len(e.byToken) == 0
	onEmpty := e.onEmpty
	e.mu.Unlock()
	if last && onEmpty != nil {
		onEmpty()
	}
}

func (e *endpoint) sessionCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.byToken)
}

// preparedKey takes a handshake key made ahead (ClientSocket.PrepareKeys),
// nil when none is left. Each is used once.
func (e *endpoint) preparedKey() *ecdh.PrivateKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.keys)
	if n == 0 {
		return nil
	}
	k := e.keys[n-1]
	e.keys[n-1] = nil
	e.keys = e.keys[:n-1]
	return k
}

// dial runs the client side of one handshake.
func (e *endpoint) dial(ctx context.Context, remote net.Addr) (*Conn, error) {
	hs := &clientHandshake{
		remote:    remote,
		plaintext: e.cfg.Plaintext,
		cookie:    make(chan handshake, 1),
		accept:    make(chan *Conn, 1),
		reject:    make(chan netcode.Code, 1),
	}
	mode := byte(modePlaintext)
	var eph *ecdh.PrivateKey
	var cpub [pubSize]byte
	if !hs.plaintext {
		if eph = e.preparedKey(); eph == nil {
			var err error
			if eph, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
				return nil, fmt.Errorf("kcp: handshake key: %w: %w", err, netcode.ErrHandshake)
			}
		}
		mode = modeSealed
		copy(cpub[:], eph.PublicKey().Bytes())
	}
	e.mu.Lock()
	for {
		_, _ = rand.Read(hs.nonce[:]) // crypto/rand.Read never fails on supported platforms
		if e.hs[hs.nonce] == nil {
			break
		}
	}
	e.hs[hs.nonce] = hs
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.hs, hs.nonce)
		e.mu.Unlock()
	}()

	send := func(h handshake) error {
		var buf [helloSize]byte
		_, err := e.pc.WriteTo(appendHandshake(buf[:0], h), remote)
		return err
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	rto := 100 * time.Millisecond
	next := handshake{Type: typeHello, Nonce: hs.nonce, Mode: mode, Pub: cpub}
	agreed := false
	for {
		select {
		case <-timer.C:
			if err := send(next); err != nil {
				return nil, fmt.Errorf("kcp: handshake send: %w: %w", err, netcode.ErrHandshake)
			}
			timer.Reset(rto)
			rto = min(2*rto, time.Second)
		case ck := <-hs.cookie:
			if !hs.plaintext && !agreed {
				// The server's key: the pinned one, else the Cookie's.
				spub := ck.Pub[:]
				if e.cfg.ServerKey != nil {
					spub = e.cfg.ServerKey.Bytes()
				}
				sc, hk, err := agree(eph, spub, hs.nonce, true, e.cfg.rekeyShift)
				if err != nil {
					// A Cookie naming an invalid key (low order): not
					// from a server of ours. Keep trying until the
					// timeout, as for any datagram that does not verify.
					e.drop(netcode.DropMalformed)
					continue
				}
				e.mu.Lock()
				hs.sc, hs.hk = sc, hk
				e.mu.Unlock()
				agreed = true
			}
			next = handshake{Type: typeConnect, Nonce: hs.nonce, Bucket: ck.Bucket, MAC: ck.MAC, Mode: mode, Pub: cpub}
			rto = 100 * time.Millisecond
			timer.Reset(0)
		case c := <-hs.accept:
			return c, nil
		case code := <-hs.reject:
			return nil, &netcode.CodedError{Code: code, Msg: "kcp: server rejected the handshake", Err: netcode.ErrHandshake}
		case <-ctx.Done():
			e.abandon(hs)
			return nil, fmt.Errorf("kcp: handshake with %s: %w: %w", remote, ctx.Err(), netcode.ErrHandshake)
		case <-e.done:
			return nil, fmt.Errorf("kcp: handshake: socket closed: %w", netcode.ErrHandshake)
		}
	}
}

// abandon closes a session the read loop created for a handshake whose
// Dial has given up (the Accept raced the deadline).
func (e *endpoint) abandon(hs *clientHandshake) {
	e.lmu.Lock()
	defer e.lmu.Unlock()
	e.mu.Lock()
	late := hs.conn
	e.mu.Unlock()
	if late != nil {
		late.finishLocked(netcode.ErrClosed, &control{Type: ctlClose, Code: netcode.CodeOK, Reason: "dial abandoned"})
		e.flushLocked(time.Now())
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

// addrPort is addr as the loop names peers (the zero value for an
// in-memory link's addresses, which the loop does not read).
func addrPort(addr net.Addr) netip.AddrPort {
	if u, ok := addr.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	return netip.AddrPort{}
}
