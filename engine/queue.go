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

// ring is a fixed-capacity FIFO of frames.
type ring struct {
	items []outFrame
	head  int
	n     int
}

func newRing(capacity int) ring { return ring{items: make([]outFrame, capacity)} }

func (r *ring) full() bool { return r.n == len(r.items) }

func (r *ring) push(f outFrame) {
	r.items[(r.head+r.n)%len(r.items)] = f
	r.n++
}

func (r *ring) pop() outFrame {
	f := r.items[r.head]
	r.items[r.head] = outFrame{}
	r.head = (r.head + 1) % len(r.items)
	r.n--
	return f
}

// sendQueue holds a session's outgoing frames: a bounded reliable FIFO
// whose overflow is fatal to the session (policy: disconnect the slow
// consumer) and a bounded unreliable ring that drops its oldest frame to
// make room (policy: newest wins). Producers are any goroutine; the
// consumer is the session's writer.
//
// On a Conn that is a netcode.Queuer the session switches to direct mode
// once it is open (session.goDirect): the writer hands what is queued to
// the transport and sets direct, and from then on offer hands every frame
// to the transport at once instead of queueing it (the transport's own
// bounded queue takes over; its overflow is still fatal). Both the switch
// and every hand-off run under mu, so a frame is handed over only after
// every frame queued before it, and none is handed over after close.
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
	if len(q.unrel.items) == 0 {
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
	for q.rel.n > 0 {
		batch = append(batch, q.rel.pop())
	}
	for q.unrel.n > 0 {
		batch = append(batch, q.unrel.pop())
	}
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
