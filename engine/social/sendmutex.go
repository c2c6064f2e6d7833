package social

import (
	"sync"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
)

// sendMutex is the service's mutex. Frames sent while it is held go
// through sendLocked, which only queues them on a peer that batches
// (service.BatchPeer: a session on an event-loop transport, whose Flush
// writes to the socket); Unlock flushes those peers after releasing the
// lock, so that no socket write happens under it.
type sendMutex struct {
	sync.Mutex
	queued []service.BatchPeer // peers queued to under the lock
}

// Unlock releases the mutex, then flushes what was queued under it.
func (m *sendMutex) Unlock() {
	q := m.queued
	m.queued = nil
	m.Mutex.Unlock()
	for _, p := range q { // peers on one event loop: the first Flush sends for all, the rest find nothing
		p.Flush()
	}
}

// sendLocked sends b to p on the reliable channel; called with s.mu
// held. A batching peer's frame waits for the lock's release.
func (s *Service) sendLocked(p service.Peer, b []byte) bool {
	if bp, ok := p.(service.BatchPeer); ok {
		ok := bp.Queue(netcode.Reliable, b)
		s.mu.queued = append(s.mu.queued, bp)
		return ok
	}
	return p.Send(netcode.Reliable, b)
}
