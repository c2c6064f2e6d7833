package e2e

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// A relay tick whose unreliable inputs add up to more than one KCP
// datagram can carry must still reach every member (on the reliable
// channel, which fragments) and must not end anyone's session.
func TestOversizeUnreliableBroadcastIsPromoted(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	ctx := ctxT(t)
	a := dial(t, srv, transportKCP, client.Options{})
	b := dial(t, srv, transportKCP, client.Options{})
	ra, err := a.JoinOrCreateRoom(ctx, client.RoomOptions{Type: "relay", Label: "big", TickRate: 10})
	require.NoError(t, err)
	rb, err := b.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)

	// 6 inputs of 400 bytes in the same tick: about 2.4 KB of broadcast,
	// twice the unreliable datagram limit. Each input alone fits.
	payload := bytes.Repeat([]byte{0xab}, 400)
	for i := 0; i < 3; i++ {
		_, err := ra.SendInput(netcode.Unreliable, payload)
		require.NoError(t, err)
		_, err = rb.SendInput(netcode.Unreliable, payload)
		require.NoError(t, err)
	}

	// Each client sees all six inputs, across however many ticks they
	// landed in.
	for _, c := range []*client.Client{a, b} {
		seen := 0
		for seen < 6 {
			select {
			case m, ok := <-c.Messages():
				require.True(t, ok, "client ended: %v", c.Err())
				u, isRoom, err := client.DecodeRoomUpdate(m)
				require.NoError(t, err)
				if !isRoom || u.Tick == nil {
					continue
				}
				for _, in := range u.Tick.Inputs {
					assert.Equal(t, payload, in.Data)
					seen++
				}
			case <-ctx.Done():
				require.FailNow(t, "timed out", "saw %d of 6 inputs", seen)
			}
		}
	}
	// Both sessions are still open and usable.
	_, err = a.Ping(ctx)
	require.NoError(t, err)
	_, err = b.Ping(ctx)
	require.NoError(t, err)
	assert.Positive(t, srv.Engine().Stats().Drops["promoted_unreliable_too_large"])
}
