package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// A long-poll client joins a relay room through the public assembly
// beside a KCP client: each hears the other's inputs in tick broadcasts,
// reliable and unreliable.
func TestLongPollJoinsARelayRoom(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(), &longpoll.Transport{}),
	})
	ctx := ctxT(t)
	lp, err := client.Dial(ctx, client.Options{
		Dial:  longpoll.Dialer{URL: srv.HTTPURL(), Token: guest(t, srv, "lp")}.Dial,
		Token: guest(t, srv, "lp"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = lp.Close() })
	udp, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: guest(t, srv, "udp")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = udp.Close() })

	ra, err := lp.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "lp", Capacity: 2, TickRate: 30})
	require.NoError(t, err)
	rb, err := udp.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)
	_, err = ra.SendInput(netcode.Reliable, []byte("over http"))
	require.NoError(t, err)
	_, err = rb.SendInput(netcode.Unreliable, []byte("over udp"))
	require.NoError(t, err)

	hears(t, udp, rb, ra.Me(), "over http")
	hears(t, lp, ra, rb.Me(), "over udp")
}
