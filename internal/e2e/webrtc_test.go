package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// A browser-like client over WebRTC and a KCP client share a relay room
// through the public assembly: the tick broadcasts that carry the WebRTC
// client's unreliable inputs reach both, and reach it on the unreliable
// channel. (That unreliable writes take the unreliable data channel is
// netcode/webrtc's TestChannelsCarryTheirMessages.)
func TestRelayRoomOverWebRTC(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(), &webrtc.Transport{Addr: "127.0.0.1:0"}),
	})
	ctx := ctxT(t)
	tokA, tokB := guest(t, srv, "browser"), guest(t, srv, "native")
	a, err := client.Dial(ctx, client.Options{Dial: webrtc.Dialer{URL: srv.HTTPURL(), Token: tokA}.Dial, Token: tokA})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: tokB})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.NotEmpty(t, srv.Addr("webrtc"), "the assembly lists the transport")
	require.Equal(t, "webrtc", a.Stats().Transport)

	ra, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "rtc", Capacity: 2, TickRate: 30})
	require.NoError(t, err)
	rb, err := b.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)
	for range 20 {
		_, err = ra.SendInput(netcode.Unreliable, []byte("move"))
		require.NoError(t, err)
	}

	// b hears a's input in a tick broadcast, and so does a itself, on the
	// unreliable channel.
	var sawB, sawA bool
	for !sawA || !sawB {
		select {
		case m, ok := <-b.Messages():
			require.True(t, ok, "b ended: %v", b.Err())
			if u, isRoom, err := client.DecodeRoomUpdate(m); err == nil && isRoom && rb.Owns(u) && u.Tick != nil && hasInput(u, ra.Me(), "move") {
				sawB = true
			}
		case m, ok := <-a.Messages():
			require.True(t, ok, "a ended: %v", a.Err())
			if u, isRoom, err := client.DecodeRoomUpdate(m); err == nil && isRoom && ra.Owns(u) && u.Tick != nil && hasInput(u, ra.Me(), "move") {
				require.Equal(t, netcode.Unreliable, u.Channel, "a tick with unreliable inputs arrives unreliably")
				sawA = true
			}
		case <-ctx.Done():
			t.Fatalf("inputs never came back (a %v, b %v)", sawA, sawB)
		}
	}
}

// hasInput reports whether u's tick carries data from member.
func hasInput(u client.RoomUpdate, member uint32, data string) bool {
	for _, in := range u.Tick.Inputs {
		if in.Member == member && string(in.Data) == data {
			return true
		}
	}
	return false
}
