package loop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	kcpgo "github.com/xtaci/kcp-go/v5"
)

// Errors of Send and Recv.
var (
	// ErrWindowFull: the session already holds a send window of
	// unacknowledged segments. The message is refused, not queued: the
	// caller's drop policy decides (tickwire disconnects a client whose
	// reliable queue overflows). The loop never waits on a session.
	ErrWindowFull = errors.New("loop: send window full")
	// ErrRemoved: the session was removed from its Loop.
	ErrRemoved = errors.New("loop: session removed")
	// ErrTooLarge: the message needs more than 255 KCP segments.
	ErrTooLarge = errors.New("loop: message too large for KCP")
	// ErrShortBuffer: the next message is longer than the buffer given
	// to Recv (PeekSize tells its size).
	ErrShortBuffer = errors.New("loop: buffer shorter than the next message")
	// ErrBadPacket: Input was given bytes the KCP core rejects (a wrong
	// conv, a truncated segment, an unknown command).
	ErrBadPacket = errors.New("loop: malformed KCP packet")
)

// Config configures a Loop. The zero value means the defaults, which are
// tickwire's ProfileLowLatency (kcptun's "fast3").
type Config struct {
	// Interval is the KCP update interval: how often a core with data in
	// flight is flushed (retransmissions, window probes). Default 10 ms;
	// kcp-go clamps it to 10 ms..5 s.
	Interval time.Duration
	// AckDelay is how long an acknowledgement may wait for data to ride
	// on: a session that only owes ACKs is flushed AckDelay after the
	// datagram that made it owe them, unless a Send flushes it sooner.
	// Default: Interval (what a UDPSession's timer gives). Negative: no
	// delay, ACKs go with the next Flush.
	AckDelay time.Duration
	// MaxAckHold lets the ACKs of a session that sends data at a steady
	// rate (a room's ticks) wait for its next expected send instead of
	// AckDelay, when that send is at most MaxAckHold away: the tick to a
	// member then carries the ACK of its input, one datagram instead of
	// two. The peer's RTT samples include the wait, so its retransmission
	// timeout grows with it. 0 (default): off.
	MaxAckHold time.Duration
	// SlowRTO keeps KCP's normal minimum RTO (100 ms) instead of no-delay
	// mode's 30 ms.
	SlowRTO bool
	// FastResend retransmits after this many duplicate ACKs (default 2;
	// negative: off).
	FastResend int
	// Congestion turns KCP's congestion window on (default off).
	Congestion bool
	// SendWindow and RecvWindow are in segments (default 256 each).
	SendWindow, RecvWindow int
	// MTU is the largest KCP packet (segments and headers), without the
	// Headroom (default 1200).
	MTU int
	// Headroom is the number of bytes reserved in front of each datagram
	// for the caller's header (default 0).
	Headroom int
	// Tailroom is spare capacity left behind each datagram (beyond
	// len(B)) for what the caller appends in place, such as an AEAD tag
	// (default 0).
	Tailroom int
}

func (c Config) withDefaults() (Config, error) {
	if c.Interval == 0 {
		c.Interval = 10 * time.Millisecond
	}
	if c.AckDelay == 0 {
		c.AckDelay = c.Interval
	}
	if c.MaxAckHold < 0 {
		c.MaxAckHold = 0
	}
	if c.FastResend == 0 {
		c.FastResend = 2
	}
	if c.SendWindow == 0 {
		c.SendWindow = 256
	}
	if c.RecvWindow == 0 {
		c.RecvWindow = 256
	}
	if c.MTU == 0 {
		c.MTU = 1200
	}
	switch {
	case c.Interval < 0 || c.SendWindow < 0 || c.RecvWindow < 0 || c.Headroom < 0 || c.Tailroom < 0:
		return c, fmt.Errorf("loop: negative setting: %w", ErrBadConfig)
	case c.MTU <= kcpgo.IKCP_OVERHEAD || c.MTU+c.Headroom+c.Tailroom > maxChunk:
		return c, fmt.Errorf("loop: MTU %d with headroom %d outside %d..%d: %w", c.MTU, c.Headroom, kcpgo.IKCP_OVERHEAD+1, maxChunk, ErrBadConfig)
	}
	return c, nil
}

// ErrBadConfig: a Config field is out of range.
var ErrBadConfig = errors.New("loop: bad config")

// Datagram is one packet to write: B is Headroom bytes for the caller's
// header followed by one KCP packet, for Session at Addr.
type Datagram struct {
	Session *Session
	Addr    netip.AddrPort
	B       []byte
}

// Session is one KCP session owned by a Loop.
type Session struct {
	// ID is the caller's name for the session (tickwire: its token); the
	// Loop does not read it.
	ID   uint64
	Addr netip.AddrPort
	// Owner is the caller's (tickwire: the session's Conn); the Loop does
	// not read it.
	Owner any
	// AckWithin, when positive, bounds how long the ACKs the core owes
	// after an Input may wait for data to ride on (AckDelay and the
	// steady-rate hold still apply when sooner). The caller sets it while
	// the peer is expected to send redundant copies of what it has not
	// seen acknowledged: an ACK that beats the copy saves the copy.
	AckWithin time.Duration

	loop    *Loop
	kcp     *kcpgo.KCP
	due     time.Time // when the core next needs a flush; valid while idx >= 0
	idx     int       // position in the due heap, -1 when not scheduled
	dirty   bool      // in Loop.dirty: a Send since the last Flush
	removed bool
	// lastData is when a Flush last carried a Send of this session;
	// period, the smoothed interval between such flushes while they come
	// at most MaxAckHold apart (0: no steady rate).
	lastData time.Time
	period   time.Duration
	// ackBy is the latest time the ACKs the core owes may leave (zero
	// when it owes none).
	ackBy time.Time
	// held is ACK-only output the core made inside Input (kcp-go flushes
	// at once when a packet acknowledges our data): it waits, at most
	// AckDelay, to ride in front of the session's next datagram.
	held []byte

	refused uint64 // Sends refused on a full window
}

// Loop owns many sessions' KCP cores and collects their output. It is
// not safe for concurrent use.
type Loop struct {
	cfg   Config
	tmpl  *kcpgo.KCP // every session's core starts as a copy of it (rings.go); never used itself
	heap  []*Session // due-time min-heap of sessions with work pending
	dirty []*Session // sessions sent to since the last Flush
	out   []Datagram // output collected since the last Flush returned
	arena Arena
	// handed is set when Flush returns out: the next call that emits
	// starts a new batch (reusing the buffers).
	handed bool
	count  int
	// inInput is the session whose Input is running: its ACK-only
	// output is held instead of emitted.
	inInput *Session
	// merging is the session being flushed: its held ACKs go in front
	// of its first datagram.
	merging *Session

	stats Stats
}

// Stats are a Loop's counters.
type Stats struct {
	Sessions  int    // sessions now
	Flushes   uint64 // core flushes (due or sent to)
	Datagrams uint64 // datagrams emitted
	Refused   uint64 // Sends refused with ErrWindowFull
	BadInput  uint64 // Inputs refused with ErrBadPacket
	// HeldAcks counts ACK-only packets Input made that were held;
	// MergedAcks those of them that rode on a later datagram of their
	// session instead of going alone.
	HeldAcks, MergedAcks uint64
}

// New returns an empty Loop.
func New(cfg Config) (*Loop, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Loop{cfg: c}
	l.tmpl = l.tune(kcpgo.NewKCP(0, nil))
	return l, nil
}

// Add creates a session with the given conv (which both ends must share)
// for a peer at addr.
func (l *Loop) Add(id uint64, conv uint32, addr netip.AddrPort) *Session {
	s := &Session{ID: id, Addr: addr, loop: l, idx: -1}
	out := func(buf []byte, size int) { l.emit(s, buf[:size]) }
	if layoutOK {
		s.kcp = newCore(l.tmpl, l.cfg.MTU, conv, out)
	} else {
		s.kcp = l.tune(kcpgo.NewKCP(conv, out))
	}
	l.count++
	return s
}

// tune applies the Loop's configuration to a fresh core.
func (l *Loop) tune(k *kcpgo.KCP) *kcpgo.KCP {
	c := l.cfg
	nodelay := 1
	if c.SlowRTO {
		nodelay = 0
	}
	nc := 1
	if c.Congestion {
		nc = 0
	}
	k.NoDelay(nodelay, int(c.Interval/time.Millisecond), max(c.FastResend, 0), nc)
	k.WndSize(c.SendWindow, c.RecvWindow)
	k.SetMtu(c.MTU) // validated in withDefaults: cannot fail
	return k
}

// Remove forgets s: it is taken out of the due heap, the next Flush
// skips it, and Send, Input and Recv on it fail with ErrRemoved.
// Datagrams s emitted before Remove stay in the batch (a session's last
// words, such as a close, still go out); a batch already returned by
// Flush is not touched. Remove is idempotent.
func (l *Loop) Remove(s *Session) {
	if s.removed || s.loop != l {
		return
	}
	s.removed = true
	if s.idx >= 0 {
		l.heapRemove(s.idx)
	}
	l.count--
}

// Input feeds one KCP packet from s's peer to its core. The core may
// emit at once: kcp-go flushes (ACKs owed included) whenever the packet
// acknowledges data of ours, and when many ACKs are owed; otherwise the
// ACKs it now owes go with the next Flush at or after now+AckDelay, or
// sooner with data.
func (l *Loop) Input(s *Session, pkt []byte, now time.Time) error {
	if s.removed {
		return ErrRemoved
	}
	if l.cfg.AckDelay >= 0 {
		l.inInput = s
	}
	r := s.kcp.Input(pkt, kcpgo.IKCP_PACKET_REGULAR, false)
	l.inInput = nil
	if r < 0 {
		l.stats.BadInput++
		return fmt.Errorf("loop: kcp input %d: %w", r, ErrBadPacket)
	}
	if s.idx >= 0 && s.kcp.WaitSnd() == 0 {
		// Nothing of ours in flight any more: the retransmission check
		// it was due for is moot, and must not flush owed ACKs early.
		l.heapRemove(s.idx)
	}
	switch {
	case l.cfg.AckDelay < 0:
		l.markDirty(s)
	case len(s.held) > 0 || carriesData(pkt):
		if due := l.ackDue(s, now); s.ackBy.IsZero() || due.Before(s.ackBy) {
			s.ackBy = due
		}
	}
	if !s.ackBy.IsZero() {
		l.schedule(s, s.ackBy)
	}
	return nil
}

// ackSlack is how long after a steady session's expected send its ACKs
// still wait, for a send that comes a little late.
const ackSlack = 2 * time.Millisecond

// ackDue is when the ACKs s now owes must leave: AckDelay after now, or,
// for a session that sends at a steady rate, just after its next
// expected send when that is within MaxAckHold; never later than
// s.AckWithin after now when that is set.
func (l *Loop) ackDue(s *Session, now time.Time) time.Time {
	due := l.holdDue(s, now)
	if s.AckWithin > 0 {
		if by := now.Add(s.AckWithin); by.Before(due) {
			return by
		}
	}
	return due
}

// holdDue is ackDue without the session's AckWithin bound.
func (l *Loop) holdDue(s *Session, now time.Time) time.Time {
	due := now.Add(l.cfg.AckDelay)
	if s.period <= 0 || l.cfg.MaxAckHold <= l.cfg.AckDelay || now.Sub(s.lastData) > l.cfg.MaxAckHold {
		return due
	}
	next := s.lastData.Add(s.period)
	for next.Before(now) { // at most MaxAckHold/period steps
		next = next.Add(s.period)
	}
	if at := next.Add(ackSlack); at.After(due) && at.Sub(now) <= l.cfg.MaxAckHold {
		return at
	}
	return due
}

// carriesData reports whether the KCP packet p holds a segment the core
// must acknowledge (data, or a window probe).
func carriesData(p []byte) bool {
	for len(p) >= kcpgo.IKCP_OVERHEAD {
		switch p[4] {
		case kcpgo.IKCP_CMD_PUSH, kcpgo.IKCP_CMD_WASK:
			return true
		}
		n := int(binary.LittleEndian.Uint32(p[20:]))
		if n < 0 || n > len(p)-kcpgo.IKCP_OVERHEAD {
			return false
		}
		p = p[kcpgo.IKCP_OVERHEAD+n:]
	}
	return false
}

// Send queues one message on s; it goes out with the next Flush. A
// message larger than the MSS is fragmented (at most 255 segments). The
// message is copied.
func (l *Loop) Send(s *Session, msg []byte) error {
	if s.removed {
		return ErrRemoved
	}
	if s.kcp.WaitSnd() >= l.cfg.SendWindow {
		s.refused++
		l.stats.Refused++
		return ErrWindowFull
	}
	switch s.kcp.Send(msg) {
	case 0:
	case -2:
		return ErrTooLarge
	default: // -1: an empty message; KCP has no way to carry one
		return fmt.Errorf("loop: empty message: %w", ErrTooLarge)
	}
	l.markDirty(s)
	return nil
}

// Recv copies s's next complete message into buf and returns its length;
// 0 and nil when none is ready.
func (l *Loop) Recv(s *Session, buf []byte) (int, error) {
	if s.removed {
		return 0, ErrRemoved
	}
	switch n := s.kcp.Recv(buf); n {
	case -1:
		return 0, nil
	case -2:
		return 0, ErrShortBuffer
	default:
		return n, nil
	}
}

// PeekSize is the length of s's next complete message, or -1.
func (s *Session) PeekSize() int { return s.kcp.PeekSize() }

// Pending is the number of s's segments not yet acknowledged (queued or
// in flight).
func (s *Session) Pending() int { return s.kcp.WaitSnd() }

// Refused is the number of s's Sends refused with ErrWindowFull.
func (s *Session) Refused() uint64 { return s.refused }

// Scheduled reports whether s is in the due heap, and when it is due.
func (s *Session) Scheduled() (time.Time, bool) { return s.due, s.idx >= 0 }

// Flush flushes the cores sent to since the last Flush and those due at
// now, and returns every datagram emitted since the last Flush returned
// (including those Input emitted), in the order they were emitted. The
// slice and its buffers stay valid until the next Input or Flush.
func (l *Loop) Flush(now time.Time) []Datagram {
	l.startBatch()
	for i, s := range l.dirty {
		l.dirty[i] = nil
		s.dirty = false
		if !s.removed {
			l.notePeriod(s, now)
			l.flushCore(s, now)
		}
	}
	l.dirty = l.dirty[:0]
	for len(l.heap) > 0 && !l.heap[0].due.After(now) {
		l.flushCore(l.heap[0], now)
	}
	l.handed = true
	return l.out
}

// notePeriod learns the rate at which s sends data (a Flush after Send).
func (l *Loop) notePeriod(s *Session, now time.Time) {
	if l.cfg.MaxAckHold <= 0 {
		return
	}
	iv := now.Sub(s.lastData)
	switch {
	case s.lastData.IsZero() || iv > l.cfg.MaxAckHold:
		s.period = 0
	case iv <= 0:
	case s.period == 0:
		s.period = iv
	default:
		s.period += (iv - s.period) / 4
	}
	s.lastData = now
}

// NextDue is the earliest time a session needs a Flush; false when no
// session has anything pending.
func (l *Loop) NextDue() (time.Time, bool) {
	if len(l.dirty) > 0 { // a Send is waiting: due now (any past time works)
		return time.Time{}, true
	}
	if len(l.heap) == 0 {
		return time.Time{}, false
	}
	return l.heap[0].due, true
}

// Stats returns the Loop's counters.
func (l *Loop) Stats() Stats {
	st := l.stats
	st.Sessions = l.count
	return st
}

// flushCore runs one core's flush and reschedules it: at the delay the
// core asks for while segments are unacknowledged, else nowhere (an idle
// session costs nothing until Input or Send).
func (l *Loop) flushCore(s *Session, now time.Time) {
	l.merging = s
	next := kcpFlush(s.kcp, kcpgo.IKCP_FLUSH_FULL)
	l.merging = nil
	s.ackBy = time.Time{} // a flush sends every ACK owed
	if len(s.held) > 0 {  // nothing to ride on: the ACKs go alone
		l.emitHeld(s)
	}
	l.stats.Flushes++
	if s.idx >= 0 {
		l.heapRemove(s.idx)
	}
	if s.kcp.WaitSnd() > 0 {
		l.schedule(s, now.Add(time.Duration(max(next, 1))*time.Millisecond))
	}
}

func (l *Loop) markDirty(s *Session) {
	if !s.dirty {
		s.dirty = true
		l.dirty = append(l.dirty, s)
	}
}

// emit is every core's output callback: it copies the packet behind the
// headroom into the batch arena.
func (l *Loop) emit(s *Session, p []byte) {
	if l.inInput == s && ackOnly(p) {
		if len(s.held)+len(p) > l.cfg.MTU { // a full packet of ACKs goes now
			l.emitHeld(s)
		}
		s.held = append(s.held, p...)
		l.stats.HeldAcks++
		return
	}
	l.startBatch()
	var b []byte
	if l.merging == s && len(s.held) > 0 && len(s.held)+len(p) <= l.cfg.MTU {
		b = l.alloc(len(s.held) + len(p))
		n := copy(b[l.cfg.Headroom:], s.held)
		copy(b[l.cfg.Headroom+n:], p)
		s.held = s.held[:0]
		l.stats.MergedAcks++
	} else {
		if len(s.held) > 0 {
			l.emitHeld(s)
		}
		b = l.alloc(len(p))
		copy(b[l.cfg.Headroom:], p)
	}
	l.out = append(l.out, Datagram{Session: s, Addr: s.Addr, B: b})
	l.stats.Datagrams++
}

// emitHeld sends s's held ACKs as a datagram of their own.
func (l *Loop) emitHeld(s *Session) {
	l.startBatch()
	b := l.alloc(len(s.held))
	copy(b[l.cfg.Headroom:], s.held)
	s.held = s.held[:0]
	l.out = append(l.out, Datagram{Session: s, Addr: s.Addr, B: b})
	l.stats.Datagrams++
}

// alloc returns a datagram buffer for an n-byte KCP packet: Headroom in
// front, Tailroom of spare capacity behind.
func (l *Loop) alloc(n int) []byte {
	return l.arena.Alloc(l.cfg.Headroom + n + l.cfg.Tailroom)[:l.cfg.Headroom+n]
}

// ackOnly reports whether the KCP packet p holds nothing but ACK
// segments (24-byte headers, no data).
func ackOnly(p []byte) bool {
	if len(p) == 0 || len(p)%kcpgo.IKCP_OVERHEAD != 0 {
		return false
	}
	for i := 0; i < len(p); i += kcpgo.IKCP_OVERHEAD {
		if p[i+4] != kcpgo.IKCP_CMD_ACK {
			return false
		}
	}
	return true
}

// startBatch begins a new batch once the previous one has been handed
// out: its slice and buffers are reused from here on.
func (l *Loop) startBatch() {
	if !l.handed {
		return
	}
	l.handed = false
	clear(l.out)
	l.out = l.out[:0]
	l.arena.Reset()
}

// schedule makes s due no later than at.
func (l *Loop) schedule(s *Session, at time.Time) {
	if s.idx >= 0 {
		if !at.Before(s.due) {
			return
		}
		s.due = at
		l.up(s.idx)
		return
	}
	s.due = at
	s.idx = len(l.heap)
	l.heap = append(l.heap, s)
	l.up(s.idx)
}

// The due heap: a binary min-heap on Session.due with positions kept in
// Session.idx, so that Remove and reschedule are O(log n).

func (l *Loop) heapRemove(i int) {
	h := l.heap
	last := len(h) - 1
	s := h[i]
	if i != last {
		h[i] = h[last]
		h[i].idx = i
	}
	h[last] = nil
	l.heap = h[:last]
	s.idx = -1
	if i < last {
		if !l.down(i) {
			l.up(i)
		}
	}
}

func (l *Loop) up(i int) {
	h := l.heap
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].due.Before(h[p].due) {
			break
		}
		h[i], h[p] = h[p], h[i]
		h[i].idx, h[p].idx = i, p
		i = p
	}
}

func (l *Loop) down(i int) bool {
	h := l.heap
	start := i
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && h[r].due.Before(h[c].due) {
			c = r
		}
		if !h[c].due.Before(h[i].due) {
			break
		}
		h[i], h[c] = h[c], h[i]
		h[i].idx, h[c].idx = i, c
		i = c
	}
	return i > start
}

// Arena hands out byte buffers from fixed chunks that never move, so a
// buffer stays valid while later ones are allocated; Reset reuses them.
// The Loop keeps its batch's datagrams in one; tickwire's endpoint keeps
// the datagrams it stages beside them in another. The zero value is
// ready.
type Arena struct {
	chunks [][]byte
	cur    int // index of the chunk being filled
	off    int // bytes used in it
}

// maxChunk is the size of an arena chunk, and so the largest datagram
// the Loop emits.
const maxChunk = 16 << 10

// keepChunks is how many chunks Reset keeps (1 MiB: a tick to a few
// thousand sessions reuses its buffers pass after pass); a burst beyond
// them does not pin its memory.
const keepChunks = 64

// Alloc returns n bytes valid until Reset (a larger request than a chunk
// gets a buffer of its own).
func (a *Arena) Alloc(n int) []byte {
	if n > maxChunk {
		return make([]byte, n)
	}
	if len(a.chunks) == 0 {
		a.chunks = append(a.chunks, make([]byte, maxChunk))
	}
	if a.off+n > maxChunk {
		a.cur++
		a.off = 0
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]byte, maxChunk))
		}
	}
	b := a.chunks[a.cur][a.off : a.off+n : a.off+n]
	a.off += n
	return b
}

// Reset makes every buffer handed out reusable.
func (a *Arena) Reset() {
	if len(a.chunks) > keepChunks {
		a.chunks = a.chunks[:keepChunks]
	}
	a.cur, a.off = 0, 0
}
