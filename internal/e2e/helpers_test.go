package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/internal/peertest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
)

// TestMain checks for goroutine leaks (kcp-go's process-wide workers
// excepted).
func TestMain(m *testing.M) { conntest.VerifyTestMain(m) }

const wait = 10 * time.Second

// The transports every e2e test runs over, by name.
const (
	transportKCP = "kcp"
	transportTCP = "tcp"
)

var transports = []string{transportKCP, transportTCP}

// forEachTransport runs f as a subtest per transport.
func forEachTransport(t *testing.T, f func(t *testing.T, tr string)) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { f(t, tr) })
	}
}

// dialerOf is the client dial function of transport tr to srv.
func dialerOf(srv *server.Server, tr string) client.DialFunc {
	if tr == transportTCP {
		return tcp.Dialer{Addr: srv.Addr(tr)}.Dial
	}
	return kcp.Dialer{Addr: srv.Addr(tr)}.Dial
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// guest gets a guest token over the HTTP API.
func guest(t testing.TB, srv *server.Server, name string) string {
	tok, err := client.GuestToken(ctxT(t), srv.HTTPURL(), name)
	require.NoError(t, err)
	return tok
}

// dial connects a client SDK session, closed at the end of the test.
func dial(t testing.TB, srv *server.Server, tr string, o client.Options) *client.Client {
	t.Helper()
	o.Dial = dialerOf(srv, tr)
	if o.Token == "" {
		o.Token = guest(t, srv, "player")
	}
	c, err := client.Dial(ctxT(t), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rawDial dials a bare transport connection that speaks frames by hand;
// call Pump to start reading.
func rawDial(t testing.TB, srv *server.Server, tr string) *peertest.Peer {
	t.Helper()
	c, err := dialerOf(srv, tr)(ctxT(t))
	require.NoError(t, err)
	return peertest.New(t, c, wait)
}

// echoRoundTrip checks that c still answers an Echo.
func echoRoundTrip(t testing.TB, c *client.Client, ch netcode.Channel, seq uint32) {
	t.Helper()
	require.NoError(t, c.Send(ch, &frame.Echo{Seq: seq, Payload: []byte("still alive")}))
	deadline := time.After(wait)
	for {
		select {
		case m, ok := <-c.Messages():
			require.True(t, ok, "client ended: %v", c.Err())
			if m.Kind != frame.KindEcho {
				continue
			}
			var e frame.Echo
			require.NoError(t, m.Decode(&e))
			if e.Seq == seq {
				require.Equal(t, "still alive", string(e.Payload))
				require.Equal(t, ch, m.Channel)
				return
			}
		case <-deadline:
			require.FailNow(t, "no echo", "seq %d on %s", seq, ch)
		}
	}
}

// expiredToken signs a token that expired an hour ago with the server's key.
func expiredToken(t testing.TB, srv *server.Server) string {
	tok, _, err := srv.Engine().Signer().Issue(auth.Claims{UserID: "u_old", Name: "old"}, time.Now().Add(-2*time.Hour), time.Hour)
	require.NoError(t, err)
	return tok
}

// hears waits until c receives a tick of room r that carries an input of
// member from, and checks that input is want.
func hears(t testing.TB, c *client.Client, r *client.Room, from uint32, want string) {
	t.Helper()
	ctx := ctxT(t)
	for {
		select {
		case m, ok := <-c.Messages():
			require.True(t, ok, "client ended: %v", c.Err())
			u, isRoom, err := client.DecodeRoomUpdate(m)
			require.NoError(t, err)
			if !isRoom || !r.Owns(u) || u.Tick == nil {
				continue
			}
			for _, in := range u.Tick.Inputs {
				if in.Member == from {
					require.Equal(t, want, string(in.Data))
					return
				}
			}
		case <-ctx.Done():
			t.Fatalf("%q never arrived", want)
		}
	}
}
