package longpoll

import (
	"fmt"
	"sync"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// transportName is what Transport, Conn.Transport and Stats report.
const transportName = "longpoll"

// inRec is a frame delivered and not yet read.
type inRec struct {
	ch   netcode.Channel
	body []byte
}

// pipe is what both ends of a session hold: the outbox of frames this end
// sends, the inbox position of frames it receives, the queue of received
// frames ReadMessage takes from, and the closing state. Everything in it
// is guarded by mu; no I/O happens under mu.
type pipe struct {
	lim  Config // limits (populated)
	mu   sync.Mutex
	out  outbox  // frames to the peer, until acknowledged
	in   inbox   // position in the peer's frames
	inq  []inRec // received, not yet read: inq[head:]
	head int
	// inqBytes is the body bytes in inq[head:].
	inqBytes int
	// closed is set once; cause is what ReadMessage returns after the
	// frames still queued (at once after a localClose: closedBy).
	closed   bool
	closedBy closer
	cause    error

	// readable wakes the one ReadMessage caller (coalesced, capacity 1).
	readable chan struct{}
	// changed is closed and replaced when the outbox gains a frame or
	// the state changes: it wakes a held recv (or the client's sender).
	changed chan struct{}
	// space is closed and replaced when the outbox or the received queue
	// frees room, or on close: it wakes writers waiting for the window.
	space chan struct{}

	ctr netcode.Counters // what Stats reports
}

func newPipe(lim Config) pipe {
	return pipe{
		lim:      lim,
		out:      newOutbox(lim.MaxUnackedFrames, lim.MaxUnackedBytes),
		in:       newInbox(),
		readable: make(chan struct{}, 1),
		changed:  make(chan struct{}),
		space:    make(chan struct{}),
	}
}

// broadcast closes *c and replaces it. The caller holds mu.
func broadcast(c *chan struct{}) {
	close(*c)
	*c = make(chan struct{})
}

// wakeReader signals the ReadMessage caller. Safe with or without mu.
func (p *pipe) wakeReader() {
	select {
	case p.readable <- struct{}{}:
	default:
	}
}

// readMessage returns the next received frame; see netcode.Conn.
func (p *pipe) readMessage() (netcode.Channel, []byte, error) {
	for {
		p.mu.Lock()
		if p.head < len(p.inq) && p.closedBy != localClose {
			r := p.inq[p.head]
			p.inq[p.head] = inRec{}
			p.head++
			p.inqBytes -= len(r.body)
			if p.head == len(p.inq) {
				p.inq, p.head = p.inq[:0], 0
			}
			broadcast(&p.space)
			p.mu.Unlock()
			p.ctr.MsgsRecv.Add(1)
			return r.ch, r.body, nil
		}
		if p.closed {
			err := p.cause
			p.mu.Unlock()
			return 0, nil, err
		}
		ch := p.readable
		p.mu.Unlock()
		<-ch
	}
}

// inqFits reports whether frames more frames of n body bytes fit in the
// received queue. The caller holds mu.
func (p *pipe) inqFits(frames, n int) bool {
	return len(p.inq)-p.head+frames <= p.lim.MaxUnackedFrames && p.inqBytes+n <= p.lim.MaxUnackedBytes
}

// deliverLocked applies the fresh records of a batch: data frames go to
// the received queue, a close record ends the session with a CloseError.
// It returns the close record's error when there was one. The caller holds
// mu and has checked inqFits.
func (p *pipe) deliverLocked(fresh []record) *netcode.CloseError {
	var ce *netcode.CloseError
	for _, r := range fresh {
		p.ctr.BytesRecv.Add(uint64(recordHeaderSize + len(r.body)))
		if r.typ == recClose {
			code, reason, err := decodeClose(r.body)
			if err != nil { // decodeBatch checked the length; cannot happen
				code, reason = netcode.CodeBadFrame, err.Error()
			}
			ce = &netcode.CloseError{Code: code, Reason: reason}
			break
		}
		p.inq = append(p.inq, inRec{ch: netcode.Channel(r.typ), body: r.body})
		p.inqBytes += len(r.body)
	}
	p.in.advance(len(fresh))
	if len(fresh) > 0 {
		p.wakeReader()
	}
	return ce
}

// dataBytes sums the bodies of the data records in recs.
func dataBytes(recs []record) (frames, n int) {
	for _, r := range recs {
		if r.typ != recClose {
			frames++
			n += len(r.body)
		}
	}
	return frames, n
}

// closer says who closed a pipe, which decides whether ReadMessage still
// returns the frames received before the close.
type closer uint8

const (
	peerClose  closer = iota // the peer, a protocol error or a timeout: queued frames are still read
	localClose               // the Conn's owner (or the listener) closed it: ReadMessage ends at once
)

// closeLocked marks the pipe closed with cause (once) and wakes everyone
// waiting on it. It reports whether this call closed it. The caller
// holds mu.
func (p *pipe) closeLocked(cause error, local closer) bool {
	if p.closed {
		return false
	}
	p.closed, p.closedBy, p.cause = true, local, cause
	broadcast(&p.changed)
	broadcast(&p.space)
	p.wakeReader()
	return true
}

// pushCloseLocked queues a close record for the peer, outside the window.
// The caller holds mu.
func (p *pipe) pushCloseLocked(code netcode.Code, reason string) {
	if err := p.out.push(recClose, closeBody(code, reason)); err == nil {
		broadcast(&p.changed)
	}
}

// writeMessage queues one frame for the peer; it waits for room in a full
// window up to WriteTimeout (reliable frames) or drops the oldest queued
// unreliable frame (unreliable ones). On a write timeout it calls
// onSlow, which closes the session as a slow consumer.
func (p *pipe) writeMessage(ch netcode.Channel, b []byte, onSlow func(error)) error {
	if !ch.Valid() {
		return netcode.ErrBadChannel
	}
	if len(b) > p.lim.MaxMessageSize {
		p.ctr.Drops[netcode.DropTooLarge].Add(1)
		return fmt.Errorf("%w: %d bytes, limit %d", netcode.ErrMessageTooLarge, len(b), p.lim.MaxMessageSize)
	}
	body := append([]byte(nil), b...)
	var timer *time.Timer
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			p.ctr.Drops[netcode.DropClosed].Add(1)
			return netcode.ErrClosed
		}
		if ch == netcode.Unreliable {
			for !p.out.fits(len(body)) && p.out.dropOldestQueuedUnreliable() {
				p.ctr.Drops[netcode.DropQueueFull].Add(1)
			}
			if !p.out.fits(len(body)) {
				p.mu.Unlock()
				p.ctr.Drops[netcode.DropQueueFull].Add(1)
				return nil // dropped, as an unreliable frame may be
			}
		}
		if p.out.fits(len(body)) {
			err := p.out.push(recType(ch), body)
			if err == nil {
				broadcast(&p.changed)
			}
			p.mu.Unlock()
			if err != nil {
				cerr := &netcode.CodedError{Code: netcode.CodeInternal, Msg: "longpoll: sequence numbers exhausted, reconnect", Err: err}
				onSlow(cerr)
				return cerr
			}
			p.ctr.MsgsSent.Add(1)
			return nil
		}
		sp := p.space
		p.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(p.lim.WriteTimeout)
			defer timer.Stop()
		}
		select {
		case <-sp:
		case <-timer.C:
			err := &netcode.CodedError{Code: netcode.CodeSlowConsumer,
				Msg: fmt.Sprintf("longpoll: window full for %v", p.lim.WriteTimeout), Err: netcode.ErrWriteTimeout}
			onSlow(err)
			return err
		}
	}
}

// stats snapshots the counters.
func (p *pipe) stats() netcode.Stats {
	return p.ctr.Snapshot(transportName)
}

// idleError is the cause of a session that heard nothing for d.
func idleError(d time.Duration) error {
	return &netcode.CodedError{Code: netcode.CodeIdleTimeout,
		Msg: fmt.Sprintf("longpoll: nothing heard for %v", d), Err: netcode.ErrIdleTimeout}
}
