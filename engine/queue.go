package engine

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/tickwire/tickwire/netcode"
)

// outFrame is one encoded frame waiting for the session's writer. buf, if
// set, is the pooled buffer b lives in; the writer returns it to the pool
// once b is written (or dropped).
type outFrame struct {
	ch  netcode.Channel
	b   []byte
	buf *[]byte
}

// ring is a FIFO of frames bounded by max. Its array grows on demand
// (minRing slots first, then doubling, never past max) and shrinks back
// by half after shrinkAfter drains in a row used at most a quarter of it,
// so an idle session holds a few slots, not its capacity (1024 reliable
// and 256 unreliable frames by default, 40 bytes each). Growth happens on
// push (the producer's goroutine, amortised: one copy per doubling),
// shrinking on drain (the writer's). release drops the array altogether
// (direct mode: the transport's queue takes over). The bound is max, not
// the array: full, and so the overflow policies, never depend on how
// large the array happens to be.
type ring struct {
	items []outFrame
	head  int
	n     int
	max   int // capacity in frames; the overflow policies apply at max

	peak      int // most frames held since the last drain
	lowDrains int // drains in a row whose peak was at most a quarter of len(items)
}

const (
	minRing     = 4  // slots allocated by the first push
	shrinkAfter = 64 // drains in a row using at most a quarter of the array before it halves
)

func newRing(capacity int) ring { return ring{max: capacity} }

func (r *ring) full() bool { return r.n >= r.max }

// push appends f; the caller checked full.
func (r *ring) push(f outFrame) {
	if r.n == len(r.items) {
		r.resize(min(max(2*len(r.items), minRing), r.max))
	}
	r.items[(r.head+r.n)%len(r.items)] = f
	r.n++
	r.peak = max(r.peak, r.n)
}

func (r *ring) pop() outFrame {
	f := r.items[r.head]
	r.items[r.head] = outFrame{}
	r.head = (r.head + 1) % len(r.items)
	r.n--
	return f
}

// resize moves the frames into a new array of size slots (at least n),
// oldest first.
func (r *ring) resize(size int) {
	items := make([]outFrame, size)
	for i := range r.n {
		items[i] = r.items[(r.head+i)%len(r.items)]
	}
	r.items, r.head = items, 0
}

// drained is called once the ring was emptied: it halves an array that
// has been mostly unused for shrinkAfter drains in a row.
func (r *ring) drained() {
	if len(r.items) > minRing && r.peak <= len(r.items)/4 {
		if r.lowDrains++; r.lowDrains >= shrinkAfter {
			r.resize(len(r.items) / 2)
			r.lowDrains = 0
		}
	} else {
		r.lowDrains = 0
	}
	r.peak = 0
}

// release drops the (empty) ring's array; a later push allocates anew.
func (r *ring) release() {
	r.items, r.head, r.peak, r.lowDrains = nil, 0, 0, 0
}

// sendQueue holds a session's outgoing frames: a bounded reliable FIFO
// whose overflow is fatal to the session (policy: disconnect the slow
// consumer) and a bounded unreliable ring that drops its oldest frame to
// make room (policy: newest wins). Producers are any goroutine; the
// consumer is the session's writer or, on a session without one,
// goDirect and finishLoop.
//
// On a Conn that is a netcode.Queuer the queue is in direct mode: offer
// hands every frame to the transport at once instead of queueing it (the
// transport's own bounded queue takes over; its overflow is still fatal).
// Only hello leaves it (hold), so that the Welcome and what services send
// during PeerOpened wait in the rings, and goes back
// (session.goDirect): what is queued goes to the transport, then direct
// is set. Both the switch and every hand-off run under mu, so a frame is
// handed over only after every frame queued before it, and none is
// handed over after close.
// Lock order: mu, then the transport's locks (a transport never calls
// into the engine while holding them).
type sendQueue struct {
	mu     sync.Mutex // guards the fields below, and serialises hand-offs to qr
	rel    ring
	unrel  ring
	closed bool           // no more frames accepted
	qr     netcode.Queuer // the Conn as a Queuer, nil for any other Conn; set before the session runs
	one    [1][]byte      // one frame for qr.QueueMessages, without an allocation

	// direct: frames go straight to qr. Written under mu; read under mu
	// to decide where a frame goes, and without it only as a hint
	// (whether a Flush can have anything to send).
	direct atomic.Bool
}

// hold leaves direct mode until goDirect: frames queue in the rings.
func (q *sendQueue) hold() {
	q.mu.Lock()
	q.direct.Store(false)
	q.mu.Unlock()
}

// pushResult tells the producer what happened to its frame.
type pushResult uint8

const (
	pushed         pushResult = iota
	pushedDropped             // queued; the oldest unreliable frame was dropped (returned)
	rejectedClosed            // the queue is closed; the frame was not queued
	rejectedFull              // the reliable queue (direct: the transport's queue) is full; the frame was not queued

	// Outcomes of a hand-off to the transport in direct mode.
	handed           // the transport took the frame
	handedPromoted   // an unreliable frame too large for one datagram went on the reliable channel
	rejectedTooLarge // too large even for the reliable channel (an unreliable frame was promoted first); dropped
	rejectedEnded    // the Conn has ended; the error says why
)

// push queues f. When an unreliable frame pushed out an older one, the
// dropped frame is returned so the caller can release its buffer. It
// never hands a frame to the transport (see offer).
func (q *sendQueue) push(f outFrame) (pushResult, outFrame) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return rejectedClosed, outFrame{}
	}
	return q.pushLocked(f)
}

// offer is push in queue mode and a hand-off to the transport in direct
// mode; err is the transport's error for rejectedFull and rejectedEnded
// in direct mode. The caller counts the outcome and releases f's buffer
// once it is handed over or rejected.
func (q *sendQueue) offer(f outFrame) (pushResult, outFrame, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return rejectedClosed, outFrame{}, nil
	}
	if q.direct.Load() {
		res, err := q.handLocked(f)
		return res, outFrame{}, err
	}
	res, dropped := q.pushLocked(f)
	return res, dropped, nil
}

func (q *sendQueue) pushLocked(f outFrame) (pushResult, outFrame) {
	if f.ch == netcode.Reliable {
		if q.rel.full() {
			return rejectedFull, outFrame{}
		}
		q.rel.push(f)
		return pushed, outFrame{}
	}
	if q.unrel.max == 0 {
		return pushedDropped, f // a zero-capacity ring drops everything
	}
	var dropped outFrame
	res := pushed
	if q.unrel.full() {
		dropped = q.unrel.pop()
		res = pushedDropped
	}
	q.unrel.push(f)
	return res, dropped
}

// handLocked hands f to the transport; mu is held. A frame the transport
// refuses as too large does not end the session, as in session.write: an
// unreliable one goes on the reliable channel instead, which fragments; a
// reliable one is dropped. ErrQueueFull is rejectedFull (the caller
// closes the slow consumer); any other error means the Conn has ended.
func (q *sendQueue) handLocked(f outFrame) (pushResult, error) {
	q.one[0] = f.b
	res := handed
	err := q.qr.QueueMessages(f.ch, q.one[:])
	if errors.Is(err, netcode.ErrMessageTooLarge) && f.ch == netcode.Unreliable {
		res = handedPromoted
		err = q.qr.QueueMessages(netcode.Reliable, q.one[:])
	}
	q.one[0] = nil
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, netcode.ErrMessageTooLarge):
		return rejectedTooLarge, nil
	case errors.Is(err, netcode.ErrQueueFull):
		return rejectedFull, err
	}
	return rejectedEnded, err
}

// drain moves every queued frame, reliable ones first, into batch.
func (q *sendQueue) drain(batch []outFrame) []outFrame {
	q.mu.Lock()
	batch = q.drainLocked(batch)
	q.mu.Unlock()
	return batch
}

func (q *sendQueue) drainLocked(batch []outFrame) []outFrame {
	if q.rel.n+q.unrel.n == 0 {
		return batch // a wake-up that found nothing is no drain
	}
	for q.rel.n > 0 {
		batch = append(batch, q.rel.pop())
	}
	for q.unrel.n > 0 {
		batch = append(batch, q.unrel.pop())
	}
	q.rel.drained()
	q.unrel.drained()
	return batch
}

// close stops the queue from accepting frames; queued ones stay for drain.
// A hand-off in progress finishes first (it holds mu), so in direct mode
// every frame handed over precedes whatever the writer sends after close.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
