package rooms_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/room/voice"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const voiceAdminToken = "voice-test-admin"

// voiceMember is one client in a voice room, over real loopback sockets.
type voiceMember struct {
	t    *testing.T
	name string
	c    *client.Client
	r    *client.Room
}

// next returns the next room update of this member's room that match
// accepts, failing after e2eWait; non-room messages and updates match
// refuses are skipped (and returned in skipped).
func (m *voiceMember) next(match func(client.RoomUpdate) bool) (got client.RoomUpdate, skipped []client.RoomUpdate) {
	m.t.Helper()
	timeout := time.After(e2eWait)
	for {
		select {
		case msg, ok := <-m.c.Messages():
			require.True(m.t, ok, "%s: connection ended: %v", m.name, m.c.Err())
			if msg.Kind == frame.KindError {
				var e frame.Error
				require.NoError(m.t, msg.Decode(&e))
				u := client.RoomUpdate{Kind: frame.KindError, Data: &frame.RoomData{Data: []byte(e.Code.String())}}
				if match(u) {
					return u, skipped
				}
				skipped = append(skipped, u)
				continue
			}
			u, isRoom, err := client.DecodeRoomUpdate(msg)
			require.NoError(m.t, err)
			if !isRoom || !m.r.Owns(u) {
				continue
			}
			if match(u) {
				return u, skipped
			}
			skipped = append(skipped, u)
		case <-timeout:
			m.t.Fatalf("%s: no matching update within %v", m.name, e2eWait)
		}
	}
}

func (m *voiceMember) nextFrame() *frame.VoiceFrame {
	m.t.Helper()
	u, _ := m.next(func(u client.RoomUpdate) bool { return u.Voice != nil })
	return u.Voice
}

func (m *voiceMember) nextEvent(member uint32, ev frame.VoiceEventType) {
	m.t.Helper()
	m.next(func(u client.RoomUpdate) bool {
		return u.VoiceEvent != nil && u.VoiceEvent.Member == member && u.VoiceEvent.Event == ev
	})
}

func (m *voiceMember) nextError(code netcode.Code) {
	m.t.Helper()
	m.next(func(u client.RoomUpdate) bool {
		return u.Kind == frame.KindError && string(u.Data.Data) == code.String()
	})
}

type voiceRig struct {
	srv     *server.Server
	members []*voiceMember
}

// startVoice starts a server with vc and puts n clients in one voice room
// ticking at tickRate Hz, the second over TCP, the others over KCP; the
// first one creates it.
func startVoice(t *testing.T, vc voice.Config, n, tickRate int) *voiceRig {
	t.Helper()
	srv := servertest.Start(t, server.Config{
		Engine:    engine.Config{AdminToken: voiceAdminToken},
		AdminAddr: servertest.Loopback,
		Rooms:     rooms.Config{Voice: vc},
	})
	rig := &voiceRig{srv: srv}
	ctx := ctxT(t)
	for i := range n {
		name := string(rune('a' + i))
		transport := transportKCP
		if i == 1 {
			transport = transportTCP // the room does not care what carries a member
		}
		c := dial(t, srv, transport, guestToken(t, srv, name))
		m := &voiceMember{t: t, name: name, c: c}
		var err error
		if i == 0 {
			m.r, err = c.CreateRoom(ctx, client.RoomOptions{Type: client.VoiceType, Capacity: 4, TickRate: tickRate})
		} else {
			m.r, err = c.JoinRoom(ctx, rig.members[0].r.ID())
		}
		require.NoError(t, err)
		rig.members = append(rig.members, m)
	}
	return rig
}

// stats reads the voice counters from GET /v1/stats on the admin listener.
func (rig *voiceRig) stats(t *testing.T) voice.Stats {
	t.Helper()
	resp, b := servertest.Request(t, http.MethodGet, "http://"+rig.srv.AdminAddr()+"/v1/stats",
		map[string]string{"Authorization": "Bearer " + voiceAdminToken}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	var doc struct {
		Services struct {
			Rooms struct {
				Voice voice.Stats `json:"voice"`
			} `json:"rooms"`
		} `json:"services"`
	}
	require.NoError(t, json.Unmarshal(b, &doc), string(b))
	return doc.Services.Rooms.Voice
}

func (rig *voiceRig) eventually(t *testing.T, what string, cond func(voice.Stats) bool) voice.Stats {
	t.Helper()
	var st voice.Stats
	require.Eventually(t, func() bool { st = rig.stats(t); return cond(st) }, e2eWait, 5*time.Millisecond, "%s: %+v", what, st)
	return st
}

func opus(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// TestVoiceForwardsToEveryoneButTheSender: a frame reaches every other
// member as sent (seq, timestamp, payload, sender), at once — the room
// ticks once a second — and never comes back to its sender; duplicate
// and stale frames go nowhere and are counted.
func TestVoiceForwardsToEveryoneButTheSender(t *testing.T) {
	rig := startVoice(t, voice.Config{}, 3, 1)
	a, b, c := rig.members[0], rig.members[1], rig.members[2]

	sentAt := time.Now()
	_, err := a.r.SendVoice(960, opus(80, 1))
	require.NoError(t, err)
	for _, m := range []*voiceMember{b, c} {
		f := m.nextFrame()
		assert.Equal(t, frame.VoiceFrame{RoomID: a.r.ID(), Member: a.r.Me(), Seq: 1, Timestamp: 960, Payload: opus(80, 1)}, *f, m.name)
	}
	// Four more, each sent when the last arrived: on the 1 Hz tick each
	// would wait for the next tick, a second each, four for the four.
	for seq := uint32(2); seq <= 5; seq++ {
		_, err := a.r.SendVoice(seq*960, opus(80, byte(seq)))
		require.NoError(t, err)
		assert.Equal(t, seq, b.nextFrame().Seq)
		assert.Equal(t, seq, c.nextFrame().Seq)
	}
	assert.Less(t, time.Since(sentAt), 2*time.Second, "forwarded at once, not at the 1 Hz tick")
	st := rig.eventually(t, "five frames forwarded", func(s voice.Stats) bool { return s.Forwarded == 5 })
	assert.Equal(t, uint64(10), st.Deliveries, "two copies each: b and c, not a")

	// The same sequence number again, and one behind the window.
	require.NoError(t, a.r.SendVoiceFrame(5, 5*960, opus(80, 9)))
	require.NoError(t, a.r.SendVoiceFrame(100, 96_000, opus(80, 2)))
	require.NoError(t, a.r.SendVoiceFrame(100-voice.Window, 96_000-960*voice.Window, opus(80, 9)))
	require.NoError(t, a.r.SendVoiceFrame(99, 96_000-960, opus(80, 3)))
	for _, m := range []*voiceMember{b, c} {
		assert.Equal(t, uint32(100), m.nextFrame().Seq, m.name)
		assert.Equal(t, uint32(99), m.nextFrame().Seq, "%s: a late frame inside the window is forwarded", m.name)
	}
	st = rig.eventually(t, "drops counted", func(s voice.Stats) bool { return s.Drops.Duplicate == 1 && s.Drops.Stale == 1 })
	assert.Equal(t, uint64(7), st.Forwarded)

	// a hears b; nothing a sent came back to it.
	_, err = b.r.SendVoice(960, opus(60, 4))
	require.NoError(t, err)
	f, skipped := a.next(func(u client.RoomUpdate) bool { return u.Voice != nil })
	assert.Equal(t, b.r.Me(), f.Voice.Member)
	for _, u := range skipped {
		assert.Nil(t, u.Voice, "a got a voice frame before b's")
	}
}

// TestVoiceBitrateCap: past the burst, frames above the member's bitrate
// are dropped, counted, and the sender is told once.
func TestVoiceBitrateCap(t *testing.T) {
	rig := startVoice(t, voice.Config{BitrateBps: 8_000, BurstBytes: 500, MaxFrameBytes: 100}, 2, 1)
	a, b := rig.members[0], rig.members[1]
	const sent = 20
	start := time.Now()
	for i := range sent {
		_, err := a.r.SendVoice(uint32(i*960), opus(100, byte(i)))
		require.NoError(t, err)
	}
	a.nextError(netcode.CodeVoiceRateLimited)
	st := rig.eventually(t, "every frame judged", func(s voice.Stats) bool { return s.Received == sent })
	// 500 bytes of burst, plus one 100-byte frame per 100 ms that the
	// frames took to arrive (1,000 B/s): 5 when they come at once.
	refill := uint64(time.Since(start) / (100 * time.Millisecond))
	assert.LessOrEqual(t, st.Forwarded, 5+refill+1, "the burst plus what 1,000 B/s refills meanwhile")
	assert.GreaterOrEqual(t, st.Forwarded, uint64(5))
	assert.Equal(t, uint64(sent)-st.Forwarded, st.Drops.RateLimited)
	for i := range int(st.Forwarded) {
		assert.Equal(t, uint32(i+1), b.nextFrame().Seq, "b gets the first frames, in order")
	}
}

// TestVoiceSpeakingMuteDeafen: speaking starts with the first frame and
// stops after the silence timeout; a muted member's frames are not
// forwarded; a deafened member gets none; every member sees each change.
func TestVoiceSpeakingMuteDeafen(t *testing.T) {
	rig := startVoice(t, voice.Config{SilenceTimeout: 100 * time.Millisecond}, 3, 50)
	a, b, c := rig.members[0], rig.members[1], rig.members[2]
	ctx := ctxT(t)

	start := time.Now() // before the frame can reach the server
	_, err := a.r.SendVoice(960, opus(80, 1))
	require.NoError(t, err)
	for _, m := range rig.members {
		m.nextEvent(a.r.Me(), frame.VoiceSpeaking)
	}
	b.nextEvent(a.r.Me(), frame.VoiceSilent)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "silent after the timeout, not before")

	require.NoError(t, a.r.SetVoice(ctx, true, false))
	for _, m := range rig.members {
		m.nextEvent(a.r.Me(), frame.VoiceMuted)
	}
	_, err = a.r.SendVoice(2*960, opus(80, 2))
	require.NoError(t, err)
	rig.eventually(t, "muted frame dropped", func(s voice.Stats) bool { return s.Drops.Muted == 1 })

	require.NoError(t, c.r.SetVoice(ctx, false, true))
	require.NoError(t, a.r.SetVoice(ctx, false, false))
	b.nextEvent(c.r.Me(), frame.VoiceDeafened)
	b.nextEvent(a.r.Me(), frame.VoiceUnmuted)
	before := rig.stats(t)
	_, err = a.r.SendVoice(3*960, opus(80, 3))
	require.NoError(t, err)
	assert.Equal(t, uint32(3), b.nextFrame().Seq, "the muted frame (seq 2) never came")
	st := rig.eventually(t, "forwarded", func(s voice.Stats) bool { return s.Forwarded == before.Forwarded+1 })
	assert.Equal(t, before.Deliveries+1, st.Deliveries, "to b only: c is deafened")

	// A late joiner learns c is deafened.
	d := dial(t, rig.srv, transportKCP, guestToken(t, rig.srv, "d"))
	dr, err := d.JoinRoom(ctx, a.r.ID())
	require.NoError(t, err)
	(&voiceMember{t: t, name: "d", c: d, r: dr}).nextEvent(c.r.Me(), frame.VoiceDeafened)
}

// TestVoiceRefusals: each refusal carries its code and is counted.
func TestVoiceRefusals(t *testing.T) {
	rig := startVoice(t, voice.Config{MaxFrameBytes: 100, MaxMembers: 4}, 1, 1)
	a := rig.members[0]
	ctx := ctxT(t)

	_, err := a.r.SendVoice(0, opus(101, 1))
	require.NoError(t, err)
	a.nextError(netcode.CodeVoiceFrameTooLarge)

	_, err = a.c.CreateRoom(ctx, client.RoomOptions{Type: client.VoiceType, Capacity: 5})
	assert.Equal(t, netcode.CodeVoiceRoomTooLarge, netcode.CodeOf(err), "%v", err)

	relay, err := a.c.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	require.NoError(t, err)
	err = relay.SetVoice(ctx, true, false)
	assert.Equal(t, netcode.CodeNotVoiceRoom, netcode.CodeOf(err), "%v", err)
	_, err = relay.SendVoice(0, opus(10, 1))
	require.NoError(t, err)
	relayMember := &voiceMember{t: t, name: "a-relay", c: a.c, r: relay}
	relayMember.nextError(netcode.CodeNotVoiceRoom)

	st := rig.eventually(t, "refusals counted", func(s voice.Stats) bool {
		return s.Drops.TooLarge == 1 && s.Drops.NotVoiceRoom == 2
	})
	assert.Zero(t, st.Received, "no refused frame reached a room")
}
