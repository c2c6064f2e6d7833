package social

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// batchPeer is a testPeer that batches (service.BatchPeer), as a session
// on an event-loop transport does; it checks that every Flush comes
// after the service's lock was released.
type batchPeer struct {
	*testPeer
	svc                 *Service
	queued, flushed     atomic.Int64
	flushedUnderTheLock atomic.Bool
}

func (p *batchPeer) Queue(ch netcode.Channel, b []byte) bool {
	p.queued.Add(1)
	return p.testPeer.Send(ch, b)
}

func (p *batchPeer) Flush() {
	if p.svc.mu.TryLock() {
		p.svc.mu.Mutex.Unlock()
	} else {
		p.flushedUnderTheLock.Store(true) // held by someone: maybe us (the bug), maybe another goroutine
	}
	p.flushed.Add(1)
}

// TestPushesToBatchingPeersFlushAfterTheLock: a message to an online
// batching peer is queued under the service's lock and flushed once it
// is released, so no socket write happens under the lock.
func TestPushesToBatchingPeersFlushAfterTheLock(t *testing.T) {
	e := newEnv(t, Config{}, "alice", "bob")
	a := e.open("alice")
	bp := &batchPeer{testPeer: newPeer(e.ids["bob"], "bob"), svc: e.svc}
	e.svc.PeerOpened(bp)
	e.synced(bp.testPeer)
	e.befriend(a, bp.testPeer)

	sent := decodeAs(t, e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "hi"}), &frame.MessageSent{})
	m := e.recvMessage(bp.testPeer)
	require.Equal(t, sent.ID, m.ID)
	assert.Positive(t, bp.queued.Load(), "pushed through Queue")
	assert.GreaterOrEqual(t, bp.flushed.Load(), bp.queued.Load(), "every queued push is flushed")
}

// TestSendMutexFlushesAfterRelease: sendLocked only queues to a batching
// peer; Unlock releases the lock first, then flushes (with nobody else
// using the service, a Flush that finds the lock held found it held by
// the Unlock itself).
func TestSendMutexFlushesAfterRelease(t *testing.T) {
	s := &Service{}
	bp := &batchPeer{testPeer: newPeer("u", "u"), svc: s}
	s.mu.Lock()
	require.True(t, s.sendLocked(bp, []byte("frame")))
	assert.EqualValues(t, 1, bp.queued.Load())
	assert.Zero(t, bp.flushed.Load(), "nothing written under the lock")
	s.mu.Unlock()
	assert.EqualValues(t, 1, bp.flushed.Load(), "flushed by Unlock")
	assert.False(t, bp.flushedUnderTheLock.Load(), "flushed after the lock was released")
	assert.Nil(t, s.mu.queued, "the queue went with the release")
}
