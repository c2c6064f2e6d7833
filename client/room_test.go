package client_test

import (
	"context"
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
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const roomWait = 10 * time.Second

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Transport names as the tests pick them.
const (
	transportKCP = "kcp"
	transportTCP = "tcp"
)

func dialRoomClient(t testing.TB, srv *server.Server, tr, name string, o client.Options) *client.Client {
	t.Helper()
	tok, err := client.GuestToken(ctxT(t, roomWait), srv.HTTPURL(), name)
	require.NoError(t, err)
	o.Token = tok
	if tr == transportTCP {
		o.Dial = tcp.Dialer{Addr: srv.Addr(tr)}.Dial
	} else {
		o.Dial = kcp.Dialer{Addr: srv.Addr(tr)}.Dial
	}
	c, err := client.Dial(ctxT(t, roomWait), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// nextUpdate waits for the next room push for r.
func nextUpdate(t testing.TB, c *client.Client, r *client.Room) client.RoomUpdate {
	t.Helper()
	timeout := time.After(roomWait)
	for {
		select {
		case m, ok := <-c.Messages():
			require.True(t, ok, "client ended: %v", c.Err())
			u, isRoom, err := client.DecodeRoomUpdate(m)
			require.NoError(t, err)
			if isRoom && r.Owns(u) {
				return u
			}
		case <-timeout:
			t.Fatal("no room update within the timeout")
		}
	}
}

type seen struct {
	member, seq uint32
	ch          netcode.Channel
}

// TestRoomKCPAndTCPShareTicks puts a KCP client and a TCP client in one
// relay room: each receives the other's inputs through the same tick
// broadcasts, and unreliable inputs reach the KCP client on its unreliable
// channel.
func TestRoomKCPAndTCPShareTicks(t *testing.T) {
	srv := servertest.Start(t, server.Config{Engine: engine.Config{AdminToken: "admin-token-0123456789"}, AdminAddr: servertest.Loopback})
	kc := dialRoomClient(t, srv, transportKCP, "kay", client.Options{})
	tc := dialRoomClient(t, srv, transportTCP, "tee", client.Options{})
	ctx := ctxT(t, roomWait)

	rk, err := kc.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "e2e", Capacity: 4, TickRate: 30})
	require.NoError(t, err)
	assert.Equal(t, room.RelayType, rk.Joined().Type)
	assert.Equal(t, uint8(30), rk.Joined().TickRate)
	rt, err := tc.JoinRoom(ctx, rk.ID())
	require.NoError(t, err)
	assert.Len(t, rt.Joined().Members, 2)
	assert.NotEqual(t, rk.Me(), rt.Me())

	// The KCP member hears that the TCP member joined.
	for {
		u := nextUpdate(t, kc, rk)
		if u.Event != nil {
			assert.Equal(t, frame.RoomEventJoined, u.Event.Event)
			assert.Equal(t, rt.Me(), u.Event.Member)
			assert.Equal(t, "tee", u.Event.DisplayName)
			break
		}
	}

	const n = 20
	for i := 0; i < n; i++ {
		_, err := rk.SendInput(netcode.Reliable, []byte("k"))
		require.NoError(t, err)
		_, err = rt.SendInput(netcode.Reliable, []byte("t"))
		require.NoError(t, err)
		_, err = rk.SendInput(netcode.Unreliable, []byte("ku"))
		require.NoError(t, err)
		_, err = rt.SendInput(netcode.Unreliable, []byte("tu"))
		require.NoError(t, err)
	}

	// collect gathers, per receiver, every input of every tick until both
	// senders' n reliable inputs have been seen, keyed by tick.
	collect := func(c *client.Client, r *client.Room) (map[uint64][]seen, []seen) {
		byTick := map[uint64][]seen{}
		var unrel []seen
		rel := map[uint32]int{}
		var lastRel uint64
		for {
			u := nextUpdate(t, c, r)
			if u.Tick == nil {
				continue
			}
			if rel[rk.Me()] >= n && rel[rt.Me()] >= n && u.Tick.Tick > lastRel {
				break // a later tick: the unreliable frame of lastRel came before it
			}
			if u.Channel == netcode.Reliable {
				lastRel = u.Tick.Tick
			}
			for _, in := range u.Tick.Inputs {
				s := seen{in.Member, in.Seq, u.Channel}
				if u.Channel == netcode.Reliable {
					byTick[u.Tick.Tick] = append(byTick[u.Tick.Tick], s)
					rel[in.Member]++
				} else {
					unrel = append(unrel, s)
				}
			}
		}
		return byTick, unrel
	}
	kTicks, kUnrel := collect(kc, rk)
	tTicks, tUnrel := collect(tc, rt)
	assert.Equal(t, kTicks, tTicks, "both clients see the same inputs in the same ticks")

	// Reliable inputs: each exactly once, in each sender's order.
	checkOrder(t, kTicks)

	// Unreliable inputs came through the unreliable path on KCP; on a
	// loopback link none should be lost, but the test only requires that
	// what arrived came unreliably and from both members.
	require.NotEmpty(t, kUnrel, "unreliable ticks reach the KCP client")
	members := map[uint32]bool{}
	for _, s := range kUnrel {
		assert.Equal(t, netcode.Unreliable, s.ch)
		members[s.member] = true
	}
	assert.True(t, members[rk.Me()] && members[rt.Me()], "both members' unreliable inputs reach the KCP client")
	for _, s := range tUnrel {
		assert.Equal(t, netcode.Unreliable, s.ch)
	}

	// Leave: the other member is told.
	require.NoError(t, rt.Leave(ctx))
	for {
		u := nextUpdate(t, kc, rk)
		if u.Event != nil {
			assert.Equal(t, frame.RoomEventLeft, u.Event.Event)
			assert.Equal(t, rt.Me(), u.Event.Member)
			break
		}
	}
	rooms, err := tc.ListRooms(ctx, room.RelayType, "e2e", 0)
	require.NoError(t, err)
	require.Len(t, rooms, 1)
	assert.Equal(t, uint16(1), rooms[0].Members)

	// The hub's per-type tick metrics are served by GET /v1/stats on the admin listener.
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+srv.AdminAddr()+"/v1/stats", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer admin-token-0123456789") // the admin listener is behind the admin token
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var st struct {
		Services struct {
			Rooms struct {
				Types map[string]struct {
					Ticks    uint64 `json:"ticks"`
					Inputs   uint64 `json:"inputs"`
					Lateness struct {
						Count uint64 `json:"count"`
					} `json:"lateness"`
				} `json:"types"`
			} `json:"rooms"`
		} `json:"services"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	relay := st.Services.Rooms.Types[room.RelayType]
	assert.Positive(t, relay.Ticks)
	assert.Positive(t, relay.Lateness.Count)
	assert.GreaterOrEqual(t, relay.Inputs, uint64(2*n), "at least every reliable input was counted")
}

func maxTick(ts []uint64) uint64 {
	var m uint64
	for _, t := range ts {
		m = max(m, t)
	}
	return m
}

// checkOrder asserts that, across ticks in order, each sender's reliable
// sequence numbers appear exactly once and increasing from 1.
func checkOrder(t *testing.T, byTick map[uint64][]seen) {
	t.Helper()
	var ticks []uint64
	for tick := range byTick {
		ticks = append(ticks, tick)
	}
	next := map[uint32]uint32{}
	for tick := uint64(0); tick <= maxTick(ticks); tick++ {
		for _, s := range byTick[tick] {
			if next[s.member] == 0 {
				next[s.member] = s.seq // the first reliable seq of this sender
			}
			require.Equal(t, next[s.member], s.seq, "member %d in tick %d", s.member, tick)
			next[s.member] = s.seq + 2 // each sender alternated reliable and unreliable inputs
		}
	}
}

func TestRoomErrorsOverTheWire(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	a := dialRoomClient(t, srv, transportTCP, "a", client.Options{})
	b := dialRoomClient(t, srv, transportKCP, "b", client.Options{})
	c := dialRoomClient(t, srv, transportTCP, "c", client.Options{})
	ctx := ctxT(t, roomWait)

	r, err := a.JoinOrCreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "duo", Capacity: 2})
	require.NoError(t, err)
	r2, err := b.JoinOrCreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "duo", Capacity: 2})
	require.NoError(t, err)
	assert.Equal(t, r.ID(), r2.ID(), "matchmaking fills the open room")

	_, err = c.JoinRoom(ctx, r.ID())
	assert.Equal(t, netcode.CodeRoomFull, netcode.CodeOf(err))
	_, err = c.JoinRoom(ctx, 12345)
	assert.Equal(t, netcode.CodeRoomNotFound, netcode.CodeOf(err))
	_, err = c.CreateRoom(ctx, client.RoomOptions{Type: "no-such-type"})
	assert.Equal(t, netcode.CodeUnknownRoomType, netcode.CodeOf(err))
	r3, err := c.JoinOrCreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "duo", Capacity: 2})
	require.NoError(t, err)
	assert.NotEqual(t, r.ID(), r3.ID(), "a full room makes a new one")
}

// crasher panics in Tick once it has received the input "boom".
type crasher struct {
	room.Base
	armed bool
}

func (c *crasher) Input(_ *room.Context, in room.Input) { c.armed = string(in.Data) == "boom" }
func (c *crasher) Tick(*room.Context) {
	if c.armed {
		panic("crasher: boom")
	}
}

func TestRoomCrashIsIsolatedOverTheWire(t *testing.T) {
	srv := servertest.Start(t, server.Config{RoomTypes: map[string]room.Factory{
		"crasher": func(room.Config) (room.Handler, error) { return &crasher{}, nil },
	}})
	a := dialRoomClient(t, srv, transportKCP, "a", client.Options{})
	ctx := ctxT(t, roomWait)
	bad, err := a.CreateRoom(ctx, client.RoomOptions{Type: "crasher", TickRate: 50})
	require.NoError(t, err)
	good, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, TickRate: 50})
	require.NoError(t, err)
	_, err = bad.SendInput(netcode.Reliable, []byte("boom"))
	require.NoError(t, err)
	for {
		u := nextUpdate(t, a, bad)
		if u.Closed != nil {
			assert.Equal(t, netcode.CodeRoomCrashed, u.Closed.Code)
			break
		}
	}
	// The server and the other room keep running.
	seq, err := good.SendInput(netcode.Reliable, []byte("still here"))
	require.NoError(t, err)
	for {
		u := nextUpdate(t, a, good)
		if u.Tick != nil && len(u.Tick.Inputs) == 1 && u.Tick.Inputs[0].Seq == seq {
			break
		}
	}
	assert.Equal(t, uint64(1), srv.Rooms().Stats().Types["crasher"].Crashed)
}

// TestStuckClientDoesNotHoldTheRoom puts a client that stops reading in a
// busy room: the healthy member keeps receiving every input in order, and
// the stuck session is disconnected by its full queue (the room is told it
// left) instead of slowing the tick down.
func TestStuckClientDoesNotHoldTheRoom(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	srv := servertest.Start(t, server.Config{
		Engine:     engine.Config{MaxFramesPerSecond: 5000, ReliableQueue: 64},
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback, Config: tcp.Config{WriteTimeout: writeTimeout}}},
		Rooms:      rooms.Config{MaxInputSize: 4096, MaxInputsPerSecond: 5000, InboxSize: 4096, MaxClientTickRate: room.MaxTickRate},
	})
	ctx := ctxT(t, 30*time.Second)
	healthy := dialRoomClient(t, srv, transportTCP, "healthy", client.Options{QueueSize: 8192})
	release := make(chan struct{})
	stuckCalled := make(chan struct{}, 1)
	stuck := dialRoomClient(t, srv, transportTCP, "stuck", client.Options{Handler: func(client.Message) {
		select {
		case stuckCalled <- struct{}{}:
		default:
		}
		<-release // the reader stops here: the socket fills up
	}})
	// Registered after the client's own cleanup, so it runs first: the
	// client's Close waits for its reader.
	t.Cleanup(func() { close(release) })

	hr, err := healthy.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, TickRate: 128, Capacity: 2})
	require.NoError(t, err)
	_, err = stuck.JoinRoom(ctx, hr.ID())
	require.NoError(t, err)
	select {
	case <-stuckCalled:
	case <-ctx.Done():
		t.Fatal("the stuck client never received a push")
	}

	payload := make([]byte, 4000)
	const total = 4000  // ~16 MB to the stuck member: beyond its socket buffers and queue
	const inFlight = 12 // at most 12 inputs of 4 KB per tick: every tick fits one frame
	got := uint32(0)
	left := false
	sent := 0
	for (got < total || !left) && ctx.Err() == nil {
		if sent < total && sent < int(got)+inFlight {
			for sent < total && sent < int(got)+inFlight {
				_, err := hr.SendInput(netcode.Reliable, payload)
				require.NoError(t, err)
				sent++
			}
		}
		select {
		case m := <-healthy.Messages():
			u, ok, err := client.DecodeRoomUpdate(m)
			require.NoError(t, err)
			if !ok {
				continue
			}
			if u.Event != nil && u.Event.Event == frame.RoomEventLeft {
				left = true
			}
			if u.Tick != nil && u.Channel == netcode.Reliable {
				for _, in := range u.Tick.Inputs {
					require.Equal(t, got+1, in.Seq, "every input once, in order")
					got = in.Seq
				}
			}
		case <-ctx.Done():
		}
	}
	require.NoError(t, ctx.Err(), "got %d of %d inputs, stuck member left: %v", got, total, left)
	st := srv.Rooms().Stats().Types[room.RelayType]
	t.Logf("relay stats: ticks %d skipped %d lateness p99 %v tick p99 %v dropped sends %d",
		st.Ticks, st.Skipped, st.Lateness.P99, st.TickTime.P99, st.SendDropped)
	// Had a tick waited on the stuck member's socket it would have lasted
	// at least the transport's write timeout; CPU contention alone never
	// stretches a tick that far.
	assert.Less(t, st.TickTime.Max, writeTimeout, "delivering to a stuck member never blocks the tick")
}

func TestDecodeRoomUpdate(t *testing.T) {
	b, err := frame.Marshal(&frame.RoomEvent{RoomID: 9, Event: frame.RoomEventLeft, Member: 3, UserID: "u"})
	require.NoError(t, err)
	u, ok, err := client.DecodeRoomUpdate(client.Message{Kind: frame.KindRoomEvent, Data: b})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, uint64(9), u.RoomID)
	require.NotNil(t, u.Event)
	assert.Equal(t, uint32(3), u.Event.Member)
	assert.Nil(t, u.Tick)

	b, err = frame.Marshal(&frame.Pong{ClientTimeUs: 1})
	require.NoError(t, err)
	_, ok, err = client.DecodeRoomUpdate(client.Message{Kind: frame.KindPong, Data: b})
	assert.NoError(t, err)
	assert.False(t, ok, "not a room push")

	_, ok, err = client.DecodeRoomUpdate(client.Message{Kind: frame.KindRoomTick, Data: []byte{0x91, 0x01}})
	assert.Error(t, err)
	assert.False(t, ok)
}

// TestInputFloodGetsFewErrorsOverTheWire floods the server with inputs it
// must refuse: the client gets a handful of Error frames, not one per
// input, stays connected, and the server counts every refusal.
func TestInputFloodGetsFewErrorsOverTheWire(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Engine: engine.Config{MaxFramesPerSecond: 100000},
		Rooms:  rooms.Config{MaxInputErrorsPerSecond: 2},
	})
	c := dialRoomClient(t, srv, transportTCP, "flood", client.Options{})
	ctx := ctxT(t, roomWait)
	const n = 500
	start := time.Now()
	for i := 0; i < n; i++ {
		require.NoError(t, c.Send(netcode.Reliable, &frame.RoomInput{RoomID: 12345, Seq: uint32(i), Data: []byte("x")}))
	}
	// The reply to a later request arrives after every Error the flood
	// caused (one ordered reliable stream), so counting now is complete.
	_, err := c.ListRooms(ctx, "", "", 0)
	require.NoError(t, err, "the session survives the flood")
	// The burst of 2, plus 2 per second of flood for the refill.
	bound := 2 + int(2*time.Since(start).Seconds()+1)
	errs := 0
	for done := false; !done; {
		select {
		case m := <-c.Messages():
			if m.Kind == frame.KindError {
				errs++
			}
		default:
			done = true
		}
	}
	assert.Positive(t, errs, "refusals are still reported")
	assert.LessOrEqual(t, errs, bound, "at most the burst plus what refilled during the flood")
	d := srv.Rooms().Stats().Drops
	assert.Equal(t, uint64(n), d.NotMember, "every refusal is counted")
	assert.Equal(t, uint64(n-errs), d.Unanswered)
}
