package social

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Realtime requests leave the session's reader at once: HandleFrame
// decodes a request and queues it to its user's worker, which does the
// store work and answers through Peer.Send. A slow store delays social
// answers only, never the session's room inputs or pings, which the same
// reader carries.
//
// Ordering: every request of one user goes to the same worker (the user
// id picks it), which runs its inbox in order, so a user's requests are
// performed in the order its sessions sent them. PeerOpened runs before
// the session's first request is queued; PeerClosed is applied only once
// the session's queued requests have run (peerState.queuedReqs), so a
// worker never sees a request of a session it has closed.

// request is one decoded realtime request waiting for its worker.
type request struct {
	ps  *peerState
	now time.Time // when the reader received it
	ref uint32
	f   frame.Frame
}

// inbox is one worker's queue. Policy when full: refuse the newcomer
// (CodeServerBusy, counted) on the reader that brought it; never wait.
type inbox struct {
	wake chan struct{} // capacity 1: coalesced wakeup of the worker

	mu      sync.Mutex // guards the fields below
	q       []request
	stopped bool // the worker has ended: refuse everything
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

// push queues r unless the inbox holds max requests or is stopped.
func (b *inbox) push(r request, max int) error {
	b.mu.Lock()
	switch {
	case b.stopped:
		b.mu.Unlock()
		return errShutdown
	case len(b.q) >= max:
		b.mu.Unlock()
		return ErrBusy
	}
	b.q = append(b.q, r)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return nil
}

// take returns every queued request (nil if none), in order, and reuses
// spare as the next queue's storage.
func (b *inbox) take(spare []request) []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.q) == 0 {
		return nil
	}
	q := b.q
	b.q = spare[:0]
	return q
}

// stop refuses later pushes and returns what was queued.
func (b *inbox) stop() []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	q := b.q
	b.q = nil
	return q
}

func (b *inbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.q)
}

// inboxOf is the inbox of user uid's worker.
func (s *Service) inboxOf(uid string) *inbox {
	return s.inboxes[maphash.String(s.seed, uid)%uint64(len(s.inboxes))]
}

// enqueue queues a decoded request of ps. It never blocks: a full inbox
// or a session with MaxQueuedPerPeer requests pending refuses it with
// ErrBusy.
func (s *Service) enqueue(ps *peerState, now time.Time, ref uint32, f frame.Frame) error {
	s.mu.Lock()
	if ps.queuedReqs >= s.cfg.MaxQueuedPerPeer {
		s.mu.Unlock()
		s.stats.busyPeer.Add(1)
		return ErrBusy
	}
	ps.queuedReqs++
	s.mu.Unlock()
	err := s.inboxOf(ps.p.UserID()).push(request{ps: ps, now: now, ref: ref, f: f}, s.cfg.InboxSize)
	if err != nil {
		if errors.Is(err, ErrBusy) {
			s.stats.busyInbox.Add(1)
		} else { // errShutdown: the worker has stopped
			s.stats.unanswered.Add(1)
		}
		s.requestDone(ps)
	}
	return err
}

// requestDone records that one of ps's requests has been answered (or
// refused) and applies a PeerClosed that was waiting for it.
func (s *Service) requestDone(ps *peerState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps.queuedReqs--
	if ps.queuedReqs == 0 && ps.closePending {
		s.closeLocked(ps, ps.closedAt)
	}
}

// requestWorker performs the requests of one inbox until ctx ends; then
// it refuses what is left (CodeServerShutdown) and returns. A request
// already running finishes (its store call is bounded by OpTimeout).
func (s *Service) requestWorker(ctx context.Context, b *inbox) {
	var batch []request
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			continue
		case <-b.wake:
		}
		for ctx.Err() == nil {
			q := b.take(batch)
			if q == nil {
				break
			}
			for i := range q {
				if ctx.Err() != nil {
					s.refuse(q[i])
				} else {
					s.serve(q[i])
				}
				q[i] = request{}
			}
			batch = q
		}
	}
	for _, r := range b.stop() {
		s.refuse(r)
	}
}

// refuse answers a request the stopping service will not perform.
func (s *Service) refuse(r request) {
	s.stats.unanswered.Add(1)
	s.answer(r.ps, r.ref, nil, errShutdown)
	s.requestDone(r.ps)
}

// serve performs one request and answers it.
func (s *Service) serve(r request) {
	ctx, cancel := s.opCtx()
	reply, err := s.dispatch(ctx, r.now, r.ps, actor{ID: r.ps.p.UserID(), Name: r.ps.p.DisplayName()}, r.f)
	cancel()
	s.answer(r.ps, r.ref, reply, err)
	s.requestDone(r.ps)
}

// answer sends a request's reply (none if nil) or, for err, the Error
// frame with the request's ref, as the engine does for errors returned
// by HandleFrame.
func (s *Service) answer(ps *peerState, ref uint32, reply frame.Frame, err error) {
	if err != nil {
		if netcode.CodeOf(err) == netcode.CodeInternal {
			s.log.Warn("social: request failed", "user", ps.p.UserID(), "err", err)
		}
		ef := frame.ErrorOf(err, ref)
		reply = &ef
	}
	if reply == nil {
		return
	}
	b, err := frame.Marshal(reply)
	if err != nil {
		s.log.Error("social: encode reply", "kind", reply.Kind(), "err", err)
		return
	}
	if !ps.p.Send(netcode.Reliable, b) {
		s.stats.sendFailed.Add(1)
	}
}
