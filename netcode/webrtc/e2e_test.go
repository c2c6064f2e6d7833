package webrtc_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
// through the public assembly: the WebRTC client's unreliable inputs
// travel on the unreliable data channel, and the tick broadcasts that
// carry them come back to it on that channel too.
func TestRelayRoomOverWebRTC(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(), &webrtc.Transport{Addr: "127.0.0.1:0"}),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)

	tokA, err := client.GuestToken(ctx, srv.HTTPURL(), "browser")
	require.NoError(t, err)
	tokB, err := client.GuestToken(ctx, srv.HTTPURL(), "native")
	require.NoError(t, err)

	var mu sync.Mutex
	var rtc *webrtc.Conn // the SDK's connection, to look at its channels
	dialRTC := func(ctx context.Context) (netcode.Conn, error) {
		c, err := webrtc.Dial(ctx, webrtc.Dialer{URL: srv.HTTPURL(), Token: tokA})
		if err != nil {
			return nil, err
		}
		mu.Lock()
		rtc = c
		mu.Unlock()
		return c, nil
	}
	a, err := client.Dial(ctx, client.Options{Dial: dialRTC, Token: tokA})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: tokB})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.NotEmpty(t, srv.Addr("webrtc"), "the assembly lists the transport")

	ra, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "rtc", Capacity: 2, TickRate: 30})
	require.NoError(t, err)
	rb, err := b.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)

	mu.Lock()
	unrelSent := webrtc.ChannelMessagesSent(rtc, netcode.Unreliable)
	mu.Unlock()
	const inputs = 20
	for i := 0; i < inputs; i++ {
		_, err = ra.SendInput(netcode.Unreliable, []byte("move"))
		require.NoError(t, err)
	}
	mu.Lock()
	assert.Equal(t, unrelSent+inputs, webrtc.ChannelMessagesSent(rtc, netcode.Unreliable),
		"every unreliable input went out on the unreliable data channel")
	mu.Unlock()

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
				assert.Equal(t, netcode.Unreliable, u.Channel, "a tick with unreliable inputs arrives unreliably")
				sawA = true
			}
		case <-ctx.Done():
			t.Fatalf("inputs never came back (a %v, b %v)", sawA, sawB)
		}
	}
}

func hasInput(u client.RoomUpdate, member uint32, data string) bool {
	for _, in := range u.Tick.Inputs {
		if in.Member == member && string(in.Data) == data {
			return true
		}
	}
	return false
}
