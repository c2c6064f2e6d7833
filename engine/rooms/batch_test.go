package rooms

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// batchPeer is a fakePeer that batches, as the engine's sessions do:
// it counts frames queued, frames sent with Send, and Flush calls, and
// how many queued frames were left unflushed. Used from the worker only.
type batchPeer struct {
	fakePeer
	queued, sent, flushes int
	unflushed             int
}

var _ service.BatchPeer = (*batchPeer)(nil)

func (p *batchPeer) Queue(ch netcode.Channel, b []byte) bool {
	p.queued++
	p.unflushed++
	return p.fakePeer.Send(ch, b)
}

func (p *batchPeer) Send(ch netcode.Channel, b []byte) bool {
	p.sent++
	return p.fakePeer.Send(ch, b)
}

func (p *batchPeer) Flush() {
	p.flushes++
	p.unflushed = 0
}

func (p *batchPeer) reset() { p.queued, p.sent, p.flushes, p.unflushed = 0, 0, 0, 0 }

func (fx *fixture) batchPeer() *batchPeer {
	p := &batchPeer{fakePeer: fakePeer{id: uint64(len(fx.peers) + 1), user: "u" + string(rune('a'+len(fx.peers)))}}
	fx.peers = append(fx.peers, &p.fakePeer)
	fx.h.PeerOpened(p)
	return p
}

// One step that ticks two relay rooms queues every member's broadcasts
// and flushes each distinct batching peer once at its end: a member of
// both rooms gets frames from both and one Flush. A peer that does not
// batch still gets its frames through Send.
func TestTickDeliveryFlushesEachPeerOncePerStep(t *testing.T) {
	fx := newFixture(t, nil)
	const period = 100 * time.Millisecond
	r1, r2 := fx.relay(8, 10), fx.relay(8, 10)
	a, b, both, d := fx.batchPeer(), fx.batchPeer(), fx.batchPeer(), fx.batchPeer()
	plain := fx.peer()
	for _, x := range []struct {
		p  *fakePeer
		id uint64
	}{{&a.fakePeer, r1}, {&b.fakePeer, r1}, {&both.fakePeer, r1}, {plain, r1}, {&both.fakePeer, r2}, {&d.fakePeer, r2}} {
		fx.join(x.p, x.id)
	}
	batched := []*batchPeer{a, b, both, d}
	for _, p := range batched {
		assert.Zero(t, p.unflushed, "joins are flushed in the step that ran them")
		p.reset()
		p.take()
	}
	plain.take()

	// Every member sends an input on each channel: each tick broadcasts
	// a reliable and an unreliable frame to every member.
	for i, x := range []struct {
		p  *fakePeer
		id uint64
	}{{&a.fakePeer, r1}, {&b.fakePeer, r1}, {&both.fakePeer, r1}, {plain, r1}, {&both.fakePeer, r2}, {&d.fakePeer, r2}} {
		for _, ch := range []netcode.Channel{netcode.Reliable, netcode.Unreliable} {
			require.NoError(t, fx.send(x.p, ch, &frame.RoomInput{RoomID: x.id, Seq: uint32(i + 1), Data: []byte{1}}))
		}
	}
	fx.now = t0.Add(period)
	fx.step()

	for name, p := range map[string]*batchPeer{"a": a, "b": b, "both": both, "d": d} {
		assert.Equal(t, 1, p.flushes, "%s: one Flush per step", name)
		assert.Zero(t, p.unflushed, "%s: everything queued was flushed", name)
		assert.Zero(t, p.sent, "%s: broadcasts are queued, not sent one by one", name)
		assert.Len(t, only(t, p.take(), frame.KindRoomTick), p.queued, "%s: every frame queued is a tick", name)
	}
	assert.Equal(t, 2, a.queued, "a reliable and an unreliable broadcast")
	assert.Equal(t, 4, both.queued, "two rooms' broadcasts")
	assert.Len(t, only(t, plain.take(), frame.KindRoomTick), 2, "a peer that does not batch gets its frames by Send")
	st := fx.h.Stats().Types[room.RelayType]
	assert.EqualValues(t, 2, st.Ticks)

	// A step with nothing to deliver flushes nobody.
	fx.now = t0.Add(period + period/2)
	fx.step()
	for _, p := range batched {
		assert.Equal(t, 1, p.flushes)
	}
}

// Rooms closed at shutdown tell their batching members, and flush them.
func TestShutdownFlushesBatchingPeers(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.relay(4, 10)
	p := fx.batchPeer()
	fx.join(&p.fakePeer, id)
	p.reset()
	p.take()
	fx.h.shards[0].shutdown(fx.now)
	assert.Positive(t, p.queued)
	assert.Zero(t, p.unflushed)
	assert.Equal(t, 1, p.flushes)
	assert.NotEmpty(t, only(t, p.take(), frame.KindRoomClosed))
}
