package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
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
	env  netcode.Env
}

func (m *memTransport) Name() string { return "memlink" }

func (m *memTransport) Listen(env netcode.Env) (netcode.Listener, error) {
	if env.HTTP == nil {
		return nil, netcode.ErrNoHTTP
	}
	m.env = env
	env.HTTP.Handle("GET /v1/memlink", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(m.link.B().LocalAddr().String()))
	}))
	env.HTTP.Handle("GET /v1/memlink/whoami", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(env.RemoteAddr(r).String()))
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

// A transport's routes sit behind the API's middleware: the same headers,
// and one client-address rule (X-Forwarded-For only from a trusted proxy),
// which the transport reads through its Env. The assembly also gives it
// the engine's token check and session caps.
func TestTransportRoutesShareTheClientAddressRule(t *testing.T) {
	for name, tc := range map[string]struct {
		trusted []netip.Prefix
		want    string
	}{
		"untrusted peer": {want: "127.0.0.1:0"},
		"trusted proxy":  {trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, want: "203.0.113.9:0"},
	} {
		t.Run(name, func(t *testing.T) {
			link := memlink.New(memlink.Config{Seed: 1})
			t.Cleanup(func() { _ = link.Close() })
			mem := &memTransport{link: link}
			cfg := server.Config{Transports: []netcode.Transport{mem}}
			cfg.Engine.TrustedProxies = tc.trusted
			srv := servertest.Start(t, cfg)
			req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, srv.HTTPURL()+"/v1/memlink/whoami", nil)
			require.NoError(t, err)
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(body))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "the API's headers on a transport's route")
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

			require.NotNil(t, mem.env.VerifyToken)
			assert.Equal(t, netcode.CodeBadToken, netcode.CodeOf(mem.env.VerifyToken(ctxT(t), "forged")))
			tok, err := client.GuestToken(ctxT(t), srv.HTTPURL(), "ok")
			require.NoError(t, err)
			require.NoError(t, mem.env.VerifyToken(ctxT(t), tok))
			require.NotNil(t, mem.env.Admit)
			require.NoError(t, mem.env.Admit(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}))
		})
	}
}
