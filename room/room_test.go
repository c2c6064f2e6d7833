package room_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func cfg(capacity int) room.Config {
	return room.Config{Type: room.RelayType, ID: 42, Label: "l", Capacity: capacity, TickRate: 60, EmptyTimeout: time.Second}
}

func newRelay(t *testing.T, capacity int) *room.Room {
	t.Helper()
	h, err := room.NewRelay(cfg(capacity))
	require.NoError(t, err)
	r, err := room.New(cfg(capacity), h, t0)
	require.NoError(t, err)
	return r
}

// decodeAll decodes every outbox message into a frame of its kind.
func decodeAll(t *testing.T, msgs []room.Message) []frame.Frame {
	t.Helper()
	var out []frame.Frame
	for _, m := range msgs {
		k, err := frame.Peek(m.Frame)
		require.NoError(t, err)
		var f frame.Frame
		switch k {
		case frame.KindRoomJoined:
			f = &frame.RoomJoined{}
		case frame.KindRoomEvent:
			f = &frame.RoomEvent{}
		case frame.KindRoomTick:
			f = &frame.RoomTick{}
		case frame.KindRoomClosed:
			f = &frame.RoomClosed{}
		case frame.KindRoomData:
			f = &frame.RoomData{}
		default:
			t.Fatalf("unexpected kind %d", k)
		}
		require.NoError(t, frame.Unmarshal(m.Frame, f))
		out = append(out, f)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	cases := map[string]func(c *room.Config){
		"no type":       func(c *room.Config) { c.Type = "" },
		"zero id":       func(c *room.Config) { c.ID = 0 },
		"zero capacity": func(c *room.Config) { c.Capacity = 0 },
		"huge capacity": func(c *room.Config) { c.Capacity = room.MaxCapacity + 1 },
		"tick rate 0":   func(c *room.Config) { c.TickRate = 0 },
		"tick rate 129": func(c *room.Config) { c.TickRate = 129 },
		"long label":    func(c *room.Config) { c.Label = string(make([]byte, 65)) },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			c := cfg(4)
			mut(&c)
			err := c.Validate()
			require.ErrorIs(t, err, room.ErrBadConfig)
			assert.Equal(t, netcode.CodeBadRoomConfig, netcode.CodeOf(err))
		})
	}
	c := cfg(4)
	require.NoError(t, c.Validate())
	assert.Equal(t, time.Second/60, c.Period())
}

func TestJoinLeaveEvents(t *testing.T) {
	r := newRelay(t, 2)
	a, err := r.Join(t0, "ua", "Ann", 5)
	require.NoError(t, err)
	msgs := r.Outbox()
	require.Len(t, msgs, 1)
	to, ok := msgs[0].To.Single()
	require.True(t, ok)
	assert.Equal(t, a.ID, to)
	j := decodeAll(t, msgs)[0].(*frame.RoomJoined)
	assert.Equal(t, uint32(5), j.Ref)
	assert.Equal(t, a.ID, j.You)
	assert.Equal(t, []frame.RoomMember{{Member: a.ID, UserID: "ua", DisplayName: "Ann"}}, j.Members)
	r.ResetOutbox()

	b, err := r.Join(t0, "ub", "Bob", 6)
	require.NoError(t, err)
	fs := decodeAll(t, r.Outbox())
	require.Len(t, fs, 2)
	assert.Len(t, fs[0].(*frame.RoomJoined).Members, 2)
	ev := fs[1].(*frame.RoomEvent)
	assert.Equal(t, frame.RoomEvent{RoomID: 42, Event: frame.RoomEventJoined, Member: b.ID, UserID: "ub", DisplayName: "Bob"}, *ev)
	assert.True(t, r.Outbox()[1].To.Includes(a.ID))
	assert.False(t, r.Outbox()[1].To.Includes(b.ID))
	r.ResetOutbox()

	_, err = r.Join(t0, "uc", "Cy", 7)
	require.ErrorIs(t, err, room.ErrFull)
	assert.Equal(t, netcode.CodeRoomFull, netcode.CodeOf(err))
	assert.Empty(t, r.Outbox())

	_, err = r.Leave(t0, a.ID)
	require.NoError(t, err)
	fs = decodeAll(t, r.Outbox())
	require.Len(t, fs, 1)
	assert.Equal(t, frame.RoomEventLeft, fs[0].(*frame.RoomEvent).Event)
	assert.Equal(t, "ua", fs[0].(*frame.RoomEvent).UserID)
	_, err = r.Leave(t0, a.ID)
	require.ErrorIs(t, err, room.ErrNotMember)
	require.ErrorIs(t, r.Input(t0, a.ID, netcode.Reliable, 1, nil), room.ErrNotMember)
}

func TestEmptyTimeout(t *testing.T) {
	r := newRelay(t, 2)
	assert.False(t, r.Expired(t0.Add(999*time.Millisecond)))
	assert.True(t, r.Expired(t0.Add(time.Second)))
	m, err := r.Join(t0.Add(500*time.Millisecond), "u", "U", 1)
	require.NoError(t, err)
	assert.False(t, r.Expired(t0.Add(10*time.Second)), "an occupied room never expires")
	_, err = r.Leave(t0.Add(10*time.Second), m.ID)
	require.NoError(t, err)
	assert.False(t, r.Expired(t0.Add(10*time.Second+999*time.Millisecond)))
	assert.True(t, r.Expired(t0.Add(11*time.Second)))
}

func TestRelayBroadcastsEachInputOnceInOrder(t *testing.T) {
	r := newRelay(t, 8)
	a, _ := r.Join(t0, "ua", "A", 1)
	b, _ := r.Join(t0, "ub", "B", 2)
	r.ResetOutbox()

	now := t0
	type sent struct{ member, seq uint32 }
	for tick := 1; tick <= 5; tick++ {
		var thisTick []sent
		for i := 0; i < tick; i++ {
			for _, m := range []room.Member{a, b} {
				seq := uint32(tick*100 + i)
				require.NoError(t, r.Input(now, m.ID, netcode.Reliable, seq, []byte{byte(seq)}))
				thisTick = append(thisTick, sent{m.ID, seq})
			}
		}
		require.NoError(t, r.Input(now, a.ID, netcode.Unreliable, 9999, []byte("u")))
		now = now.Add(time.Second / 60)
		require.NoError(t, r.Tick(now))

		msgs := r.Outbox()
		require.Len(t, msgs, 2, "one reliable and one unreliable RoomTick")
		assert.Equal(t, netcode.Reliable, msgs[0].Channel)
		assert.Equal(t, netcode.Unreliable, msgs[1].Channel)
		fs := decodeAll(t, msgs)
		rel, unrel := fs[0].(*frame.RoomTick), fs[1].(*frame.RoomTick)
		assert.Equal(t, uint64(tick), rel.Tick)
		assert.Equal(t, uint64(tick), unrel.Tick)
		assert.Equal(t, now.UnixMicro(), rel.ServerTimeUs)
		var got []sent
		for _, in := range rel.Inputs {
			got = append(got, sent{in.Member, in.Seq})
			assert.Equal(t, []byte{byte(in.Seq)}, in.Data)
		}
		assert.Equal(t, thisTick, got)
		require.Len(t, unrel.Inputs, 1)
		assert.Equal(t, uint32(9999), unrel.Inputs[0].Seq)
		r.ResetOutbox()
	}

	// A tick with no input broadcasts an empty unreliable RoomTick.
	require.NoError(t, r.Tick(now.Add(time.Second)))
	fs := decodeAll(t, r.Outbox())
	require.Len(t, fs, 1)
	assert.Equal(t, netcode.Unreliable, r.Outbox()[0].Channel)
	assert.Empty(t, fs[0].(*frame.RoomTick).Inputs)
}

func TestRelayBoundsTickBytes(t *testing.T) {
	r := newRelay(t, 2)
	a, _ := r.Join(t0, "ua", "A", 1)
	r.ResetOutbox()
	big := make([]byte, frame.MaxRoomInput)
	for i := 0; i < 40; i++ {
		require.NoError(t, r.Input(t0, a.ID, netcode.Reliable, uint32(i), big))
	}
	require.NoError(t, r.Tick(t0))
	msgs := r.Outbox()
	require.Len(t, msgs, 1)
	assert.LessOrEqual(t, len(msgs[0].Frame), netcode.DefaultMaxMessageSize)
	n := len(decodeAll(t, msgs)[0].(*frame.RoomTick).Inputs)
	assert.Less(t, n, 40)
	assert.Greater(t, n, 10)
	assert.Equal(t, uint64(40-n), r.TakeDropped(), "every dropped input is reported to the driver")
	assert.Zero(t, r.TakeDropped(), "taken once")
}

type panicky struct {
	room.Base
	in string
}

func (p *panicky) Tick(*room.Context) {
	if p.in == "Tick" {
		panic("boom")
	}
}

func (p *panicky) Input(_ *room.Context, in room.Input) {
	if p.in == "Input" {
		var inputs []uint32
		_ = inputs[in.Seq] // index out of range: a runtime panic
	}
}

func TestPanicIsRecovered(t *testing.T) {
	for _, where := range []string{"Tick", "Input"} {
		t.Run(where, func(t *testing.T) {
			c := cfg(4)
			c.Type = "panicky"
			r, err := room.New(c, &panicky{in: where}, t0)
			require.NoError(t, err)
			m, err := r.Join(t0, "u", "U", 1)
			require.NoError(t, err)
			r.ResetOutbox()
			err = r.Input(t0, m.ID, netcode.Reliable, 1, nil)
			if where == "Tick" {
				require.NoError(t, err)
				err = r.Tick(t0)
			}
			var pe *room.PanicError
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, where, pe.In)
			assert.Contains(t, string(pe.Stack), "room_test")
			assert.Equal(t, netcode.CodeRoomCrashed, netcode.CodeOf(err))
			assert.True(t, r.Closed())
			require.ErrorIs(t, r.Tick(t0), room.ErrCrashed, "a crashed room refuses further calls")

			gone := r.Close(t0, netcode.CodeRoomCrashed, "crashed")
			assert.Len(t, gone, 1)
			fs := decodeAll(t, r.Outbox())
			require.Len(t, fs, 1)
			assert.Equal(t, netcode.CodeRoomCrashed, fs[0].(*frame.RoomClosed).Code)
			assert.Nil(t, r.Close(t0, netcode.CodeRoomClosed, ""), "Close is idempotent")
		})
	}
}

type sender struct {
	room.Base
	ids []uint32
}

func (s *sender) Tick(ctx *room.Context) {
	_ = ctx.Send(room.ToSome(s.ids), netcode.Unreliable, []byte("some"))
	s.ids[0] = 999 // the context copied the ids
	_ = ctx.Send(room.To(2), netcode.Reliable, []byte("one"))
	if ctx.Tick() == 2 {
		ctx.Close(netcode.CodeRoomClosed, "game over")
	}
}

func TestTargetsAndCloseRequest(t *testing.T) {
	c := cfg(4)
	c.Type = "sender"
	r, err := room.New(c, &sender{ids: []uint32{1, 3}}, t0)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err := r.Join(t0, "u", "U", 0)
		require.NoError(t, err)
	}
	r.ResetOutbox()
	require.NoError(t, r.Tick(t0))
	msgs := r.Outbox()
	require.Len(t, msgs, 2)
	assert.True(t, msgs[0].To.Includes(1))
	assert.False(t, msgs[0].To.Includes(2))
	assert.True(t, msgs[0].To.Includes(3))
	d := decodeAll(t, msgs)[1].(*frame.RoomData)
	assert.Equal(t, []byte("one"), d.Data)
	assert.Equal(t, uint64(1), d.Tick)
	_, _, asked := r.CloseRequested()
	assert.False(t, asked)
	r.ResetOutbox()
	require.NoError(t, r.Tick(t0))
	code, msg, asked := r.CloseRequested()
	assert.True(t, asked)
	assert.Equal(t, netcode.CodeRoomClosed, code)
	assert.Equal(t, "game over", msg)
}

func TestTickAllocsDoNotGrowWithMembers(t *testing.T) {
	for _, n := range []int{8, 100, 1000} {
		r := newRelay(t, 1000)
		for i := 0; i < n; i++ {
			_, err := r.Join(t0, "u", "U", 0)
			require.NoError(t, err)
		}
		r.ResetOutbox()
		data := []byte("input")
		allocs := testing.AllocsPerRun(200, func() {
			_ = r.Input(t0, 1, netcode.Reliable, 1, data)
			_ = r.Tick(t0)
			r.ResetOutbox()
		})
		assert.LessOrEqual(t, allocs, 1.0, "members=%d: one allocation (the shared frame bytes) per broadcast", n)
	}
}
