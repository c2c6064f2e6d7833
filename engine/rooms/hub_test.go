package rooms

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakePeer is an in-process service.Peer that records what it is sent.
type fakePeer struct {
	id     uint64
	user   string
	refuse atomic.Bool // Send returns false, like a stuck session

	mu     sync.Mutex
	frames []sentFrame
}

type sentFrame struct {
	ch netcode.Channel
	b  []byte
}

func (p *fakePeer) SessionID() uint64          { return p.id }
func (p *fakePeer) UserID() string             { return p.user }
func (p *fakePeer) DisplayName() string        { return "name-" + p.user }
func (p *fakePeer) Guest() bool                { return true }
func (p *fakePeer) Close(netcode.Code, string) {}
func (p *fakePeer) Send(ch netcode.Channel, b []byte) bool {
	if p.refuse.Load() {
		return false
	}
	p.mu.Lock()
	p.frames = append(p.frames, sentFrame{ch, b})
	p.mu.Unlock()
	return true
}

// take returns and forgets the frames sent so far.
func (p *fakePeer) take() []sentFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.frames
	p.frames = nil
	return f
}

func decode[F any, PF interface {
	*F
	frame.Frame
}](t *testing.T, b []byte) *F {
	t.Helper()
	var f F
	require.NoError(t, frame.Unmarshal(b, PF(&f)))
	return &f
}

// kinds returns only the frames of kind k.
func only(t *testing.T, fs []sentFrame, k frame.Kind) []sentFrame {
	t.Helper()
	var out []sentFrame
	for _, f := range fs {
		got, err := frame.Peek(f.b)
		require.NoError(t, err)
		if got == k {
			out = append(out, f)
		}
	}
	return out
}

type fixture struct {
	t     *testing.T
	h     *Hub
	now   time.Time
	peers []*fakePeer
	log   *bytes.Buffer
}

func newFixture(t *testing.T, mut func(*Config)) *fixture {
	t.Helper()
	logs := &bytes.Buffer{}
	cfg := Config{Workers: 1, AlignTicks: true, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	fx := &fixture{t: t, now: t0, log: logs}
	cfg.Clock = func() time.Time { return fx.now }
	if mut != nil {
		mut(&cfg)
	}
	h, err := New(cfg)
	require.NoError(t, err)
	fx.h = h
	return fx
}

func (fx *fixture) peer() *fakePeer {
	p := &fakePeer{id: uint64(len(fx.peers) + 1), user: "u" + string(rune('a'+len(fx.peers)))}
	fx.peers = append(fx.peers, p)
	fx.h.PeerOpened(p)
	return p
}

// send passes a client frame to the hub as the engine would.
func (fx *fixture) send(p *fakePeer, ch netcode.Channel, f frame.Frame) error {
	fx.t.Helper()
	b, err := frame.Marshal(f)
	require.NoError(fx.t, err)
	_, err = fx.h.HandleFrame(fx.now, p, ch, f.Kind(), b)
	return err
}

// step runs the (single) worker's sans-IO step at the fixture's time.
func (fx *fixture) step() {
	fx.h.shards[0].step(fx.now)
}

// advance moves the fake clock and steps.
func (fx *fixture) advance(d time.Duration) {
	fx.now = fx.now.Add(d)
	fx.step()
}

// join makes p join room id and returns its member number.
func (fx *fixture) join(p *fakePeer, id uint64) uint32 {
	fx.t.Helper()
	require.NoError(fx.t, fx.send(p, netcode.Reliable, &frame.RoomJoin{Ref: 1, RoomID: id}))
	fx.step()
	js := only(fx.t, p.take(), frame.KindRoomJoined)
	require.Len(fx.t, js, 1)
	return decode[frame.RoomJoined](fx.t, js[0].b).You
}

func (fx *fixture) relay(capacity, rate int) uint64 {
	fx.t.Helper()
	id, err := fx.h.CreateRoom(room.Config{Type: room.RelayType, Capacity: capacity, TickRate: rate})
	require.NoError(fx.t, err)
	fx.step()
	return id
}

func TestTicksBroadcastEveryInputOnceInOrder(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.relay(8, 10)
	a, b := fx.peer(), fx.peer()
	ma, mb := fx.join(a, id), fx.join(b, id)
	a.take()

	type in struct {
		member, seq uint32
		tick        uint64
	}
	var sent []in
	seq := map[uint32]uint32{}
	period := 100 * time.Millisecond
	// Ticks fall at t0+100ms, +200ms... Inputs arrive at varied times
	// between them; each must appear in the first tick at or after it.
	for tick := uint64(1); tick <= 6; tick++ {
		for i := 0; i < int(tick%3)+1; i++ {
			for _, x := range []struct {
				p *fakePeer
				m uint32
			}{{a, ma}, {b, mb}} {
				seq[x.m]++
				require.NoError(t, fx.send(x.p, netcode.Reliable, &frame.RoomInput{RoomID: id, Seq: seq[x.m], Data: []byte{byte(seq[x.m])}}))
				sent = append(sent, in{x.m, seq[x.m], tick})
			}
			fx.now = fx.now.Add(period / 10)
		}
		fx.now = t0.Add(time.Duration(tick) * period)
		fx.step()
	}

	var got []in
	ticks := map[uint64]int{}
	for _, f := range only(t, a.take(), frame.KindRoomTick) {
		rt := decode[frame.RoomTick](t, f.b)
		if f.ch == netcode.Reliable {
			ticks[rt.Tick]++
		}
		for _, x := range rt.Inputs {
			assert.Equal(t, []byte{byte(x.Seq)}, x.Data)
			got = append(got, in{x.Member, x.Seq, rt.Tick})
		}
	}
	assert.Equal(t, sent, got, "every input exactly once, in per-sender order, in the tick it arrived in")
	for tick := uint64(1); tick <= 6; tick++ {
		assert.Equal(t, 1, ticks[tick], "one reliable broadcast for tick %d", tick)
	}
	st := fx.h.Stats().Types[room.RelayType]
	assert.Equal(t, uint64(6), st.Ticks)
	assert.Equal(t, uint64(len(sent)), st.Inputs)
	assert.Zero(t, st.Skipped)
}

func TestLateTicksAreSkippedNotBunched(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.relay(4, 10) // deadlines every 100ms from t0
	a := fx.peer()
	fx.join(a, id)

	fx.now = t0.Add(100 * time.Millisecond)
	fx.step() // tick 1, on time
	fx.now = t0.Add(450 * time.Millisecond)
	fx.step() // deadline 200ms runs 250ms late; 300 and 400 are skipped
	fx.now = t0.Add(499 * time.Millisecond)
	fx.step() // nothing due
	fx.now = t0.Add(500 * time.Millisecond)
	fx.step() // tick 3 for deadline 500ms

	var ticks []uint64
	var times []int64
	for _, f := range only(t, a.take(), frame.KindRoomTick) {
		rt := decode[frame.RoomTick](t, f.b)
		ticks = append(ticks, rt.Tick)
		times = append(times, rt.ServerTimeUs)
	}
	assert.Equal(t, []uint64{1, 2, 3}, ticks, "one tick per step, never a burst of catch-up ticks")
	assert.Equal(t, []int64{t0.Add(100 * time.Millisecond).UnixMicro(), t0.Add(450 * time.Millisecond).UnixMicro(),
		t0.Add(500 * time.Millisecond).UnixMicro()}, times)
	st := fx.h.Stats().Types[room.RelayType]
	assert.Equal(t, uint64(2), st.Skipped)
	assert.Equal(t, uint64(3), st.Lateness.Count)
	assert.InDelta(t, float64(250*time.Millisecond), float64(st.Lateness.Max), float64(20*time.Millisecond))
}

func TestJoinLeaveEventsAndCapacity(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.relay(2, 10)
	a, b, c := fx.peer(), fx.peer(), fx.peer()
	ma := fx.join(a, id)

	require.NoError(t, fx.send(b, netcode.Reliable, &frame.RoomJoin{Ref: 77, RoomID: id}))
	fx.step()
	js := only(t, b.take(), frame.KindRoomJoined)
	require.Len(t, js, 1)
	joined := decode[frame.RoomJoined](t, js[0].b)
	assert.Equal(t, uint32(77), joined.Ref)
	assert.Equal(t, room.RelayType, joined.Type)
	assert.Equal(t, uint8(10), joined.TickRate)
	assert.Equal(t, []frame.RoomMember{{Member: ma, UserID: "ua", DisplayName: "name-ua"},
		{Member: joined.You, UserID: "ub", DisplayName: "name-ub"}}, joined.Members)
	evs := only(t, a.take(), frame.KindRoomEvent)
	require.Len(t, evs, 1)
	ev := decode[frame.RoomEvent](t, evs[0].b)
	assert.Equal(t, frame.RoomEvent{RoomID: id, Event: frame.RoomEventJoined, Member: joined.You, UserID: "ub", DisplayName: "name-ub"}, *ev)

	err := fx.send(c, netcode.Reliable, &frame.RoomJoin{Ref: 5, RoomID: id})
	require.Error(t, err)
	assert.Equal(t, netcode.CodeRoomFull, netcode.CodeOf(err))

	err = fx.send(a, netcode.Reliable, &frame.RoomJoin{Ref: 6, RoomID: id})
	assert.Equal(t, netcode.CodeAlreadyInRoom, netcode.CodeOf(err))
	err = fx.send(c, netcode.Reliable, &frame.RoomJoin{Ref: 6, RoomID: 12345})
	assert.Equal(t, netcode.CodeRoomNotFound, netcode.CodeOf(err))

	require.NoError(t, fx.send(b, netcode.Reliable, &frame.RoomLeave{Ref: 9, RoomID: id}))
	fx.step()
	oks := only(t, b.take(), frame.KindOK)
	require.Len(t, oks, 1)
	assert.Equal(t, uint32(9), decode[frame.OK](t, oks[0].b).Ref)
	evs = only(t, a.take(), frame.KindRoomEvent)
	require.Len(t, evs, 1)
	ev = decode[frame.RoomEvent](t, evs[0].b)
	assert.Equal(t, frame.RoomEventLeft, ev.Event)
	assert.Equal(t, "ub", ev.UserID)
	assert.Equal(t, netcode.CodeNotInRoom, netcode.CodeOf(fx.send(b, netcode.Reliable, &frame.RoomLeave{Ref: 10, RoomID: id})))

	// The seat is free again.
	fx.join(c, id)
	// A closed session leaves its rooms.
	fx.h.PeerClosed(c)
	fx.step()
	evs = only(t, a.take(), frame.KindRoomEvent)
	require.Len(t, evs, 2)
	assert.Equal(t, frame.RoomEventLeft, decode[frame.RoomEvent](t, evs[1].b).Event)
	assert.Equal(t, []frame.RoomInfo{{RoomID: id, Type: room.RelayType, Members: 1, Capacity: 2, TickRate: 10}},
		fx.h.ListRooms("", "", 0))
}

func TestMatchmakingFillsEmptiestOpenRoomFirst(t *testing.T) {
	fx := newFixture(t, nil)
	joc := func(p *fakePeer, label string) (uint64, error) {
		if err := fx.send(p, netcode.Reliable, &frame.RoomJoinOrCreate{Ref: 3, Type: room.RelayType, Label: label, Capacity: 3, TickRate: 20}); err != nil {
			return 0, err
		}
		fx.step()
		js := only(t, p.take(), frame.KindRoomJoined)
		require.Len(t, js, 1)
		j := decode[frame.RoomJoined](t, js[0].b)
		assert.Equal(t, uint16(3), j.Capacity)
		return j.RoomID, nil
	}
	ps := make([]*fakePeer, 8)
	for i := range ps {
		ps[i] = fx.peer()
	}
	r1, err := joc(ps[0], "eu")
	require.NoError(t, err)
	r1b, _ := joc(ps[1], "eu")
	r1c, _ := joc(ps[2], "eu")
	assert.Equal(t, r1, r1b, "an open room is filled before a new one is made")
	assert.Equal(t, r1, r1c)
	r2, _ := joc(ps[3], "eu")
	assert.NotEqual(t, r1, r2, "a full room makes a new one")
	other, _ := joc(ps[4], "us")
	assert.NotEqual(t, r2, other, "labels do not mix")

	// r1 now has a free seat and r2 two: the emptiest room, r2, is filled.
	require.NoError(t, fx.send(ps[0], netcode.Reliable, &frame.RoomLeave{Ref: 4, RoomID: r1}))
	fx.step()
	got, _ := joc(ps[5], "eu")
	assert.Equal(t, r2, got)
	got, _ = joc(ps[6], "eu")
	assert.Equal(t, r1, got, "r1 and r2 hold 2 each; the older one wins the tie")

	// Private rooms are never matchmade, and are not listed.
	require.NoError(t, fx.send(ps[7], netcode.Reliable, &frame.RoomCreate{Ref: 1, Type: room.RelayType, Label: "p", Private: true}))
	fx.step()
	priv := decode[frame.RoomJoined](t, only(t, ps[7].take(), frame.KindRoomJoined)[0].b).RoomID
	for _, r := range fx.h.ListRooms("", "", 0) {
		assert.NotEqual(t, priv, r.RoomID)
	}
	require.NoError(t, fx.send(ps[4], netcode.Reliable, &frame.RoomJoinOrCreate{Ref: 3, Type: room.RelayType, Label: "p"}))
	fx.step()
	assert.NotEqual(t, priv, decode[frame.RoomJoined](t, only(t, ps[4].take(), frame.KindRoomJoined)[0].b).RoomID)
	assert.Len(t, fx.h.ListRooms(room.RelayType, "eu", 0), 2)

	err = fx.send(ps[0], netcode.Reliable, &frame.RoomJoinOrCreate{Ref: 3, Type: "nope"})
	assert.Equal(t, netcode.CodeUnknownRoomType, netcode.CodeOf(err))
	err = fx.send(ps[0], netcode.Reliable, &frame.RoomJoinOrCreate{Ref: 3, Type: room.RelayType, Capacity: 10000})
	assert.Equal(t, netcode.CodeBadRoomConfig, netcode.CodeOf(err))
}

func TestEmptyRoomTimeout(t *testing.T) {
	fx := newFixture(t, nil)
	id, err := fx.h.CreateRoom(room.Config{Type: room.RelayType, TickRate: 10, EmptyTimeout: time.Second})
	require.NoError(t, err)
	fx.step()
	for i := 0; i < 9; i++ {
		fx.advance(100 * time.Millisecond)
	}
	require.Len(t, fx.h.ListRooms("", "", 0), 1, "alive before its timeout")
	a := fx.peer()
	fx.join(a, id)
	for i := 0; i < 30; i++ {
		fx.advance(100 * time.Millisecond)
	}
	require.Len(t, fx.h.ListRooms("", "", 0), 1, "an occupied room never times out")
	require.NoError(t, fx.send(a, netcode.Reliable, &frame.RoomLeave{Ref: 2, RoomID: id}))
	fx.step()
	for i := 0; i < 9; i++ {
		fx.advance(100 * time.Millisecond)
	}
	require.Len(t, fx.h.ListRooms("", "", 0), 1)
	fx.advance(100 * time.Millisecond)
	assert.Empty(t, fx.h.ListRooms("", "", 0), "closed one timeout after the last member left")
	st := fx.h.Stats()
	assert.Equal(t, uint64(1), st.Types[room.RelayType].Expired)
	assert.Zero(t, st.Rooms)
	assert.Equal(t, netcode.CodeRoomNotFound, netcode.CodeOf(fx.send(a, netcode.Reliable, &frame.RoomJoin{Ref: 3, RoomID: id})))
}

// bomb is a room type whose handler panics on the input "boom".
type bomb struct{ room.Base }

func (bomb) Input(_ *room.Context, in room.Input) {
	if string(in.Data) == "boom" {
		panic("bomb went off")
	}
}

func TestPanicClosesOnlyThatRoom(t *testing.T) {
	fx := newFixture(t, nil)
	require.NoError(t, fx.h.RegisterRoomType("bomb", func(room.Config) (room.Handler, error) { return bomb{}, nil }))
	require.ErrorIs(t, fx.h.RegisterRoomType("bomb", func(room.Config) (room.Handler, error) { return bomb{}, nil }), ErrTypeRegistered)
	bid, err := fx.h.CreateRoom(room.Config{Type: "bomb", TickRate: 10})
	require.NoError(t, err)
	rid := fx.relay(4, 10)
	a, b := fx.peer(), fx.peer()
	fx.join(a, bid)
	fx.join(b, bid)
	fx.join(a, rid)
	fx.join(b, rid)
	a.take()
	b.take()

	require.NoError(t, fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: bid, Seq: 1, Data: []byte("boom")}))
	require.NoError(t, fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: rid, Seq: 1, Data: []byte("fine")}))
	fx.advance(100 * time.Millisecond)

	for _, p := range []*fakePeer{a, b} {
		fs := p.take()
		closed := only(t, fs, frame.KindRoomClosed)
		require.Len(t, closed, 1)
		c := decode[frame.RoomClosed](t, closed[0].b)
		assert.Equal(t, bid, c.RoomID)
		assert.Equal(t, netcode.CodeRoomCrashed, c.Code)
		ticks := only(t, fs, frame.KindRoomTick)
		require.NotEmpty(t, ticks, "the other room keeps ticking")
		assert.Equal(t, rid, decode[frame.RoomTick](t, ticks[0].b).RoomID)
	}
	assert.Contains(t, fx.log.String(), "bomb went off")
	assert.Contains(t, fx.log.String(), "hub_test.go", "logged with its stack")
	st := fx.h.Stats()
	assert.Equal(t, uint64(1), st.Types["bomb"].Crashed)
	assert.Equal(t, 1, st.Rooms)
	assert.Equal(t, netcode.CodeNotInRoom, netcode.CodeOf(fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: bid, Data: []byte("x")})))

	fx.advance(100 * time.Millisecond)
	assert.NotEmpty(t, only(t, b.take(), frame.KindRoomTick))
}

func TestStuckMemberDoesNotHoldTheRoom(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.relay(4, 10)
	a, stuck := fx.peer(), fx.peer()
	ma := fx.join(a, id)
	fx.join(stuck, id)
	a.take()
	stuck.refuse.Store(true)
	for i := 1; i <= 20; i++ {
		require.NoError(t, fx.send(a, netcode.Unreliable, &frame.RoomInput{RoomID: id, Seq: uint32(i), Data: []byte("x")}))
		fx.advance(100 * time.Millisecond)
	}
	ticks := only(t, a.take(), frame.KindRoomTick)
	require.Len(t, ticks, 20, "the healthy member gets every tick")
	for i, f := range ticks {
		rt := decode[frame.RoomTick](t, f.b)
		assert.Equal(t, uint64(i+1), rt.Tick)
		require.Len(t, rt.Inputs, 1)
		assert.Equal(t, ma, rt.Inputs[0].Member)
		assert.Equal(t, netcode.Unreliable, f.ch, "unreliable inputs go out unreliably")
	}
	st := fx.h.Stats().Types[room.RelayType]
	assert.Equal(t, uint64(20), st.SendDropped, "the stuck member's frames are dropped and counted")
	assert.Zero(t, st.Skipped)
}

func TestInputLimits(t *testing.T) {
	fx := newFixture(t, func(c *Config) {
		c.MaxInputSize = 8
		c.MaxInputsPerSecond = 5
		c.InboxSize = 3
		c.MaxRoomsPerSession = 2
	})
	id := fx.relay(4, 10)
	a, b := fx.peer(), fx.peer()
	fx.join(a, id)
	fx.join(b, id)

	err := fx.send(a, netcode.Reliable, &frame.RoomInput{Ref: 4, RoomID: id, Data: make([]byte, 9)})
	assert.Equal(t, netcode.CodeInputTooLarge, netcode.CodeOf(err))
	for i := 0; i < 3; i++ {
		require.NoError(t, fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: id, Data: []byte("x")}))
	}
	err = fx.send(b, netcode.Reliable, &frame.RoomInput{RoomID: id, Data: []byte("x")})
	assert.Equal(t, netcode.CodeInputRateLimited, netcode.CodeOf(err), "inbox bound: drop newest")
	fx.advance(100 * time.Millisecond) // the tick drains the inbox
	for i := 0; i < 2; i++ {
		require.NoError(t, fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: id, Data: []byte("y")}))
	}
	// a has used its burst of 5 (3 + 2 within 100ms at 5/s: half a token back).
	err = fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: id, Data: []byte("z")})
	assert.Equal(t, netcode.CodeInputRateLimited, netcode.CodeOf(err))
	fx.now = fx.now.Add(time.Second)
	require.NoError(t, fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: id, Data: []byte("z")}), "tokens refill")

	err = fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: 999, Data: []byte("x")})
	assert.Equal(t, netcode.CodeNotInRoom, netcode.CodeOf(err))

	id2 := fx.relay(4, 10)
	fx.join(a, id2)
	id3 := fx.relay(4, 10)
	err = fx.send(a, netcode.Reliable, &frame.RoomJoin{Ref: 1, RoomID: id3})
	assert.Equal(t, netcode.CodeTooManyRooms, netcode.CodeOf(err))
	err = fx.send(a, netcode.Reliable, &frame.RoomCreate{Ref: 1, Type: room.RelayType})
	assert.Equal(t, netcode.CodeTooManyRooms, netcode.CodeOf(err))

	err = fx.send(a, netcode.Reliable, &frame.RoomTick{RoomID: id})
	assert.Equal(t, netcode.CodeUnknownKind, netcode.CodeOf(err))
	_, err = fx.h.HandleFrame(fx.now, a, netcode.Reliable, frame.KindRoomJoin, []byte{0x92, 17, 0xc1})
	assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(err))
	ref, err := fx.h.HandleFrame(fx.now, a, netcode.Reliable, frame.KindRoomJoin, []byte{0x93, 17, 5, 0xc1})
	assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(err))
	assert.Equal(t, uint32(5), ref, "a malformed request is refused with its ref, so the caller is not left waiting")

	d := fx.h.Stats().Drops
	assert.Equal(t, uint64(1), d.TooLarge)
	assert.Equal(t, uint64(1), d.InboxFull)
	assert.Equal(t, uint64(1), d.RateLimited)
	assert.Equal(t, uint64(1), d.NotMember)
}

func TestListRooms(t *testing.T) {
	fx := newFixture(t, func(c *Config) { c.MaxListed = 2 })
	for i := 0; i < 3; i++ {
		fx.relay(4, 10)
	}
	a := fx.peer()
	require.NoError(t, fx.send(a, netcode.Reliable, &frame.RoomList{Ref: 8}))
	res := only(t, a.take(), frame.KindRoomListResult)
	require.Len(t, res, 1)
	lr := decode[frame.RoomListResult](t, res[0].b)
	assert.Equal(t, uint32(8), lr.Ref)
	assert.Len(t, lr.Rooms, 2, "bounded by MaxListed")
}

func TestCloseRoomAndRunShutdown(t *testing.T) {
	defer goleak.VerifyNone(t, conntest.LeakOptions...)
	synctest.Test(t, func(t *testing.T) {
		h, err := New(Config{Workers: 2})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel) // a failed check still ends Run inside the bubble
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()

		a := &fakePeer{id: 1, user: "ua"}
		h.PeerOpened(a)
		send := func(f frame.Frame) error {
			b, err := frame.Marshal(f)
			require.NoError(t, err)
			_, err = h.HandleFrame(time.Now(), a, netcode.Reliable, f.Kind(), b)
			return err
		}
		// waitFor returns the first frame of kind k once every goroutine of
		// the hub is idle; it fails if none came.
		waitFor := func(k frame.Kind) *sentFrame {
			t.Helper()
			synctest.Wait()
			a.mu.Lock()
			defer a.mu.Unlock()
			for i := range a.frames {
				if kk, _ := frame.Peek(a.frames[i].b); kk == k {
					return &a.frames[i]
				}
			}
			require.FailNow(t, "no frame of that kind", "kind %d", k)
			return nil
		}
		require.NoError(t, send(&frame.RoomCreate{Ref: 1, Type: room.RelayType, TickRate: 100}))
		j := decode[frame.RoomJoined](t, waitFor(frame.KindRoomJoined).b)
		time.Sleep(2 * time.Second / DefaultMaxClientTickRate) // the first tick: one period and a phase, at the capped rate
		waitFor(frame.KindRoomTick)
		require.NoError(t, h.CloseRoom(j.RoomID, netcode.CodeRoomClosed, "game over"))
		c := decode[frame.RoomClosed](t, waitFor(frame.KindRoomClosed).b)
		assert.Equal(t, netcode.CodeRoomClosed, c.Code)
		assert.Equal(t, "game over", c.Message)
		a.take()

		require.NoError(t, send(&frame.RoomCreate{Ref: 2, Type: room.RelayType, TickRate: 100}))
		waitFor(frame.KindRoomJoined)
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return")
		}
		c = decode[frame.RoomClosed](t, waitFor(frame.KindRoomClosed).b)
		assert.Equal(t, netcode.CodeServerShutdown, c.Code)
		assert.Zero(t, h.Stats().Rooms)
		assert.ErrorIs(t, send(&frame.RoomCreate{Ref: 3, Type: room.RelayType}), ErrHubClosed)
		h.PeerClosed(a)
	})
}

// TestConcurrentJoinOrCreateMakesOneRoom races join-or-create calls of the
// same type and label from many sessions at once: they all fit in one
// room, so exactly one room is created and every call is seated in it.
func TestConcurrentJoinOrCreateMakesOneRoom(t *testing.T) {
	fx := newFixture(t, nil)
	const n = 16
	ps := make([]*fakePeer, n)
	for i := range ps {
		ps[i] = fx.peer()
	}
	b, err := frame.Marshal(&frame.RoomJoinOrCreate{Ref: 1, Type: room.RelayType, Label: "race", Capacity: n})
	require.NoError(t, err)
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := fx.h.HandleFrame(t0, p, netcode.Reliable, frame.KindRoomJoinOrCreate, b)
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	fx.step()
	rooms := fx.h.ListRooms(room.RelayType, "race", 0)
	require.Len(t, rooms, 1, "one room, not one per racing call")
	assert.Equal(t, uint16(n), rooms[0].Members)
	for _, p := range ps {
		js := only(t, p.take(), frame.KindRoomJoined)
		require.Len(t, js, 1)
		assert.Equal(t, rooms[0].RoomID, decode[frame.RoomJoined](t, js[0].b).RoomID)
	}
	assert.Equal(t, uint64(1), fx.h.Stats().Types[room.RelayType].Created)
}

// TestInputFloodGetsBoundedErrors floods a room with inputs past every
// limit: the session gets at most MaxInputErrorsPerSecond Error replies
// per second; the other refusals are dropped and counted.
func TestInputFloodGetsBoundedErrors(t *testing.T) {
	fx := newFixture(t, func(c *Config) {
		c.MaxInputsPerSecond = 10
		c.MaxInputErrorsPerSecond = 3
	})
	id := fx.relay(4, 10)
	a := fx.peer()
	fx.join(a, id)
	// flood sends 1000 inputs at one instant and returns how many were
	// answered with an Error and how many reached the next tick.
	flood := func() (answered, relayed int) {
		a.take()
		for i := 0; i < 1000; i++ {
			if err := fx.send(a, netcode.Unreliable, &frame.RoomInput{RoomID: id, Seq: uint32(i), Data: []byte("x")}); err != nil {
				answered++
				assert.Equal(t, netcode.CodeInputRateLimited, netcode.CodeOf(err))
			}
		}
		fx.advance(100 * time.Millisecond)
		for _, f := range only(t, a.take(), frame.KindRoomTick) {
			relayed += len(decode[frame.RoomTick](t, f.b).Inputs)
		}
		return answered, relayed
	}
	answered, relayed := flood()
	assert.Equal(t, 10, relayed, "the burst of inputs gets through")
	assert.Equal(t, 3, answered, "only MaxInputErrorsPerSecond refusals are answered")
	d := fx.h.Stats().Drops
	assert.Equal(t, uint64(990), d.RateLimited, "every refused input is counted")
	assert.Equal(t, uint64(987), d.Unanswered)

	fx.now = fx.now.Add(time.Second) // both buckets refill
	answered, relayed = flood()
	assert.Equal(t, 10, relayed)
	assert.Equal(t, 3, answered)
	assert.Equal(t, uint64(2*987), fx.h.Stats().Drops.Unanswered)
}

// TestStatsAreJSON checks the snapshot the engine serves over HTTP.
func TestStatsAreJSON(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.relay(4, 10)
	a := fx.peer()
	fx.join(a, id)
	fx.advance(150 * time.Millisecond) // one tick, 50ms late
	b, err := json.Marshal(fx.h.ServiceStats())
	require.NoError(t, err)
	var m struct {
		Rooms int `json:"rooms"`
		Types map[string]struct {
			Ticks    uint64 `json:"ticks"`
			Skipped  uint64 `json:"skipped"`
			Lateness struct {
				Count uint64 `json:"count"`
				MaxNs int64  `json:"max_ns"`
			} `json:"lateness"`
			TickTime struct {
				Count uint64 `json:"count"`
			} `json:"tick_time"`
		} `json:"types"`
		Drops map[string]uint64 `json:"drops"`
	}
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	assert.Equal(t, 1, m.Rooms)
	rt := m.Types[room.RelayType]
	assert.Equal(t, uint64(1), rt.Ticks)
	assert.Equal(t, uint64(1), rt.Lateness.Count)
	assert.InDelta(t, float64(50*time.Millisecond), float64(rt.Lateness.MaxNs), float64(5*time.Millisecond))
	assert.Equal(t, uint64(1), rt.TickTime.Count)
	assert.Contains(t, m.Drops, "unanswered")
	assert.Contains(t, m.Drops, "inbox_full")
}

// TestRelayDropsAreCounted overfills one relay tick: what the relay drops
// by its own bound shows in the room type's stats.
func TestRelayDropsAreCounted(t *testing.T) {
	fx := newFixture(t, func(c *Config) { c.MaxInputSize = frame.MaxRoomInput })
	id := fx.relay(4, 10)
	a := fx.peer()
	fx.join(a, id)
	a.take()
	const n = 30
	big := make([]byte, frame.MaxRoomInput)
	for i := 0; i < n; i++ {
		require.NoError(t, fx.send(a, netcode.Reliable, &frame.RoomInput{RoomID: id, Seq: uint32(i + 1), Data: big}))
	}
	fx.advance(100 * time.Millisecond)
	relayed := 0
	for _, f := range only(t, a.take(), frame.KindRoomTick) {
		relayed += len(decode[frame.RoomTick](t, f.b).Inputs)
	}
	st := fx.h.Stats().Types[room.RelayType]
	require.Less(t, relayed, n, "one tick cannot carry them all")
	assert.Equal(t, uint64(n-relayed), st.HandlerDropped)
	assert.Equal(t, uint64(n), st.Inputs)
}

// badCreated panics in Created.
type badCreated struct{ room.Base }

func (badCreated) Created(*room.Context) { panic("cannot start") }

// TestPanicInFactoryOrCreatedIsLogged: a room type that panics while
// being made refuses the create with room_crashed, logs the panic with its
// stack, and leaves no room behind.
func TestPanicInFactoryOrCreatedIsLogged(t *testing.T) {
	fx := newFixture(t, nil)
	require.NoError(t, fx.h.RegisterRoomType("explodes", func(room.Config) (room.Handler, error) { panic("factory blew up") }))
	require.NoError(t, fx.h.RegisterRoomType("badcreated", func(room.Config) (room.Handler, error) { return badCreated{}, nil }))
	a := fx.peer()
	for typ, want := range map[string]string{"explodes": "factory blew up", "badcreated": "cannot start"} {
		err := fx.send(a, netcode.Reliable, &frame.RoomCreate{Ref: 3, Type: typ})
		assert.Equal(t, netcode.CodeRoomCrashed, netcode.CodeOf(err), typ)
		assert.Contains(t, fx.log.String(), want)
	}
	assert.Contains(t, fx.log.String(), "hub_test.go", "logged with the stack")
	assert.Zero(t, fx.h.Stats().Rooms)
	fx.relay(2, 10) // the hub still works
	assert.Equal(t, 1, fx.h.Stats().Rooms)
}

// TestBroadcastIsEncodedOnce checks that every member is queued the very
// same bytes of a tick broadcast, not a copy each.
func TestBroadcastIsEncodedOnce(t *testing.T) {
	fx := newFixture(t, nil)
	id := fx.relay(8, 10)
	ps := []*fakePeer{fx.peer(), fx.peer(), fx.peer()}
	for _, p := range ps {
		fx.join(p, id)
	}
	for _, p := range ps {
		p.take()
	}
	require.NoError(t, fx.send(ps[0], netcode.Reliable, &frame.RoomInput{RoomID: id, Seq: 1, Data: []byte("hi")}))
	fx.advance(100 * time.Millisecond)
	var first []byte
	for _, p := range ps {
		ticks := only(t, p.take(), frame.KindRoomTick)
		require.Len(t, ticks, 1)
		if first == nil {
			first = ticks[0].b
			continue
		}
		assert.Same(t, &first[0], &ticks[0].b[0], "one encoding shared by every member")
	}
}
