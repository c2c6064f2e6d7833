package kcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp/internal/loop"
)

// Conn is one KCP session: a reliable-ordered channel (a kcp-go core
// carrying length-prefixed messages) and an unreliable channel
// (sequenced datagrams, newest wins) over its endpoint's socket. Its
// transport state belongs to the endpoint's event loop and is guarded by
// the endpoint's lmu.
type Conn struct {
	ep    *endpoint
	cfg   *config
	ls    *loop.Session
	token uint64
	conv  uint32
	// sc seals and opens the session's datagrams; nil for a plaintext
	// session (benchmarks only).
	sc *sessionCrypto
	// raddr is remote for RemoteAddr, which runs without the lock.
	raddr atomic.Pointer[net.Addr]

	// server side: the handshake that created the session, and the
	// Accept it was answered with (sent again for a repeated Connect)
	hsKey     addrNonce
	ipKey     string
	acceptMsg []byte

	wake  chan struct{} // capacity 1: a message or the end may be ready
	space chan struct{} // capacity 1: a blocked WriteMessage may retry
	done  chan struct{} // closed when the session ends

	// Guarded by ep.lmu.
	remote     net.Addr // where the session's datagrams go: the newest authenticated source
	ended      bool
	termErr    error // why the session ended
	pn         uint32
	useq       uint32 // last unreliable sequence number sent
	lastRecv   int64  // endpoint nanos of the last datagram heard
	lastSent   int64  // endpoint nanos of the last datagram sent
	rx         rxCounter
	red        *redundancy
	lastReport int64
	rxSince    uint32 // KCP and unreliable datagrams heard since the last report
	slot       int    // index in ep.conns while the session is live
	maxSN      uint32
	snStarted  bool
	dataAcked  bool          // the peer has acknowledged data of ours (copies.go: the first flight)
	heardKCP   bool          // a KCP datagram came from the peer (its first one is its first flight)
	minRTT     time.Duration // least smoothed RTT seen; -1 before the first
	uq         [][]byte      // ring of unreliable messages (drop oldest)
	uqHead     int
	uqLen      int
	uqNewest   uint32
	uqStarted  bool
	spaceWait  bool             // a WriteMessage waits for the send window
	recv       netcode.Receiver // set by Push: messages go to it, not to ReadMessage
	queued     bool             // in ep.ready: has something for recv
	endTold    bool             // recv.Ended was called (or is being called)
	wbuf       []byte           // prefixed messages for one KCP send
	// The reliable stream as ReadMessage consumes it: rbuf[rstart:rend]
	// holds received bytes not yet returned. Only appended to outside
	// ReadMessage, so a message ReadMessage returned stays intact until
	// its next call.
	rbuf   []byte
	rstart int
	rend   int
	out    []byte // the unreliable message ReadMessage returned

	bytesSent, bytesRecv       atomic.Uint64
	messagesSent, messagesRecv atomic.Uint64
	retransmits                atomic.Uint64
	redundantBytes             atomic.Uint64
	migrations                 atomic.Uint64
	drops                      [netcode.NumDropReasons]atomic.Uint64
}

var (
	_ netcode.Conn     = (*Conn)(nil)
	_ netcode.Queuer   = (*Conn)(nil)
	_ netcode.Pusher   = (*Conn)(nil)
	_ netcode.Listener = (*Listener)(nil)
)

// newConnLocked creates a session on e's loop. Called with e.lmu held.
func newConnLocked(e *endpoint, remote net.Addr, conv uint32, token uint64, sc *sessionCrypto, now time.Time) *Conn {
	c := &Conn{
		ep:     e,
		cfg:    e.cfg,
		remote: remote,
		token:  token,
		conv:   conv,
		sc:     sc,
		wake:   make(chan struct{}, 1),
		space:  make(chan struct{}, 1),
		done:   make(chan struct{}),
		red:    newRedundancy(e.cfg.Redundancy),
		pn:     ^uint32(0),
		minRTT: -1,
	}
	c.raddr.Store(&remote)
	t := e.nanos(now)
	c.lastRecv, c.lastSent, c.lastReport = t, t, t
	c.ls = e.lp.Add(token, conv, addrPort(remote))
	c.ls.Owner = c
	c.slot = len(e.conns)
	e.conns = append(e.conns, connSlot{c: c})
	return c
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Transport implements netcode.Conn.
func (c *Conn) Transport() string { return "kcp" }

// LocalAddr implements netcode.Conn.
func (c *Conn) LocalAddr() net.Addr { return c.ep.pc.LocalAddr() }

// RemoteAddr implements netcode.Conn: the peer's address, which for a
// sealed session on a Listener is the newest one its datagrams
// authenticated from (NAT rebinding moves it).
func (c *Conn) RemoteAddr() net.Addr { return *c.raddr.Load() }

// Sealed reports whether the session's datagrams are encrypted and
// authenticated (false only for a plaintext session, benchmarks only).
func (c *Conn) Sealed() bool { return c.sc != nil }

// Migrations counts the times a sealed session moved to a new client
// address (NAT rebinding).
func (c *Conn) Migrations() uint64 { return c.migrations.Load() }

// Stats implements netcode.Conn.
func (c *Conn) Stats() netcode.Stats {
	st := netcode.Stats{
		Transport:      "kcp",
		BytesSent:      c.bytesSent.Load(),
		BytesRecv:      c.bytesRecv.Load(),
		MessagesSent:   c.messagesSent.Load(),
		MessagesRecv:   c.messagesRecv.Load(),
		Retransmits:    c.retransmits.Load(),
		RedundantBytes: c.redundantBytes.Load(),
	}
	for i := range st.Drops {
		st.Drops[i] = c.drops[i].Load()
	}
	now := time.Now()
	c.ep.lmu.Lock()
	st.RTT = c.ls.SRTT()
	st.LossRate = c.red.loss
	st.Redundancy = c.red.copies(now)
	c.ep.lmu.Unlock()
	return st
}

// ReadMessage implements netcode.Conn. Reliable messages already received
// are delivered before the unreliable queue, and before the error of a
// peer close or an idle timeout.
func (c *Conn) ReadMessage() (netcode.Channel, []byte, error) {
	e := c.ep
	for {
		e.lmu.Lock()
		if c.recv != nil {
			e.lmu.Unlock()
			return 0, nil, errPushed
		}
		term := c.termErr
		if errors.Is(term, netcode.ErrClosed) { // closed locally: nothing more
			e.lmu.Unlock()
			return 0, nil, term
		}
		msg, ok, err := c.nextReliableLocked()
		if err != nil {
			code := netcode.CodeBadFrame
			if errors.Is(err, netcode.ErrMessageTooLarge) {
				code = netcode.CodeFrameTooLarge
			}
			c.finishLocked(&netcode.CodedError{Code: code, Msg: "reliable stream", Err: err}, &control{Type: ctlClose, Code: code, Reason: "bad reliable stream"})
			e.lmu.Unlock()
			c.drop(netcode.DropMalformed)
			return 0, nil, err
		}
		if ok {
			e.lmu.Unlock()
			c.messagesRecv.Add(1)
			return netcode.Reliable, msg, nil
		}
		if msg, ok := c.popUnreliableLocked(); ok {
			e.lmu.Unlock()
			c.messagesRecv.Add(1)
			return netcode.Unreliable, msg, nil
		}
		e.lmu.Unlock()
		if term != nil {
			return 0, nil, term
		}
		select {
		case <-c.wake:
		case <-c.done:
		}
	}
}

// errPushed: ReadMessage after Push.
var errPushed = errors.New("kcp: ReadMessage after Push: messages go to the Receiver")

// Push implements netcode.Pusher: from now on the endpoint's loops hand
// this session's messages to r in the pass that reads them (what was
// received before is delivered first, possibly in this call).
func (c *Conn) Push(r netcode.Receiver) {
	e := c.ep
	e.lmu.Lock()
	c.recv = r
	c.readyLocked()
	e.lmu.Unlock()
	e.deliver()
}

// readyLocked puts a pushed session on its loop's delivery list.
func (c *Conn) readyLocked() {
	if c.recv == nil || c.queued || c.endTold {
		return
	}
	c.queued = true
	c.ep.ready = append(c.ep.ready, c)
}

// deliverPushed hands the session's pending messages, then its end, to
// its Receiver, and reports whether it called it. Runs with ep.dmu held
// and lmu not held.
func (c *Conn) deliverPushed() (called bool) {
	e := c.ep
	for {
		e.lmu.Lock()
		c.queued = false
		if c.endTold {
			e.lmu.Unlock()
			return called
		}
		r := c.recv
		msg, ok, err := c.nextReliableLocked()
		ch := netcode.Reliable
		if err != nil {
			code := netcode.CodeBadFrame
			if errors.Is(err, netcode.ErrMessageTooLarge) {
				code = netcode.CodeFrameTooLarge
			}
			c.drop(netcode.DropMalformed)
			c.finishLocked(&netcode.CodedError{Code: code, Msg: "reliable stream", Err: err}, &control{Type: ctlClose, Code: code, Reason: "bad reliable stream"})
			c.termErr = err
		} else if !ok && !errors.Is(c.termErr, netcode.ErrClosed) {
			msg, ok = c.popUnreliableLocked()
			ch = netcode.Unreliable
		}
		if ok && !errors.Is(c.termErr, netcode.ErrClosed) {
			e.lmu.Unlock()
			c.messagesRecv.Add(1)
			r.Receive(ch, msg)
			called = true
			continue
		}
		if !c.ended {
			e.lmu.Unlock()
			return called
		}
		c.endTold = true
		term := c.termErr
		e.lmu.Unlock()
		r.Ended(term)
		return true
	}
}

// rbufMin is the first size of a session's receive buffer, allocated on
// its first reliable message (an idle session holds none).
const rbufMin = 2 << 10

// nextReliableLocked returns the next complete message of the reliable
// stream, taking what the KCP core has ready.
func (c *Conn) nextReliableLocked() ([]byte, bool, error) {
	limit := c.cfg.MaxMessageSize
	for {
		msg, n, err := nextMessage(c.rbuf[c.rstart:c.rend], limit)
		if err != nil {
			return nil, false, err
		}
		if n > 0 {
			c.rstart += n
			return msg, true, nil
		}
		if c.rstart > 0 { // the caller is done with the messages returned before
			c.rend = copy(c.rbuf, c.rbuf[c.rstart:c.rend])
			c.rstart = 0
		}
		if !c.recvLocked() {
			return nil, false, nil
		}
	}
}

// recvLocked appends the core's next complete KCP message to rbuf[rend:]
// (growing rbuf without moving what an earlier ReadMessage returned);
// false when none is ready. A KCP message is at most 255 segments, so
// the growth is bounded by what the peer really sent.
func (c *Conn) recvLocked() bool {
	n := c.ls.PeekSize()
	if n < 0 || c.ended {
		return false
	}
	if len(c.rbuf)-c.rend < n {
		grown := make([]byte, max(2*len(c.rbuf), c.rend-c.rstart+n, rbufMin))
		c.rend = copy(grown, c.rbuf[c.rstart:c.rend])
		c.rstart = 0
		c.rbuf = grown
	}
	k, err := c.ep.lp.Recv(c.ls, c.rbuf[c.rend:])
	if err != nil || k == 0 { // cannot happen: the buffer fits PeekSize and the session is live
		return false
	}
	c.rend += k
	return true
}

func (c *Conn) popUnreliableLocked() ([]byte, bool) {
	if c.uqLen == 0 {
		return nil, false
	}
	c.out = append(c.out[:0], c.uq[c.uqHead]...)
	c.uqHead = (c.uqHead + 1) % len(c.uq)
	c.uqLen--
	return c.out, true
}

func (c *Conn) drop(r netcode.DropReason) { c.drops[r].Add(1) }

// maxUnreliable is the largest unreliable message: one datagram, with
// room for the tag (sealed or not, the limit is the same).
func (c *Conn) maxUnreliable() int {
	return min(c.cfg.MaxMessageSize, c.cfg.tune.mtu-unreliableHeader-tagSize)
}

// WriteMessage implements netcode.Conn: it queues p and flushes the
// loop. Unreliable messages must fit one datagram (MTU minus 17 bytes of
// header). A reliable message waits for the send window at most
// WriteTimeout (then ErrWriteTimeout).
func (c *Conn) WriteMessage(ch netcode.Channel, p []byte) error {
	msgs := [1][]byte{p}
	return c.WriteMessages(ch, msgs[:])
}

// WriteMessages writes several messages on one channel: reliable ones go
// to KCP together (small messages share segments and datagrams, and the
// peer acknowledges them together), and the loop is flushed once. Every
// size is checked first: a message above the limit fails the call
// (netcode.ErrMessageTooLarge) before anything is sent. A full send
// window is waited on, at most WriteTimeout.
func (c *Conn) WriteMessages(ch netcode.Channel, msgs [][]byte) error {
	var timer *time.Timer
	for {
		err := c.queue(ch, msgs, true)
		if !errors.Is(err, netcode.ErrQueueFull) {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(c.cfg.WriteTimeout)
			defer timer.Stop()
		}
		select {
		case <-c.space:
		case <-c.done:
		case <-timer.C:
			c.ep.lmu.Lock()
			c.spaceWait = false
			c.ep.lmu.Unlock()
			return fmt.Errorf("kcp: send window full for %v: %w", c.cfg.WriteTimeout, netcode.ErrWriteTimeout)
		}
	}
}

// QueueMessages implements netcode.Queuer: the messages are handed to the
// session's core (reliable) or staged as datagrams (unreliable) without
// a system call; Flush, or the loop within its interval, sends them.
func (c *Conn) QueueMessages(ch netcode.Channel, msgs [][]byte) error {
	return c.queue(ch, msgs, false)
}

// Flush implements netcode.Queuer: every session of the endpoint's loop
// sends what it has queued, in one batch.
func (c *Conn) Flush() {
	e := c.ep
	e.lmu.Lock()
	e.flushLocked(time.Now())
	e.lmu.Unlock()
}

// maxKCPSend bounds the prefixed messages handed to the core in one
// Send (one KCP message of at most 255 segments).
const maxKCPSend = 64 << 10

func (c *Conn) queue(ch netcode.Channel, msgs [][]byte, flush bool) error {
	if !ch.Valid() {
		return fmt.Errorf("kcp: channel %d: %w", ch, netcode.ErrBadChannel)
	}
	limit := c.cfg.MaxMessageSize
	if ch == netcode.Unreliable {
		limit = c.maxUnreliable()
	}
	for _, p := range msgs {
		if len(p) > limit {
			return fmt.Errorf("kcp: message of %d bytes, limit %d: %w", len(p), limit, netcode.ErrMessageTooLarge)
		}
	}
	e := c.ep
	e.lmu.Lock()
	defer e.lmu.Unlock()
	if c.ended {
		c.drop(netcode.DropClosed)
		return c.termErr
	}
	now := time.Now()
	if ch == netcode.Unreliable {
		for _, p := range msgs {
			b := c.allocLocked(unreliableHeader + len(p))
			c.useq++
			binary.BigEndian.PutUint32(b[sessionHeaderSize:], c.useq)
			copy(b[unreliableHeader:], p)
			c.stageLocked(now, typeUnreliable, b)
		}
	} else if err := c.sendReliableLocked(msgs); err != nil {
		return err
	}
	c.messagesSent.Add(uint64(len(msgs)))
	if flush {
		e.flushLocked(now)
	} else {
		e.armLocked(now)
	}
	return nil
}

// sendReliableLocked hands msgs, length-prefixed, to the core in as few
// KCP messages as fit maxKCPSend. A full window fails with ErrQueueFull
// (the messages before it stay queued).
func (c *Conn) sendReliableLocked(msgs [][]byte) error {
	c.wbuf = c.wbuf[:0]
	for i, p := range msgs {
		c.wbuf = append(appendPrefix(c.wbuf, len(p)), p...)
		if i == len(msgs)-1 || len(c.wbuf)+maxPrefix+len(msgs[i+1]) > maxKCPSend {
			if err := c.ep.lp.Send(c.ls, c.wbuf); err != nil {
				if errors.Is(err, loop.ErrWindowFull) {
					c.spaceWait = true
					return fmt.Errorf("kcp: %d segments unacknowledged: %w", c.ls.Pending(), netcode.ErrQueueFull)
				}
				return fmt.Errorf("kcp: send: %w", err)
			}
			c.wbuf = c.wbuf[:0]
		}
	}
	if cap(c.wbuf) > wbufKeep { // do not keep a rare large message's buffer
		c.wbuf = nil
	}
	return nil
}

// Close implements netcode.Conn: it sends a Close datagram carrying code
// and reason three times (it is unreliable) and ends the session; the
// Conn of a Dial closes its socket and waits for its goroutines.
func (c *Conn) Close(code netcode.Code, reason string) error {
	e := c.ep
	e.lmu.Lock()
	c.finishLocked(netcode.ErrClosed, &control{Type: ctlClose, Code: code, Reason: reason})
	e.lmu.Unlock()
	e.deliver() // a pushed session's Receiver hears its end (now, or from the delivery running it)
	if e.role == roleClient && e.private {
		e.shutdown()
		e.wait()
	}
	return nil
}

// wbufKeep is the largest write buffer a Conn keeps between messages.
const wbufKeep = 16 << 10

// closeRepeats is how many times a Close datagram is sent.
const closeRepeats = 3

// finishLocked ends the session once: it records why, tells the peer
// when notify is set (sent at once), keeps what the core has received
// for ReadMessage, and leaves the loop and the endpoint's maps.
func (c *Conn) finishLocked(why error, notify *control) {
	if c.ended {
		return
	}
	e := c.ep
	for c.recvLocked() { // received data stays readable after the end
	}
	c.ended = true
	c.termErr = why
	if notify != nil {
		now := time.Now()
		for range closeRepeats {
			c.stageControlLocked(now, *notify)
		}
		e.flushLocked(now)
	}
	e.lp.Remove(c.ls)
	e.removeConnLocked(c)
	close(c.done)
	e.remove(c)
	signal(c.wake)
	c.readyLocked()
}

// allocLocked returns n bytes of the pass's batch with room behind them
// for the tag.
func (c *Conn) allocLocked(n int) []byte { return c.ep.out.alloc(n + tagSize)[:n] }

// stageLocked stamps the session header on b (whose first
// sessionHeaderSize bytes are reserved, and whose capacity has room for
// the tag), seals it (in place) and adds it to the pass's batch. A
// sealed session never reuses a packet number: past pnLast nothing more
// is sent (tickLocked closes it long before).
func (c *Conn) stageLocked(now time.Time, typ byte, b []byte) {
	if c.sc != nil && c.pn == pnLast {
		c.drop(netcode.DropClosed)
		return
	}
	c.pn++
	if c.pn >= pnCloseAt {
		c.setTickAtLocked(0) // tickLocked closes the session
	}
	putSessionHeader(b, sessionHeader{Type: typ, Token: c.token, PN: c.pn})
	if c.sc != nil {
		b = c.sc.seal(c.pn, b)
	}
	c.ep.out.add(b, c.remote)
	c.bytesSent.Add(uint64(len(b)))
	c.lastSent = c.ep.nanos(now)
}

func (c *Conn) stageControlLocked(now time.Time, ctl control) {
	b := c.allocLocked(maxCloseSize)
	c.stageLocked(now, typeControl, appendControl(b[:sessionHeaderSize], ctl))
}

// emitKCPLocked carries one datagram of the core (b: header room, then
// the KCP packet) and queues as many redundant copies of its PUSH
// segments as the current level asks (at least one on a sparse session),
// each spaced in time after it and sent only if still unacknowledged and
// within the budget when due (copies.go).
func (c *Conn) emitKCPLocked(now time.Time, b []byte) {
	data := c.countRetransmitsLocked(b[sessionHeaderSize:])
	n := c.red.onSend(now)
	// Copies are taken from the clear packet, before it is sealed in
	// place; each is sealed with its own packet number when it goes.
	switch {
	case n == 0 || !data: // an ACK-only datagram gets no copy
		c.stageLocked(now, typeKCP, b)
	case c.red.level == 0:
		// The sparse floor: a lone datagram (chat, a turn) has no burst
		// to dodge, and its loss would wait for the 30 ms RTO. Its copy
		// goes at once, as before spacing (SparseRate caps the cost).
		var cp []byte
		if c.red.allow(now, len(b)) {
			cp = append(c.allocLocked(len(b))[:0], b...)
		}
		c.stageLocked(now, typeKCP, b)
		if cp != nil {
			c.stageLocked(now, typeKCP, cp)
			c.redundantBytes.Add(uint64(len(cp)))
		}
	default:
		c.ep.copies.scheduleLocked(c, now, n, b[sessionHeaderSize:], !c.dataAcked)
		c.stageLocked(now, typeKCP, b)
	}
}

// stageCopyLocked stages a redundant copy of b (header room, then KCP
// segments) for the pass's batch, with its own packet number.
func (c *Conn) stageCopyLocked(now time.Time, b []byte) {
	cp := c.allocLocked(len(b))
	copy(cp, b)
	c.stageLocked(now, typeKCP, cp)
	c.redundantBytes.Add(uint64(len(b)))
}

// kcp-go segment layout (little-endian): conv 4, cmd 1, frg 1, wnd 2,
// ts 4, sn 4, una 4, len 4, data.
const (
	kcpOverhead = 24
	kcpCmdPush  = 81
)

// countRetransmitsLocked counts PUSH segments whose sn is not newer than
// the newest sent: those are retransmissions. It reports whether p
// carries any PUSH segment (data, which redundancy may copy).
func (c *Conn) countRetransmitsLocked(p []byte) (data bool) {
	var retx uint64
	for len(p) >= kcpOverhead {
		cmd := p[4]
		sn := binary.LittleEndian.Uint32(p[12:])
		n := binary.LittleEndian.Uint32(p[20:])
		if cmd == kcpCmdPush {
			data = true
			if c.snStarted && !seqNewer(sn, c.maxSN) {
				retx++
			} else {
				c.maxSN, c.snStarted = sn, true
			}
		}
		if uint64(n) > uint64(len(p)-kcpOverhead) {
			break
		}
		p = p[kcpOverhead+int(n):]
	}
	if retx > 0 {
		c.retransmits.Add(retx)
	}
	return data
}

// openLocked authenticates and decrypts a sealed datagram b (header,
// ciphertext, tag) from addr, then handles it. One that fails is dropped
// and counted, never answered, and changes nothing: no idle timer
// refreshed, no close, no move. One that authenticates from a new
// address with the newest packet number yet moves the session there
// (NAT rebinding). Runs with the loop's lmu held.
func (c *Conn) openLocked(now time.Time, h sessionHeader, b []byte, addr net.Addr) {
	e := c.ep
	if c.ended {
		e.drop(netcode.DropClosed)
		return
	}
	payload, ok, replayed := c.sc.open(h.PN, b)
	switch {
	case replayed:
		e.drop(netcode.DropReplayed)
		c.drop(netcode.DropReplayed)
		return
	case !ok:
		e.drop(netcode.DropUnauthenticated)
		c.drop(netcode.DropUnauthenticated)
		return
	}
	if newest := c.sc.accept(h.PN); newest && !sameAddr(c.remote, addr) {
		c.migrateLocked(addr)
	}
	c.onDatagramLocked(now, h, payload, len(b))
}

// ackWithinLocked bounds how long our ACKs may wait for data to ride on
// while copies are likely on the way: a peer copies each datagram it has
// not seen acknowledged copyDelay(0) after sending it (copies.go), so an
// ACK held longer (AckDelay, the steady-rate hold of a game stream) lets
// the copy go for nothing. Whether the peer copies is judged by what
// this end does on the same path, loss being measured the same way on
// both: our own level (the sparse floor's copy goes at once, so no ACK
// can save it). Half the delay leaves the ACK time to arrive; zero (no
// bound) on a clean path, which keeps the ACK riding the next tick, and
// for the peer's first KCP datagram: its first flight, whose one copy
// waits for our held ACK anyway (copyQueue.first), so the ACK of a
// client's Hello keeps riding the server's Welcome.
func (c *Conn) ackWithinLocked() time.Duration {
	if c.red.level == 0 || !c.heardKCP {
		return 0
	}
	return c.ep.copies.firstDelay() / 2
}

// migrateLocked moves the session to addr: replies go there from now on.
func (c *Conn) migrateLocked(addr net.Addr) {
	e := c.ep
	e.log.Debug("kcp: session moved", "from", c.remote, "to", addr)
	c.remote = addr
	c.raddr.Store(&addr)
	c.ls.Addr = addrPort(addr)
	c.migrations.Add(1)
	e.migrations.Add(1)
}

// onDatagramLocked handles an authenticated datagram for this session on
// the read loop. It never blocks.
func (c *Conn) onDatagramLocked(now time.Time, h sessionHeader, payload []byte, wire int) {
	c.lastRecv = c.ep.nanos(now)
	c.setTickAtLocked(0)
	c.bytesRecv.Add(uint64(wire))
	c.rx.observe(h.PN)
	if h.Type != typeControl {
		// A report answers traffic, not the peer's own reports and
		// heartbeats: counting those made two idle ends trade reports
		// every reportMaxGaps intervals for ever. Their packet numbers
		// still count (rx), so the next report covers them.
		c.rxSince++
	}
	switch h.Type {
	case typeKCP:
		pending := c.ls.Pending()
		c.ls.AckWithin = c.ackWithinLocked()
		if c.ls.AckWithin > 0 {
			c.ep.raceUntil = now.Add(preciseBelow)
		}
		if err := c.ep.lp.Input(c.ls, payload, now); err != nil {
			c.drop(netcode.DropMalformed)
			return
		}
		c.heardKCP = true
		if !c.dataAcked && c.ls.Pending() < pending {
			c.dataAcked = true // the first flight is over (copies.go, copyQueue.first)
		}
		if c.ls.PeekSize() >= 0 {
			signal(c.wake)
			c.readyLocked()
		}
		if c.spaceWait && c.ls.Pending() < c.cfg.tune.sndWnd {
			c.spaceWait = false
			signal(c.space)
		}
	case typeUnreliable:
		seq, msg, err := decodeUnreliable(payload)
		if err != nil {
			c.drop(netcode.DropMalformed)
			return
		}
		if len(msg) > c.cfg.MaxMessageSize {
			c.drop(netcode.DropTooLarge)
			return
		}
		c.enqueueUnreliableLocked(seq, msg)
	case typeControl:
		ctl, err := decodeControl(payload)
		if err != nil {
			c.drop(netcode.DropMalformed)
			return
		}
		switch ctl.Type {
		case ctlHeartbeat:
			srtt := c.ls.SRTT()
			if c.minRTT < 0 || srtt < c.minRTT {
				c.minRTT = srtt
			}
			c.red.setCongested(srtt, c.minRTT)
			c.red.onReport(now, ctl.RecvMax, ctl.RecvCount)
		case ctlClose:
			c.finishLocked(&netcode.CloseError{Code: ctl.Code, Reason: ctl.Reason}, nil)
		}
	}
}

// enqueueUnreliableLocked keeps the freshest messages: a message not
// newer than the newest queued is stale; a full queue drops its oldest.
func (c *Conn) enqueueUnreliableLocked(seq uint32, msg []byte) {
	if c.uq == nil { // allocated by the first unreliable message: an idle session holds none
		c.uq = make([][]byte, c.cfg.UnreliableQueue)
	}
	if len(c.uq) == 0 || (c.uqStarted && !seqNewer(seq, c.uqNewest)) {
		c.drop(netcode.DropStale)
		return
	}
	c.uqNewest, c.uqStarted = seq, true
	if c.uqLen == len(c.uq) {
		c.uqHead = (c.uqHead + 1) % len(c.uq)
		c.uqLen--
		c.drop(netcode.DropQueueFull)
	}
	i := (c.uqHead + c.uqLen) % len(c.uq)
	c.uq[i] = append(c.uq[i][:0], msg...)
	c.uqLen++
	signal(c.wake)
	c.readyLocked()
}

// tickLocked runs on the endpoint's timer loop: idle timeout, receive
// reports and heartbeats, and the redundancy controller's clock.
func (c *Conn) tickLocked(now time.Time) {
	t := c.ep.nanos(now)
	if idle := time.Duration(t - c.lastRecv); idle > c.cfg.IdleTimeout {
		c.finishLocked(&netcode.CodedError{Code: netcode.CodeIdleTimeout, Msg: fmt.Sprintf("nothing heard for %v", idle.Round(time.Millisecond)), Err: netcode.ErrIdleTimeout},
			&control{Type: ctlClose, Code: netcode.CodeIdleTimeout, Reason: "idle timeout"})
		return
	}
	if c.sc != nil && c.pn >= pnCloseAt && c.pn != ^uint32(0) {
		// Packet numbers never wrap under one key: the client reconnects.
		c.finishLocked(&netcode.CodedError{Code: netcode.CodeInternal, Msg: "packet numbers exhausted", Err: netcode.ErrClosed},
			&control{Type: ctlClose, Code: netcode.CodeInternal, Reason: "packet numbers exhausted"})
		return
	}
	c.red.tick(now)
	report := c.reportDue(time.Duration(t - c.lastReport))
	beat := time.Duration(t-c.lastSent) >= c.cfg.HeartbeatInterval
	if report || beat {
		c.rxSince = 0
		c.lastReport = t
		c.stageControlLocked(now, control{Type: ctlHeartbeat, RecvMax: c.rx.max, RecvCount: c.rx.count})
	}
	if c.rxSince == 0 && !c.red.haveLoss {
		// Nothing to report and no loss estimate to step: nothing to
		// do before the heartbeat or the idle timeout, unless a
		// datagram arrives first (onDatagramLocked).
		c.setTickAtLocked(min(c.lastRecv+int64(c.cfg.IdleTimeout), c.lastSent+int64(c.cfg.HeartbeatInterval)))
	} else {
		c.setTickAtLocked(0)
	}
}

// setTickAtLocked sets when the timer loop next looks at the session
// (endpoint nanos; 0: at its next tick). An ended session is no longer
// on the loop.
func (c *Conn) setTickAtLocked(at int64) {
	if !c.ended {
		c.ep.conns[c.slot].tickAt = at
	}
}

// reportDue says whether a receive report is due, since after the last
// one: ReportInterval has passed and the datagrams heard since then cover
// half a loss sample (MinSamples/2), or reportMaxGaps intervals have passed
// and they cover a quarter sample (MinSamples/4, what the peer needs to
// drop its starting guess). A busy session thus reports every
// ReportInterval; a sparse one (a 30 Hz game stream) about 4 times a
// second instead of 20, since the peer cannot form a loss sample from
// fewer datagrams anyway; fewer datagrams than a quarter sample (a
// handshake's, a lone chat message's) wait for the next report or
// heartbeat, which counts them too (reports are cumulative).
func (c *Conn) reportDue(since time.Duration) bool {
	r := c.cfg.Redundancy
	if c.rxSince == 0 || since < r.ReportInterval {
		return false
	}
	return c.rxSince >= uint32(max(r.MinSamples/2, 1)) ||
		(since >= reportMaxGaps*r.ReportInterval && c.rxSince >= uint32(max(r.MinSamples/4, 1)))
}

// reportMaxGaps bounds the wait of a sparse session's report, in
// ReportIntervals.
const reportMaxGaps = 4
