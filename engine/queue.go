package engine

import (
	"sync"

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
type sendQueue struct {
	mu     sync.Mutex // guards the fields below
	rel    ring
	unrel  ring
	closed bool // no more frames accepted
}

// pushResult tells the producer what happened to its frame.
type pushResult uint8

const (
	pushed         pushResult = iota
	pushedDropped             // queued; the oldest unreliable frame was dropped (returned)
	rejectedClosed            // the queue is closed; the frame was not queued
	rejectedFull              // the reliable queue is full; the frame was not queued
)

// push queues f. When an unreliable frame pushed out an older one, the
// dropped frame is returned so the caller can release its buffer.
func (q *sendQueue) push(f outFrame) (pushResult, outFrame) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return rejectedClosed, outFrame{}
	}
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

// drain moves every queued frame, reliable ones first, into batch.
func (q *sendQueue) drain(batch []outFrame) []outFrame {
	q.mu.Lock()
	for q.rel.n > 0 {
		batch = append(batch, q.rel.pop())
	}
	for q.unrel.n > 0 {
		batch = append(batch, q.unrel.pop())
	}
	q.mu.Unlock()
	return batch
}

// close stops the queue from accepting frames; queued ones stay for drain.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
