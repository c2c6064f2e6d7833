package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/memlink"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// memTransport is a toy transport written against the public API alone:
// KCP over an in-memory lossy link (memlink) instead of a UDP socket. It
// also mounts an HTTP route, as the browser transports will.
type memTransport struct {
	link *memlink.Link
}

func (m *memTransport) Name() string { return "memlink" }

func (m *memTransport) Listen(env netcode.Env) (netcode.Listener, error) {
	if env.HTTP == nil {
		return nil, netcode.ErrNoHTTP
	}
	env.HTTP.Handle("GET /v1/memlink", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(m.link.B().LocalAddr().String()))
	}))
	cfg := kcp.Config{}
	if err := env.Timeouts(&cfg.HeartbeatInterval, &cfg.IdleTimeout); err != nil {
		return nil, err
	}
	return kcp.ListenPacket(m.link.B(), cfg)
}

// dial is the client side: the SDK takes any dial function.
func (m *memTransport) dial(ctx context.Context) (netcode.Conn, error) {
	c, err := kcp.DialPacket(ctx, m.link.A(), m.link.B().LocalAddr(), kcp.Config{})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// A toy transport added through the public API alone carries a client
// into a relay room, beside a KCP client on a real UDP socket, with 5 %
// loss each way on the in-memory link.
func TestToyTransportReachesARoom(t *testing.T) {
	link := memlink.New(memlink.Config{Seed: 7})
	t.Cleanup(func() { _ = link.Close() })
	lossy := memlink.Direction{Loss: 0.05}
	link.SetAToB(lossy)
	link.SetBToA(lossy)
	mem := &memTransport{link: link}
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(), mem),
	})
	require.Equal(t, link.B().LocalAddr().String(), srv.Addr("memlink"))
	ctx := ctxT(t)

	resp, err := http.Get(srv.HTTPURL() + "/v1/memlink")
	require.NoError(t, err, "the transport's route is on the one HTTP server")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Get(srv.HTTPURL() + "/healthz")
	require.NoError(t, err, "beside the engine's own routes")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	tokA, err := client.GuestToken(ctx, srv.HTTPURL(), "mem")
	require.NoError(t, err)
	tokB, err := client.GuestToken(ctx, srv.HTTPURL(), "udp")
	require.NoError(t, err)
	a, err := client.Dial(ctx, client.Options{Dial: mem.dial, Token: tokA})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: tokB})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	assert.Equal(t, "memlink", link.B().LocalAddr().Network(), "a really is on the in-memory link")

	ra, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "toy", Capacity: 2, TickRate: 30})
	require.NoError(t, err)
	rb, err := b.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)
	_, err = ra.SendInput(netcode.Reliable, []byte("from the link"))
	require.NoError(t, err)

	// b hears a's reliable input in a tick broadcast.
	for {
		select {
		case m, ok := <-b.Messages():
			require.True(t, ok, "client ended: %v", b.Err())
			u, isRoom, err := client.DecodeRoomUpdate(m)
			require.NoError(t, err)
			if !isRoom || !rb.Owns(u) || u.Tick == nil {
				continue
			}
			for _, in := range u.Tick.Inputs {
				if in.Member == ra.Me() {
					assert.Equal(t, []byte("from the link"), in.Data)
					return
				}
			}
		case <-ctx.Done():
			t.Fatal("the input never arrived")
		}
	}
}
