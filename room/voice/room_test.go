package voice_test

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

// sent is one outbox message as a member receives it.
type sent struct {
	to []uint32
	ch netcode.Channel
	f  frame.Frame
}

type harness struct {
	t        *testing.T
	r        *room.Room
	h        *voice.Room
	counters *voice.Counters
	ids      []uint32
}

func newHarness(t *testing.T, cfg voice.Config, members int) *harness {
	t.Helper()
	c := &voice.Counters{}
	f, err := voice.Factory(cfg, c)
	require.NoError(t, err)
	rc := room.Config{Type: voice.Type, ID: 7, Capacity: 8, TickRate: 20, EmptyTimeout: time.Second}
	hd, err := f(rc)
	require.NoError(t, err)
	r, err := room.New(rc, hd, t0)
	require.NoError(t, err)
	require.True(t, r.TakesMedia())
	h := &harness{t: t, r: r, h: hd.(*voice.Room), counters: c}
	for range members {
		h.join()
	}
	h.take()
	return h
}

func (h *harness) join() uint32 {
	m, err := h.r.Join(t0, "u", "n", 0)
	require.NoError(h.t, err)
	h.ids = append(h.ids, m.ID)
	return m.ID
}

// take returns the outbox with every target resolved to member ids.
func (h *harness) take() []sent {
	var out []sent
	for _, m := range h.r.Outbox() {
		s := sent{ch: m.Channel}
		for _, id := range h.ids {
			if m.To.Includes(id) {
				s.to = append(s.to, id)
			}
		}
		k, err := frame.Peek(m.Frame)
		require.NoError(h.t, err)
		switch k {
		case frame.KindVoiceFrame:
			s.f = &frame.VoiceFrame{}
		case frame.KindVoiceEvent:
			s.f = &frame.VoiceEvent{}
		case frame.KindError:
			s.f = &frame.Error{}
		default:
			s.f = nil // joins and room events: not under test here
		}
		if s.f != nil {
			require.NoError(h.t, frame.Unmarshal(m.Frame, s.f))
			out = append(out, s)
		}
	}
	h.r.ResetOutbox()
	return out
}

func (h *harness) send(now time.Time, from, seq uint32, size int) {
	require.NoError(h.t, h.r.Media(now, from, seq, seq*frameTs, make([]byte, size)))
}

func ev(member uint32, e frame.VoiceEventType) *frame.VoiceEvent {
	return &frame.VoiceEvent{RoomID: 7, Member: member, Event: e}
}

func TestRoomForwardsToEveryoneButTheSender(t *testing.T) {
	h := newHarness(t, voice.Config{}, 3)
	h.send(t0, 1, 1, 80)
	out := h.take()
	require.Len(t, out, 2)
	assert.Equal(t, sent{to: []uint32{1, 2, 3}, ch: netcode.Reliable, f: ev(1, frame.VoiceSpeaking)}, out[0], "speaking, to everyone")
	assert.Equal(t, []uint32{2, 3}, out[1].to, "the frame, to everyone but the sender")
	assert.Equal(t, netcode.Unreliable, out[1].ch)
	assert.Equal(t, &frame.VoiceFrame{RoomID: 7, Member: 1, Seq: 1, Timestamp: frameTs, Payload: make([]byte, 80)}, out[1].f)

	h.send(t0.Add(20*time.Millisecond), 1, 2, 80)
	out = h.take()
	require.Len(t, out, 1, "no second speaking event")
	assert.Equal(t, []uint32{2, 3}, out[0].to)

	st := h.counters.Snapshot()
	assert.Equal(t, uint64(2), st.Forwarded)
	assert.Equal(t, uint64(4), st.Deliveries)
	assert.Equal(t, uint64(1), st.Speaking)
}

func TestRoomDropsStaleAndDuplicate(t *testing.T) {
	h := newHarness(t, voice.Config{}, 2)
	h.send(t0, 1, 100, 80)
	h.send(t0, 1, 100, 80)              // duplicate
	h.send(t0, 1, 100-voice.Window, 80) // stale
	h.send(t0, 1, 99, 80)               // late but in the window: forwarded
	var frames []uint32
	for _, s := range h.take() {
		if f, ok := s.f.(*frame.VoiceFrame); ok {
			frames = append(frames, f.Seq)
		}
	}
	assert.Equal(t, []uint32{100, 99}, frames)
	d := h.counters.Snapshot().Drops
	assert.Equal(t, uint64(1), d.Duplicate)
	assert.Equal(t, uint64(1), d.Stale)
}

func TestRoomBitrateCapWarnsOncePerSecond(t *testing.T) {
	h := newHarness(t, voice.Config{BitrateBps: 8_000, BurstBytes: 200, MaxFrameBytes: 100}, 2)
	now := t0
	for seq := uint32(1); seq <= 4; seq++ {
		h.send(now, 1, seq, 100)
	}
	var frames, warnings int
	for _, s := range h.take() {
		switch f := s.f.(type) {
		case *frame.VoiceFrame:
			frames++
		case *frame.Error:
			warnings++
			assert.Equal(t, netcode.CodeVoiceRateLimited, f.Code)
			assert.Equal(t, []uint32{1}, s.to, "to the sender only")
		}
	}
	assert.Equal(t, 2, frames, "200 bytes of burst")
	assert.Equal(t, 1, warnings, "one warning for two drops")
	assert.Equal(t, uint64(2), h.counters.Snapshot().Drops.RateLimited)
}

func TestRoomSpeakingEvents(t *testing.T) {
	h := newHarness(t, voice.Config{SilenceTimeout: 300 * time.Millisecond}, 2)
	h.send(t0, 2, 1, 80)
	h.take()
	require.NoError(t, h.r.Tick(t0.Add(250*time.Millisecond)))
	assert.Empty(t, h.take(), "250 ms of silence is not yet silent")
	require.NoError(t, h.r.Tick(t0.Add(300*time.Millisecond)))
	assert.Equal(t, []sent{{to: []uint32{1, 2}, ch: netcode.Reliable, f: ev(2, frame.VoiceSilent)}}, h.take())
	// DTX packets are forwarded but do not make a speaker.
	h.send(t0.Add(time.Second), 2, 2, 2)
	out := h.take()
	require.Len(t, out, 1)
	assert.IsType(t, &frame.VoiceFrame{}, out[0].f)
}

func TestRoomMuteAndDeafen(t *testing.T) {
	h := newHarness(t, voice.Config{}, 3)
	h.send(t0, 1, 1, 80)
	h.take()
	require.NoError(t, h.r.SetMediaState(t0, 1, room.MediaState{Muted: true}))
	all := []uint32{1, 2, 3}
	assert.Equal(t, []sent{
		{to: all, ch: netcode.Reliable, f: ev(1, frame.VoiceSilent)},
		{to: all, ch: netcode.Reliable, f: ev(1, frame.VoiceMuted)},
	}, h.take(), "a speaker that mutes goes silent")
	h.send(t0, 1, 2, 80)
	assert.Empty(t, h.take(), "a muted member's frames go nowhere")
	assert.Equal(t, uint64(1), h.counters.Snapshot().Drops.Muted)

	require.NoError(t, h.r.SetMediaState(t0, 3, room.MediaState{Deafened: true}))
	assert.Equal(t, []sent{{to: all, ch: netcode.Reliable, f: ev(3, frame.VoiceDeafened)}}, h.take())
	h.send(t0, 2, 1, 80)
	out := h.take()
	require.Len(t, out, 2)
	assert.Equal(t, []uint32{1}, out[1].to, "not to the deafened member")

	// A member joining now learns who is muted, deafened and speaking.
	id := h.join()
	out = h.take()
	assert.Equal(t, []sent{
		{to: []uint32{id}, ch: netcode.Reliable, f: ev(1, frame.VoiceMuted)},
		{to: []uint32{id}, ch: netcode.Reliable, f: ev(2, frame.VoiceSpeaking)},
		{to: []uint32{id}, ch: netcode.Reliable, f: ev(3, frame.VoiceDeafened)},
	}, out)

	require.NoError(t, h.r.SetMediaState(t0, 1, room.MediaState{}))
	assert.Equal(t, []sent{{to: []uint32{1, 2, 3, id}, ch: netcode.Reliable, f: ev(1, frame.VoiceUnmuted)}}, h.take())
	require.NoError(t, h.r.SetMediaState(t0, 1, room.MediaState{}))
	assert.Empty(t, h.take(), "no change, no event")
}

func TestRoomNoListener(t *testing.T) {
	h := newHarness(t, voice.Config{}, 1)
	h.send(t0, 1, 1, 80)
	for _, s := range h.take() {
		assert.NotEqual(t, frame.KindVoiceFrame, s.f.Kind())
	}
	assert.Equal(t, uint64(1), h.counters.Snapshot().Drops.NoListener)
}

func TestFactoryCapsMembers(t *testing.T) {
	f, err := voice.Factory(voice.Config{MaxMembers: 4}, nil)
	require.NoError(t, err)
	_, err = f(room.Config{Type: voice.Type, ID: 1, Capacity: 5, TickRate: 20})
	assert.Equal(t, netcode.CodeVoiceRoomTooLarge, netcode.CodeOf(err), "%v", err)
	_, err = f(room.Config{Type: voice.Type, ID: 1, Capacity: 4, TickRate: 20})
	assert.NoError(t, err)
}

func TestRelayTakesNoMedia(t *testing.T) {
	rc := room.Config{Type: room.RelayType, ID: 1, Capacity: 2, TickRate: 20}
	hd, err := room.NewRelay(rc)
	require.NoError(t, err)
	r, err := room.New(rc, hd, t0)
	require.NoError(t, err)
	m, err := r.Join(t0, "u", "n", 0)
	require.NoError(t, err)
	assert.False(t, r.TakesMedia())
	err = r.Media(t0, m.ID, 1, 1, []byte{1})
	assert.Equal(t, netcode.CodeNotVoiceRoom, netcode.CodeOf(err))
	assert.ErrorIs(t, r.SetMediaState(t0, m.ID, room.MediaState{Muted: true}), room.ErrNotMedia)
}

func TestRoomSpeakerLeavingGoesSilent(t *testing.T) {
	h := newHarness(t, voice.Config{}, 3)
	h.send(t0, 2, 1, 80)
	h.take()
	_, err := h.r.Leave(t0, 2)
	require.NoError(t, err)
	h.ids = []uint32{1, 3} // targets resolve against the members left
	var evs []*frame.VoiceEvent
	for _, s := range h.take() {
		if e, ok := s.f.(*frame.VoiceEvent); ok {
			evs = append(evs, e)
			assert.Equal(t, []uint32{1, 3}, s.to)
		}
	}
	assert.Equal(t, []*frame.VoiceEvent{ev(2, frame.VoiceSilent)}, evs)
	assert.Nil(t, h.h.Stream(2), "its state is gone")
	_, err = h.r.Leave(t0, 1) // a silent member leaves without an event
	require.NoError(t, err)
	assert.Empty(t, h.take())
}

// Each VoiceSet sends an event to every member: a member may make
// StateChanges of them in a burst, then one a second.
func TestRoomStateChangesAreCapped(t *testing.T) {
	h := newHarness(t, voice.Config{StateChanges: 3}, 2)
	now := t0
	for i := range 3 {
		require.NoError(t, h.r.SetMediaState(now, 1, room.MediaState{Muted: i%2 == 0}), "change %d", i)
	}
	err := h.r.SetMediaState(now, 1, room.MediaState{})
	assert.Equal(t, netcode.CodeVoiceRateLimited, netcode.CodeOf(err), "%v", err)
	assert.Len(t, h.take(), 3, "three changes, three events; the refused one sent none")
	assert.Equal(t, uint64(1), h.counters.Snapshot().SetRateLimited)
	require.NoError(t, h.r.SetMediaState(now.Add(time.Second), 1, room.MediaState{}), "a token a second")
}
