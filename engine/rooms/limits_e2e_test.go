package rooms_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const e2eWait = 10 * time.Second

// Transport names as the tests pick them.
const (
	transportKCP = "kcp"
	transportTCP = "tcp"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	t.Cleanup(cancel)
	return ctx
}

func guestToken(t *testing.T, srv *server.Server, name string) string {
	t.Helper()
	tok, err := client.GuestToken(ctxT(t), srv.HTTPURL(), name)
	require.NoError(t, err)
	return tok
}

func dial(t *testing.T, srv *server.Server, transport, token string) *client.Client {
	t.Helper()
	o := client.Options{Token: token, Dial: kcp.Dialer{Addr: srv.Addr(transport)}.Dial}
	if transport == transportTCP {
		o.Dial = tcp.Dialer{Addr: srv.Addr(transport)}.Dial
	}
	c, err := client.Dial(ctxT(t), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRoomCreateLimitOverTheWire: a guest creating rooms past
// MaxRoomsCreatedPerUser gets CodeRoomCreateLimit, from any of its
// sessions, and stays connected; the server stays healthy (another user
// creates, joins and plays); once the guest is gone its empty rooms close
// after EmptyRoomTTL and the same user may create again.
func TestRoomCreateLimitOverTheWire(t *testing.T) {
	const ttl = 300 * time.Millisecond
	srv := servertest.Start(t, server.Config{Rooms: rooms.Config{MaxRoomsCreatedPerUser: 2, EmptyRoomTTL: ttl}})
	ctx := ctxT(t)
	greedyTok := guestToken(t, srv, "greedy")
	greedy := dial(t, srv, transportKCP, greedyTok)

	for i := 0; i < 2; i++ {
		r, err := greedy.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, TickRate: 128, EmptyTimeoutMs: 3_600_000})
		require.NoError(t, err)
		assert.Equal(t, uint8(rooms.DefaultMaxClientTickRate), r.Joined().TickRate, "the tick rate is capped")
	}
	_, err := greedy.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	assert.Equal(t, netcode.CodeRoomCreateLimit, netcode.CodeOf(err), "%v", err)
	_, err = greedy.JoinOrCreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "fresh"})
	assert.Equal(t, netcode.CodeRoomCreateLimit, netcode.CodeOf(err), "%v", err)
	// A second connection of the same user is refused too.
	again := dial(t, srv, transportTCP, greedyTok)
	_, err = again.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	assert.Equal(t, netcode.CodeRoomCreateLimit, netcode.CodeOf(err), "%v", err)

	// The server stays healthy: another user creates, the refused user
	// joins, inputs are broadcast.
	other := dial(t, srv, transportTCP, guestToken(t, srv, "other"))
	or, err := other.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "open"})
	require.NoError(t, err)
	gr, err := greedy.JoinRoom(ctx, or.ID())
	require.NoError(t, err)
	seq, err := gr.SendInput(netcode.Reliable, []byte("hi"))
	require.NoError(t, err)
	waitInput(t, other, or, seq)
	require.NoError(t, gr.Leave(ctx))

	st := srv.Rooms().Stats()
	assert.Equal(t, uint64(3), st.Refused.UserLimit)
	assert.Equal(t, 3, st.ClientRooms)

	// The guest leaves: its two rooms are empty, close after the TTL and
	// stop ticking; its count is released.
	require.NoError(t, greedy.Close())
	require.NoError(t, again.Close())
	// Nothing tells a departed creator that its empty room closed: watch
	// the hub's counters, bounded.
	require.Eventually(t, func() bool {
		st := srv.Rooms().Stats()
		return st.ClientRooms == 1 && st.Types[room.RelayType].Expired == 2
	}, e2eWait, 10*time.Millisecond, "empty rooms close after the TTL")
	ticks := srv.Rooms().Stats().Types[room.RelayType].Rooms
	assert.Equal(t, int64(1), ticks, "only the other user's room is open")

	back := dial(t, srv, transportTCP, greedyTok)
	_, err = back.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	require.NoError(t, err, "the user's count was released")
}

// TestServerRoomLimitOverTheWire: once MaxRooms client-created rooms are
// open, a create by a user far below its own limit gets
// CodeRoomCreateLimit (counted as ServerLimit, not UserLimit) and stays
// connected; the server stays healthy: the refused user joins an open
// room and its inputs are broadcast.
func TestServerRoomLimitOverTheWire(t *testing.T) {
	srv := servertest.Start(t, server.Config{Rooms: rooms.Config{MaxRooms: 2}})
	ctx := ctxT(t)
	a := dial(t, srv, transportKCP, guestToken(t, srv, "a"))
	b := dial(t, srv, transportTCP, guestToken(t, srv, "b"))
	ar, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	require.NoError(t, err)
	_, err = b.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	require.NoError(t, err)

	late := dial(t, srv, transportTCP, guestToken(t, srv, "late"))
	_, err = late.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	assert.Equal(t, netcode.CodeRoomCreateLimit, netcode.CodeOf(err), "%v", err)
	_, err = late.JoinOrCreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "fresh"})
	assert.Equal(t, netcode.CodeRoomCreateLimit, netcode.CodeOf(err), "%v", err)
	st := srv.Rooms().Stats()
	assert.Equal(t, uint64(2), st.Refused.ServerLimit)
	assert.Zero(t, st.Refused.UserLimit)
	assert.Equal(t, 2, st.ClientRooms)

	lr, err := late.JoinRoom(ctx, ar.ID())
	require.NoError(t, err, "joining is not creating")
	seq, err := lr.SendInput(netcode.Reliable, []byte("hi"))
	require.NoError(t, err)
	waitInput(t, a, ar, seq)
	_, err = late.Ping(ctx)
	require.NoError(t, err)
}

// TestRoomLabelsRefusedOverTheWire sends labels with a bidi override and a
// zero-width space in raw frames: each is refused with CodeBadText and
// the session stays usable.
func TestRoomLabelsRefusedOverTheWire(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	c := dial(t, srv, transportTCP, guestToken(t, srv, "labels"))
	ctx := ctxT(t)
	for name, f := range map[string]frame.Refer{
		"create U+202E":         &frame.RoomCreate{Type: room.RelayType, Label: "eu\u202Ewest"},
		"create U+200B":         &frame.RoomCreate{Type: room.RelayType, Label: "eu\u200Bwest"},
		"join-or-create U+202E": &frame.RoomJoinOrCreate{Type: room.RelayType, Label: "\u202Eeu"},
		"join-or-create U+200B": &frame.RoomJoinOrCreate{Type: room.RelayType, Label: "eu\u200B"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Call(ctx, f)
			assert.Equal(t, netcode.CodeBadText, netcode.CodeOf(err), "%v", err)
		})
	}
	r, err := c.JoinOrCreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "eu-west"})
	require.NoError(t, err)
	assert.Equal(t, "eu-west", r.Joined().Label)
	assert.Equal(t, uint64(4), srv.Rooms().Stats().Refused.BadLabel)
}

// waitInput waits until c receives, in r, the input numbered seq.
func waitInput(t *testing.T, c *client.Client, r *client.Room, seq uint32) {
	t.Helper()
	timeout := time.After(e2eWait)
	for {
		select {
		case m, ok := <-c.Messages():
			require.True(t, ok, "client ended: %v", c.Err())
			u, isRoom, err := client.DecodeRoomUpdate(m)
			require.NoError(t, err)
			if isRoom && r.Owns(u) && u.Tick != nil {
				for _, in := range u.Tick.Inputs {
					if in.Seq == seq {
						return
					}
				}
			}
		case <-timeout:
			t.Fatal("input not broadcast within the timeout")
		}
	}
}
