package bench

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

func TestRoomTiny(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := RunRoom(ctx, &Env{Target: l.Target()}, RoomConfig{
		Rooms: 2, Clients: 2, TickHz: 30, InputHz: 20, Warmup: 200 * time.Millisecond, Duration: time.Second,
	})
	require.NoError(t, err)
	require.Equal(t, "room", rep.Scenario)
	require.Len(t, rep.Results, 1)
	r := rep.Results[0]
	checkShape(t, r)
	// At most 20 inputs/s x 4 clients x 1 s, each delivered to 2 members;
	// under the race detector on a busy machine the generator may fall
	// behind (the report then says so), so only a floor is checked.
	require.LessOrEqual(t, r.Sent, int64(176))
	require.GreaterOrEqual(t, r.Sent, int64(40))
	require.InDelta(t, float64(r.Sent)/2, r.Extra["inputs_per_s"], 1)
	require.Equal(t, r.Sent, r.Received, "loopback delivers every input to every member")
	require.Positive(t, r.Extra["join_p50_us"])
	require.NotNil(t, rep.Server)
	require.Positive(t, rep.Server.RSSBytes)
	// An input waits at most one tick (33 ms) plus the path; allow slack
	// for a loaded machine.
	require.Less(t, r.P50Us, 200_000.0)
}

// The room scenario over the browser transports: every input reaches
// every member on loopback (the unreliable channel loses nothing there
// either, but only a floor is checked for it).
func TestRoomBrowserTransports(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ts := []string{TransportWS, TransportLongPoll, TransportWebRTC, TransportWebRTCUnreliable}
	rep, err := RunRoom(ctx, &Env{Target: l.Target()}, RoomConfig{
		Transports: ts, Rooms: 1, Clients: 2, TickHz: 30, InputHz: 20, Warmup: 200 * time.Millisecond, Duration: time.Second,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, len(ts))
	for i, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, ts[i], r.Name)
		require.Equal(t, crossesOf(r.Name), r.Crosses)
		if channelOf(r.Name) == netcode.Reliable {
			require.Equal(t, r.Sent, r.Received, "%s: a reliable transport delivers every input", r.Name)
		}
		require.Less(t, r.P50Us, 200_000.0, r.Name)
	}
}

func TestRoomConfigValidation(t *testing.T) {
	for name, c := range map[string]RoomConfig{
		"baseline transport": {Transports: []string{TransportKCPBare}},
		"unknown transport":  {Transports: []string{"quic"}},
		"tick rate":          {TickHz: 500},
		"tiny input":         {Size: 4},
		"negative rooms":     {Rooms: -1},
	} {
		_, err := c.populate()
		require.ErrorIs(t, err, ErrConfig, name)
	}
}

// The room scenario over the other transports, the UDP one through a
// lossy proxy: every row has the documented shape, and the reliable
// transport still delivers everything.
func TestRoomOtherTransportsImpaired(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := RunRoom(ctx, &Env{Target: l.Target()}, RoomConfig{
		Transports: []string{TransportKCPUnreliable, TransportTCP}, Rooms: 1, Clients: 3, TickHz: 30, InputHz: 20,
		Warmup: 200 * time.Millisecond, Duration: time.Second,
		Impairment: Impairment{LossPct: 10, Delay: time.Millisecond}, Seed: 3,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, 2)
	byName := map[string]Result{}
	for _, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, "loss 10% delay 1ms", r.Impairment)
		require.GreaterOrEqual(t, r.P50Us, 2000.0, "%s: the proxy adds 1 ms each way", r.Name)
		byName[r.Name] = r
	}
	// 10% loss each way on unreliable inputs and ticks: some are lost.
	require.Less(t, byName[TransportKCPUnreliable].DeliveredPct, 100.0)
	// TCP is only delayed by its proxy: it delivers everything, and says
	// that loss was not applied.
	require.Equal(t, byName[TransportTCP].Sent, byName[TransportTCP].Received)
	require.Contains(t, byName[TransportTCP].Note, "loss")
	require.NotEmpty(t, rep.Notes, "the report says loss was not injected on tcp")
}

// KCP sessions of a room run share client sockets, SessionsPerSocket
// consecutive sessions each, over real loopback sockets; every input
// still reaches every member, and the report says how many sockets and
// broadcasts there were and whether the generator kept up. Nothing here
// depends on how fast the machine is: the counts are exact, and the
// broadcast rate is checked against the count it was made from, not
// against the nominal tick rate (a loaded machine runs fewer ticks).
func TestRoomSharedClientSockets(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct{ perSocket, sockets int }{{4, 2}, {1, 6}} {
		rep, err := RunRoom(ctx, &Env{Target: l.Target()}, RoomConfig{
			Rooms: 2, Clients: 3, TickHz: 30, InputHz: 20, Warmup: 200 * time.Millisecond, Duration: time.Second,
			SessionsPerSocket: c.perSocket,
		})
		require.NoError(t, err)
		r := rep.Results[0]
		checkShape(t, r)
		require.Positive(t, r.Sent, "per socket %d", c.perSocket)
		require.Equal(t, r.Sent, r.Received, "per socket %d: loopback delivers every input to every member", c.perSocket)
		require.Equal(t, float64(c.sockets), r.Extra["client_sockets"], "per socket %d", c.perSocket)
		// The rate is the broadcasts received in the measured window over
		// its duration: a whole, positive number of them (how many the
		// server's ticks delivered depends on the machine's load).
		ticks := r.Extra["broadcasts_per_s"] * r.DurationS
		require.InDelta(t, math.Round(ticks), ticks, 1e-6, "per socket %d: broadcasts_per_s x duration is a count", c.perSocket)
		require.Positive(t, ticks, "per socket %d", c.perSocket)
		require.Contains(t, r.Extra, "generator_saturated")
		require.Equal(t, c.perSocket, rep.Config.(map[string]any)["sessions_per_socket"])
	}
}

// The generator's players whose sessions share a KCP client socket and
// its event loop each get their own room's broadcasts, every one: each
// member counts exactly the measured inputs its room's members sent,
// nothing missing, nothing of another session's. Two rooms of unequal
// size (3 and 2) share the first socket (sessions 0-3), so that a
// broadcast handed to the wrong session changes both sessions' counts.
func TestRoomSharedSocketDeliversPerSession(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := &Env{Target: l.Target()}
	fl, err := openFleet(env, TransportKCP, l.Target().KCP, 4)
	require.NoError(t, err)
	rooms := []int{0, 0, 0, 1, 1} // player i's room
	clock := &roomClock{base: time.Now()}
	shared := []*roomTicks{newRoomTicks(), newRoomTicks()}
	ps := &players{}
	t.Cleanup(func() { // on a failure; closing twice is harmless
		ps.close(len(ps.all))
		_ = fl.close()
	})
	for i, r := range rooms {
		tok, err := client.GuestToken(ctx, l.Target().httpBase(), fmt.Sprintf("s%d", i))
		require.NoError(t, err)
		p := newPlayer(uint32(i), r, fl.group(i), clock)
		p.room = shared[r]
		conn, err := fl.dial(ctx, i, tok)
		require.NoError(t, err)
		p.attach(conn)
		p.shared = fl.shared
		ps.all = append(ps.all, p)
		require.NoError(t, p.handshake(ctx, tok, "test"))
		ps.start(p)
	}
	require.True(t, fl.shared)
	require.Equal(t, 2, fl.numSockets(), "sessions 0-3 share a socket, 4 has the second")
	creators := map[int]*player{}
	for _, p := range ps.all {
		if c, ok := creators[p.roomIdx]; ok {
			require.NoError(t, p.enter(ctx, nil, c.roomID))
			continue
		}
		require.NoError(t, p.enter(ctx, &frame.RoomCreate{Type: room.RelayType, Capacity: 3, TickRate: 30, Private: true}, 0))
		creators[p.roomIdx] = p
	}

	from := clock.now() + 100*time.Millisecond
	clock.setWindow(from, from+time.Second)
	_, err = runSenders(ctx, clock, ps.all, senderConfig{
		ch: netcode.Reliable, size: 64, inputHz: 20, measureFrom: from, measureTo: from + time.Second,
	})
	require.NoError(t, err)
	perRoom := make([]int64, len(shared))
	for _, p := range ps.all {
		require.Positive(t, p.sent.Load(), "player %d sent measured inputs", p.idx)
		perRoom[p.roomIdx] += p.sent.Load()
	}
	// Every member counts its room's inputs once: wait until each has
	// them all (however slow the machine), then, after a few more ticks,
	// check that none counted more.
	delivered := func() []int64 {
		d := make([]int64, len(ps.all))
		for i, p := range ps.all {
			d[i] = p.delivered.Load()
		}
		return d
	}
	want := make([]int64, len(ps.all))
	for i, p := range ps.all {
		want[i] = perRoom[p.roomIdx]
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got := delivered()
		for i := range got {
			assert.GreaterOrEqual(c, got[i], want[i], "member %d of room %d: its room sent %v", i, rooms[i], perRoom)
		}
	}, 20*time.Second, 10*time.Millisecond, "every member gets its room's inputs")
	// A few more ticks of the rooms (which carry no measured inputs) pass
	// before the counts are final.
	seen := make([]uint64, len(shared))
	for r, rt := range shared {
		seen[r] = lastTick(rt)
	}
	require.Eventually(t, func() bool {
		for r, rt := range shared {
			if lastTick(rt) < seen[r]+3 {
				return false
			}
		}
		return true
	}, 20*time.Second, 10*time.Millisecond, "the rooms go on ticking")
	ps.close(len(ps.all))
	require.NoError(t, fl.close())
	require.Equal(t, want, delivered(), "each member counted exactly its room's inputs (rooms %v)", rooms)
	for _, p := range ps.all {
		require.Zero(t, p.badTicks.Load(), "player %d", p.idx)
		require.ErrorIs(t, p.readErr, netcode.ErrClosed, "player %d", p.idx)
	}
}

// lastTick is the number of the last broadcast a room's members decoded.
func lastTick(rt *roomTicks) uint64 {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.tick.Tick
}

// A player refused by the server (a bad token) gets the server's code,
// as an SDK client does.
func TestPlayerRefused(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := &Env{Target: l.Target()}
	fl, err := openFleet(env, TransportKCP, l.Target().KCP, 2)
	require.NoError(t, err)
	defer func() { require.NoError(t, fl.close()) }()
	conn, err := fl.dial(ctx, 0, "not-a-token")
	require.NoError(t, err)
	defer func() { _ = conn.Close(netcode.CodeOK, "test done") }() // closed by the server already
	p := newPlayer(0, 0, 0, &roomClock{base: time.Now()})
	p.attach(conn)
	err = p.handshake(ctx, "not-a-token", "test")
	require.ErrorIs(t, err, netcode.CodeBadToken)
}

// A player's calls get their replies through its reader: joining a room
// that does not exist is the server's CodeRoomNotFound, creating one
// works, and the session ends cleanly when closed.
func TestPlayerCalls(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := &Env{Target: l.Target()}
	fl, err := openFleet(env, TransportKCP, l.Target().KCP, 2)
	require.NoError(t, err)
	tok, err := client.GuestToken(ctx, l.Target().httpBase(), "p")
	require.NoError(t, err)
	ps := &players{all: []*player{newPlayer(0, 0, 0, &roomClock{base: time.Now()})}}
	p := ps.all[0]
	conn, err := fl.dial(ctx, 0, tok)
	require.NoError(t, err)
	p.attach(conn)
	require.NotNil(t, p.q, "a KCP session is a netcode.Queuer")
	require.NoError(t, p.handshake(ctx, tok, "test"))
	require.Positive(t, p.welcome.HeartbeatMs)
	ps.start(p)
	require.ErrorIs(t, p.enter(ctx, nil, 424242), netcode.CodeRoomNotFound)
	require.NoError(t, p.enter(ctx, &frame.RoomCreate{Type: room.RelayType, Capacity: 2, TickRate: 30, Private: true}, 0))
	require.NotZero(t, p.roomID)
	ps.close(1)
	require.ErrorIs(t, p.readErr, netcode.ErrClosed)
	require.NoError(t, fl.close())
}
