package arena_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/examples/arena"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestArenaMovesPlayers drives the room sans-IO: inputs set directions,
// ticks move players and broadcast snapshots.
func TestArenaMovesPlayers(t *testing.T) {
	cfg := room.Config{Type: arena.Type, ID: 1, Capacity: 4, TickRate: 30, EmptyTimeout: time.Second}
	h, err := arena.New(cfg)
	require.NoError(t, err)
	r, err := room.New(cfg, h, t0)
	require.NoError(t, err)
	a, err := r.Join(t0, "ua", "A", 1)
	require.NoError(t, err)
	b, err := r.Join(t0, "ub", "B", 2)
	require.NoError(t, err)
	require.NoError(t, r.Tick(t0))
	start := lastSnapshot(t, r)
	r.ResetOutbox()

	require.NoError(t, r.Input(t0, a.ID, netcode.Reliable, 1, arena.Input(1, 0)))
	require.NoError(t, r.Input(t0, b.ID, netcode.Reliable, 1, arena.Input(-5, 1))) // clamped to -1
	require.NoError(t, r.Input(t0, b.ID, netcode.Reliable, 2, []byte{1}))          // malformed: ignored
	for i := 1; i <= 3; i++ {
		require.NoError(t, r.Tick(t0.Add(time.Duration(i)*time.Second/30)))
	}
	end := lastSnapshot(t, r)
	require.Len(t, end, 2)
	assert.Equal(t, start[0].X+3*arena.Speed, end[0].X)
	assert.Equal(t, start[0].Y, end[0].Y)
	assert.Equal(t, start[1].X-3*arena.Speed, end[1].X)
	assert.Equal(t, start[1].Y+3*arena.Speed, end[1].Y)
	for _, m := range r.Outbox() {
		assert.Equal(t, netcode.Unreliable, m.Channel, "snapshots travel unreliably")
	}
}

func lastSnapshot(t *testing.T, r *room.Room) []arena.Position {
	t.Helper()
	out := r.Outbox()
	require.NotEmpty(t, out)
	var d frame.RoomData
	require.NoError(t, frame.Unmarshal(out[len(out)-1].Frame, &d))
	ps, err := arena.DecodeSnapshot(nil, d.Data)
	require.NoError(t, err)
	return ps
}

func TestSnapshotRoundTrip(t *testing.T) {
	ps := []arena.Position{{Member: 1, X: 0, Y: 999}, {Member: 70000, X: 500, Y: 3}}
	b := arena.AppendSnapshot(nil, func(yield func(arena.Position) bool) {
		for _, p := range ps {
			if !yield(p) {
				return
			}
		}
	})
	assert.Len(t, b, 1+2*8)
	got, err := arena.DecodeSnapshot(nil, b)
	require.NoError(t, err)
	assert.Equal(t, ps, got)
	_, err = arena.DecodeSnapshot(nil, b[:len(b)-1])
	assert.ErrorIs(t, err, arena.ErrBadSnapshot)
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 1, 0, 2, 0, 3})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := arena.DecodeSnapshot(nil, b)
		if err != nil {
			return
		}
		again := arena.AppendSnapshot(nil, func(yield func(arena.Position) bool) {
			for _, p := range ps {
				if !yield(p) {
					return
				}
			}
		})
		if string(again) != string(b) {
			t.Fatalf("round trip differs")
		}
	})
}

// TestPlayersOverTheWire plays the arena with two Go clients (KCP and
// TCP) against a full server on loopback.
func TestPlayersOverTheWire(t *testing.T) {
	srv := servertest.Start(t, server.Config{RoomTypes: map[string]room.Factory{arena.Type: arena.New}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	players := make([]*arena.Player, 2)
	for i, dial := range []client.DialFunc{kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, tcp.Dialer{Addr: srv.Addr("tcp")}.Dial} {
		tok, err := client.GuestToken(ctx, srv.HTTPURL(), "p")
		require.NoError(t, err)
		c, err := client.Dial(ctx, client.Options{Dial: dial, Token: tok})
		require.NoError(t, err)
		defer c.Close()
		players[i], err = arena.Join(ctx, c, "test")
		require.NoError(t, err)
	}
	require.Equal(t, players[0].Room().ID(), players[1].Room().ID(), "matchmaking put both in one room")

	require.NoError(t, players[0].Steer(1, 0))
	require.NoError(t, players[1].Steer(0, 1))
	var first, last [2]arena.Position
	for i, p := range players {
		for n := 0; n < 15; n++ {
			_, ps, err := p.Next(ctx)
			require.NoError(t, err)
			me, ok := p.Me(ps)
			if !ok {
				continue
			}
			if n == 0 {
				first[i] = me
			}
			last[i] = me
		}
	}
	assert.Greater(t, last[0].X, first[0].X, "player 0 moves right")
	assert.Equal(t, last[0].Y, first[0].Y)
	assert.Greater(t, last[1].Y, first[1].Y, "player 1 moves down")
	assert.Equal(t, last[1].X, first[1].X)
}
