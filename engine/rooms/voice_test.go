package rooms

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/room/voice"
)

func (fx *fixture) voiceRoom(capacity, rate int) uint64 {
	fx.t.Helper()
	id, err := fx.h.CreateRoom(room.Config{Type: voice.Type, Capacity: capacity, TickRate: rate})
	require.NoError(fx.t, err)
	fx.step()
	return id
}

// A voice frame wakes the room's worker: the next step — long before the
// room's tick — forwards it, and each receiving peer is flushed once in
// that step. A relay input in the same step wakes nothing and waits for
// its tick.
func TestVoiceFrameForwardedAndFlushedInTheSamePass(t *testing.T) {
	fx := newFixture(t, nil)
	vid := fx.voiceRoom(8, 1)
	rid := fx.relay(8, 1)
	a, b, c := fx.batchPeer(), fx.batchPeer(), fx.batchPeer()
	ma := fx.join(&a.fakePeer, vid)
	fx.join(&b.fakePeer, vid)
	fx.join(&c.fakePeer, vid)
	fx.join(&a.fakePeer, rid)
	fx.join(&b.fakePeer, rid)
	for _, p := range []*batchPeer{a, b, c} {
		p.take()
		p.reset()
	}

	require.NoError(t, fx.send(&a.fakePeer, netcode.Unreliable, &frame.RoomInput{RoomID: rid, Seq: 1, Data: []byte{1}}))
	assert.Empty(t, fx.h.shards[0].flagged, "a relay input does not wake the worker")
	require.NoError(t, fx.send(&a.fakePeer, netcode.Unreliable, &frame.VoiceSend{RoomID: vid, Seq: 1, Timestamp: 960, Payload: []byte{7, 7, 7}}))
	assert.Len(t, fx.h.shards[0].flagged, 1, "a voice frame does")

	fx.advance(time.Millisecond) // the rooms tick once a second
	for _, p := range []*batchPeer{b, c} {
		fs := only(t, p.take(), frame.KindVoiceFrame)
		require.Len(t, fs, 1)
		assert.Equal(t, netcode.Unreliable, fs[0].ch)
		assert.Equal(t, &frame.VoiceFrame{RoomID: vid, Member: ma, Seq: 1, Timestamp: 960, Payload: []byte{7, 7, 7}}, decode[frame.VoiceFrame](t, fs[0].b))
		assert.Equal(t, 1, p.flushes)
		assert.Zero(t, p.unflushed)
		assert.Zero(t, p.sent, "batching peers are queued to, not sent to")
	}
	assert.Empty(t, only(t, a.take(), frame.KindVoiceFrame), "not back to the sender")
	assert.Empty(t, only(t, b.take(), frame.KindRoomTick), "the relay input still waits for its tick")
	st := fx.h.Stats().Types[voice.Type]
	assert.Zero(t, st.Ticks, "forwarded before the voice room's first tick")
}

// A VoiceSet is answered with OK after the events it caused, in the same
// batch; one for a relay room or a room the session is not in is refused
// with its code, and counted.
func TestVoiceSetRepliesAfterItsEvents(t *testing.T) {
	fx := newFixture(t, nil)
	vid := fx.voiceRoom(8, 10)
	rid := fx.relay(8, 10)
	a, b := fx.batchPeer(), fx.batchPeer()
	ma := fx.join(&a.fakePeer, vid)
	fx.join(&b.fakePeer, vid)
	fx.join(&a.fakePeer, rid)
	a.take()
	b.take()

	require.NoError(t, fx.send(&a.fakePeer, netcode.Reliable, &frame.VoiceSet{Ref: 5, RoomID: vid, Muted: true}))
	fx.advance(time.Millisecond)
	got := a.take()
	require.Len(t, got, 2)
	assert.Equal(t, &frame.VoiceEvent{RoomID: vid, Member: ma, Event: frame.VoiceMuted}, decode[frame.VoiceEvent](t, got[0].b))
	assert.Equal(t, &frame.OK{Ref: 5}, decode[frame.OK](t, got[1].b))
	assert.Len(t, only(t, b.take(), frame.KindVoiceEvent), 1)

	err := fx.send(&a.fakePeer, netcode.Reliable, &frame.VoiceSet{Ref: 6, RoomID: rid, Muted: true})
	assert.ErrorIs(t, err, ErrNotVoiceRoom)
	err = fx.send(&a.fakePeer, netcode.Unreliable, &frame.VoiceSend{RoomID: 12345, Seq: 1, Payload: []byte{1}})
	assert.Equal(t, netcode.CodeNotInRoom, netcode.CodeOf(err))
	d := fx.h.Stats().Voice.Drops
	assert.Equal(t, uint64(1), d.NotVoiceRoom)
	assert.Equal(t, uint64(1), d.NotMember)
}

// A full inbox drops voice frames like inputs, counted in both places.
func TestVoiceInboxFull(t *testing.T) {
	fx := newFixture(t, func(c *Config) { c.InboxSize = 2 })
	vid := fx.voiceRoom(8, 10)
	a, b := fx.peer(), fx.peer()
	fx.join(a, vid)
	fx.join(b, vid)
	var errs []error
	for seq := uint32(1); seq <= 3; seq++ {
		errs = append(errs, fx.send(a, netcode.Unreliable, &frame.VoiceSend{RoomID: vid, Seq: seq, Timestamp: seq * 960, Payload: []byte{1, 2, 3}}))
	}
	assert.NoError(t, errs[0])
	assert.NoError(t, errs[1])
	assert.ErrorIs(t, errs[2], ErrInboxFull)
	st := fx.h.Stats()
	assert.Equal(t, uint64(1), st.Voice.Drops.InboxFull)
	assert.Equal(t, uint64(1), st.Drops.InboxFull)
	// VoiceSets count against the same bound: a toggling flood cannot grow
	// the inbox between two worker passes.
	fx.step()
	for i := range 2 {
		require.NoError(t, fx.send(a, netcode.Reliable, &frame.VoiceSet{Ref: 1, RoomID: vid, Muted: i == 0}))
	}
	assert.ErrorIs(t, fx.send(a, netcode.Reliable, &frame.VoiceSet{Ref: 1, RoomID: vid}), ErrInboxFull)
}

// The forwarding path allocates one thing per frame: the encoded
// VoiceFrame, whose bytes every recipient's queue shares until written.
func TestVoiceForwardAllocs(t *testing.T) {
	now := t0
	h, err := New(Config{Workers: 1, Clock: func() time.Time { return now },
		Voice: voice.Config{BitrateBps: 1 << 30, BurstBytes: 1 << 20, MaxFramesPerSecond: 1 << 30, FrameBurst: 1 << 20}})
	require.NoError(t, err)
	id, err := h.CreateRoom(room.Config{Type: voice.Type, Capacity: 8, TickRate: 1})
	require.NoError(t, err)
	sh := h.shards[0]
	sh.step(now)
	peers := make([]*countPeer, 4)
	for i := range peers {
		peers[i] = &countPeer{id: uint64(i + 1)}
		h.PeerOpened(peers[i])
		req, _ := frame.Marshal(&frame.RoomJoin{Ref: 1, RoomID: id})
		_, err := h.HandleFrame(now, peers[i], netcode.Reliable, frame.KindRoomJoin, req)
		require.NoError(t, err)
		sh.step(now)
	}
	vs := frame.VoiceSend{RoomID: id, Payload: make([]byte, 120)}
	e := frame.NewEncoder()
	seq := uint32(0)
	forward := func() {
		seq++
		now = now.Add(20 * time.Millisecond)
		vs.Seq, vs.Timestamp = seq, seq*960
		b, err := e.Encode(&vs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.HandleFrame(now, peers[0], netcode.Unreliable, frame.KindVoiceSend, b); err != nil {
			t.Fatal(err)
		}
		sh.step(now)
	}
	for range 20 {
		forward()
	}
	before := peers[1].sent.Load()
	allocs := testing.AllocsPerRun(200, forward)
	assert.LessOrEqual(t, allocs, 1.0)
	assert.Equal(t, before+201, peers[1].sent.Load(), "every frame forwarded")
}
