package clustertest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/internal/clustertest"
)

// BenchmarkJoin measures a room join by id over loopback KCP: on the
// room's own node, through a redirect that opens the node session
// (GET /v1/kcp, KCP handshake, Hello, RoomJoinTicket), and through a
// redirect when that session is already open (a second room there).
//
//	go test -run '^$' -bench Join -benchtime 200x ./internal/clustertest
func BenchmarkJoin(b *testing.B) {
	c := clustertest.Start(b, 2, clustertest.Options{})
	ctx := ctxT(b)
	ann := c.Dial(b, 0, "ann")
	r, err := ann.CreateRoom(ctx, client.RoomOptions{Type: "relay", Capacity: 256})
	require.NoError(b, err)
	r2, err := ann.CreateRoom(ctx, client.RoomOptions{Type: "relay", Capacity: 256})
	require.NoError(b, err)
	waitKnown(b, c, 1, "n0", r.ID())
	waitKnown(b, c, 1, "n0", r2.ID())

	run := func(b *testing.B, node int, warm bool) {
		tok := c.Token(b, node, "bench")
		for b.Loop() {
			b.StopTimer()
			cl := c.DialToken(b, node, tok, client.Options{})
			if warm {
				_, err := cl.JoinRoom(ctx, r2.ID())
				require.NoError(b, err)
			}
			b.StartTimer()
			rr, err := cl.JoinRoom(ctx, r.ID())
			b.StopTimer()
			require.NoError(b, err)
			require.NoError(b, rr.Leave(ctx))
			require.NoError(b, cl.Close())
			b.StartTimer()
		}
	}
	b.Run("local", func(b *testing.B) { run(b, 0, false) })
	b.Run("redirect_new_session", func(b *testing.B) { run(b, 1, false) })
	b.Run("redirect_open_session", func(b *testing.B) { run(b, 1, true) })
}
