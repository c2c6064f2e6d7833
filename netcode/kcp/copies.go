package kcp

import (
	"encoding/binary"
	"time"
)

// Deferred redundant copies (issue 11, point 4).
//
// A KCP datagram that the redundancy controller wants copied (its level,
// or the sparse floor) is not copied back to back: copy i (0-based) waits
// copyDelay(i) after its original and leaves with the first pass of the
// endpoint that reaches that time (a read batch, a writer's Flush, or the
// timer loop, which wakes for the earliest). When it is due it is sent
// only if
//
//   - its session is still live,
//   - a PUSH segment it carries is still unacknowledged (the peer's
//     cumulative una has not passed it): on a path whose ACKs come back
//     within the delay, a copy of a datagram that arrived is never sent,
//     so most copies cost nothing; and
//   - the session's redundancy budget allows its bytes.
//
// A copy carries only the PUSH segments of its original: ACK segments
// are left out (a lost ACK delays no delivery; the una of the next
// datagram acknowledges cumulatively) and an ACK-only datagram gets no
// copy at all. Each copy is a KCP datagram with its own packet number
// (stageLocked), so receive reports still measure per-datagram loss.
//
// Why spaced: loss comes in bursts, and a copy sent right behind its
// original is lost with it; a copy a millisecond or more later falls
// outside a burst of a few datagrams of a busy link. docs/DECISIONS.md,
// "Redundancy that costs less", has the measurements.

// copyDelay is how long copy i (0-based) of a datagram waits after its
// original: 0.5, 1.5, 3, 5 ms. The first is short because it decides the
// loss tail (p99 at 5 % loss); the later ones are spread further so that
// a burst that took the original and the first copy is likely over.
func copyDelay(i int) time.Duration {
	return copyDelays[min(i, len(copyDelays)-1)]
}

var copyDelays = [...]time.Duration{500 * time.Microsecond, 1500 * time.Microsecond, 3 * time.Millisecond, 5 * time.Millisecond}

// firstFlightSlack is how long after the peer's ACK delay the copy of a
// datagram sent before any of the session's data was acknowledged waits
// (see copyQueue.first).
const firstFlightSlack = 2 * time.Millisecond

// maxPendingCopies bounds an endpoint's deferred copies. A full queue
// refuses new copies (counted as overflow): copies are optional, and the
// pending ones are due soonest.
const maxPendingCopies = 4096

// keepCopyBuffers bounds the spare copy buffers an endpoint keeps.
const keepCopyBuffers = 256

// copyOutcome is what became of a due copy.
type copyOutcome uint8

const (
	copySent     copyOutcome = iota // staged in the pass's batch
	copyAcked                       // everything it carries was acknowledged: not needed
	copyNoBudget                    // the session's redundancy budget refused its bytes
	copyEnded                       // the session ended meanwhile
)

// copySink is the session a deferred copy belongs to. The queue is
// sans-IO: it keeps copies and decides when they are due; the session
// decides whether a due copy goes and stages it.
type copySink interface {
	// sendCopyLocked sends b (sessionHeaderSize bytes of room, then KCP
	// PUSH segments, the newest with sn top) if it is still needed.
	sendCopyLocked(now time.Time, top uint32, b []byte) copyOutcome
}

// pendingCopy is one deferred copy.
type pendingCopy struct {
	s   copySink
	due time.Time
	top uint32 // newest PUSH sn it carries
	b   []byte // header room, then the PUSH segments; owned by the queue
}

// copyFIFO holds the copies of one index (one delay) in due order: every
// copy of an index has the same delay, so scheduling order is due order.
type copyFIFO struct {
	q    []pendingCopy
	head int
}

func (f *copyFIFO) len() int { return len(f.q) - f.head }

func (f *copyFIFO) push(p pendingCopy) {
	if f.head > 0 && f.head == len(f.q) { // drained: reuse from the start
		f.q, f.head = f.q[:0], 0
	} else if f.head > 64 && f.head*2 > len(f.q) { // mostly consumed: compact
		n := copy(f.q, f.q[f.head:])
		clear(f.q[n:])
		f.q, f.head = f.q[:n], 0
	}
	f.q = append(f.q, p)
}

func (f *copyFIFO) peek() *pendingCopy { return &f.q[f.head] }

func (f *copyFIFO) pop() pendingCopy {
	p := f.q[f.head]
	f.q[f.head] = pendingCopy{}
	f.head++
	return p
}

// copyStats counts an endpoint's deferred copies.
type copyStats struct {
	Scheduled uint64 // copies queued
	Sent      uint64 // sent when due
	Acked     uint64 // dropped when due: already acknowledged
	NoBudget  uint64 // dropped when due: over the session's budget
	Ended     uint64 // dropped when due: the session had ended
	Overflow  uint64 // refused: maxPendingCopies were waiting
	NoData    uint64 // datagrams that wanted copies but carried no PUSH segment
}

// copyQueue is an endpoint's deferred copies, guarded by the endpoint's
// lmu like the rest of its loop state. Not safe for concurrent use.
type copyQueue struct {
	// delay is copyDelay unless a test sets another spacing (zero:
	// back to back, the behaviour before issue 11).
	delay func(i int) time.Duration
	// first is the delay of the one copy a datagram gets while its
	// session has had none of its data acknowledged (its first flight:
	// a handshake's Welcome, or the client's Hello): the peer's ACK
	// delay plus firstFlightSlack. A peer with nothing to send holds
	// its ACK that long (the loop's ACK delay), so a copy due after 1 ms
	// would always go; one due after the ACK goes only if the original
	// or the ACK was lost. Until then nothing repairs a loss sooner: the
	// core's first retransmission timeout is 200 ms (no RTT measured).
	first time.Duration
	// fifo[i] holds the copies of index i; fifo[maxRedundancyLevel] the
	// first flight's.
	fifo  [maxRedundancyLevel + 1]copyFIFO
	n     int      // copies waiting, every FIFO
	free  [][]byte // spare buffers
	stats copyStats
}

// firstDelay is how long the first copy of a datagram waits.
func (q *copyQueue) firstDelay() time.Duration {
	if q.delay != nil {
		return q.delay(0)
	}
	return copyDelay(0)
}

// scheduleLocked queues n copies of the KCP packet pkt (without our
// header), sent by the session s at now: copy i is due at now +
// copyDelay(i); in a first flight (first: none of the session's data
// acknowledged yet) one copy, due at now + q.first. Only the packet's
// PUSH segments are copied.
func (q *copyQueue) scheduleLocked(s copySink, now time.Time, n int, pkt []byte, first bool) {
	n = min(n, maxRedundancyLevel)
	if n <= 0 {
		return
	}
	delay := q.delay
	if delay == nil {
		delay = copyDelay
	}
	fifo := 0
	if first && q.delay == nil { // a test's spacing applies to every copy
		n, fifo = 1, maxRedundancyLevel
		delay = func(int) time.Duration { return q.first }
	}
	size, top, ok := pushSegments(pkt)
	if !ok {
		q.stats.NoData++
		return
	}
	for i := range n {
		if q.n >= maxPendingCopies {
			q.stats.Overflow += uint64(n - i)
			return
		}
		b := q.buffer(sessionHeaderSize + size)
		appendPushSegments(b[sessionHeaderSize:sessionHeaderSize], pkt)
		q.fifo[fifo+i].push(pendingCopy{s: s, due: now.Add(delay(i)), top: top, b: b})
		q.n++
		q.stats.Scheduled++
	}
}

// sendDueLocked hands every copy due at now to its session.
func (q *copyQueue) sendDueLocked(now time.Time) {
	if q.n == 0 {
		return
	}
	for i := range q.fifo {
		f := &q.fifo[i]
		for f.len() > 0 && !f.peek().due.After(now) {
			p := f.pop()
			q.n--
			switch p.s.sendCopyLocked(now, p.top, p.b) {
			case copySent:
				q.stats.Sent++
			case copyAcked:
				q.stats.Acked++
			case copyNoBudget:
				q.stats.NoBudget++
			case copyEnded:
				q.stats.Ended++
			}
			q.release(p.b)
		}
	}
}

// nextDue is when the earliest waiting copy is due; false when none is.
func (q *copyQueue) nextDue() (time.Time, bool) {
	var due time.Time
	ok := false
	if q.n == 0 {
		return due, false
	}
	for i := range q.fifo {
		f := &q.fifo[i]
		if f.len() == 0 {
			continue
		}
		if d := f.peek().due; !ok || d.Before(due) {
			due, ok = d, true
		}
	}
	return due, ok
}

func (q *copyQueue) buffer(n int) []byte {
	if k := len(q.free); k > 0 {
		b := q.free[k-1]
		q.free[k-1] = nil
		q.free = q.free[:k-1]
		if cap(b) >= n {
			return b[:n]
		}
	}
	return make([]byte, n, max(n, 128))
}

func (q *copyQueue) release(b []byte) {
	if len(q.free) < keepCopyBuffers {
		q.free = append(q.free, b[:0])
	}
}

// pushSegments walks the KCP packet p (kcp-go segments: conv 4, cmd 1,
// frg 1, wnd 2, ts 4, sn 4, una 4, len 4, data) and returns the bytes of
// its PUSH segments and the newest sn among them; ok is false when it
// has none.
func pushSegments(p []byte) (size int, top uint32, ok bool) {
	for len(p) >= kcpOverhead {
		n := int(binary.LittleEndian.Uint32(p[20:]))
		if n < 0 || n > len(p)-kcpOverhead {
			break
		}
		if p[4] == kcpCmdPush {
			sn := binary.LittleEndian.Uint32(p[12:])
			if !ok || seqNewer(sn, top) {
				top = sn
			}
			ok = true
			size += kcpOverhead + n
		}
		p = p[kcpOverhead+n:]
	}
	return size, top, ok
}

// appendPushSegments appends the PUSH segments of the KCP packet p to
// dst.
func appendPushSegments(dst, p []byte) []byte {
	for len(p) >= kcpOverhead {
		n := int(binary.LittleEndian.Uint32(p[20:]))
		if n < 0 || n > len(p)-kcpOverhead {
			break
		}
		if p[4] == kcpCmdPush {
			dst = append(dst, p[:kcpOverhead+n]...)
		}
		p = p[kcpOverhead+n:]
	}
	return dst
}

// sendCopyLocked implements copySink: a due copy goes if the session is
// live, the copy's newest PUSH segment is not yet acknowledged, and the
// budget allows it.
func (c *Conn) sendCopyLocked(now time.Time, top uint32, b []byte) copyOutcome {
	switch {
	case c.ended:
		return copyEnded
	case !c.unackedLocked(top):
		return copyAcked
	case !c.red.allow(now, len(b)):
		return copyNoBudget
	}
	c.stageCopyLocked(now, b)
	return copySent
}

// unackedLocked reports whether the peer has not yet acknowledged
// cumulatively the PUSH segment sn: the core's send buffer holds
// [una, newest sent], so una is the newest sn sent plus one minus the
// segments it holds. Segments still queued behind a full window count
// too, which only makes una look older (a copy sent that was not
// needed, never one withheld that was); a segment acknowledged
// selectively, ahead of una, still counts as unacknowledged for the
// same reason.
func (c *Conn) unackedLocked(sn uint32) bool {
	if !c.snStarted {
		return true
	}
	una := c.maxSN + 1 - uint32(c.ls.Pending())
	return !seqNewer(una, sn)
}
