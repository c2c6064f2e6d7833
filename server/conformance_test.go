package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
)

// Every transport the binary lists passes the conformance suite when it
// is opened the way the assembly opens it: Transport.Listen with a
// netcode.Env (the engine's timeouts, the one HTTP mux), and dialed with
// the function a client SDK takes.
func TestConformanceThroughTheTransportContract(t *testing.T) {
	for _, tc := range []struct {
		t    netcode.Transport
		dial func(l netcode.Listener, httpBase string) client.DialFunc
	}{
		{&kcp.Transport{Addr: "127.0.0.1:0"}, func(l netcode.Listener, _ string) client.DialFunc {
			return kcp.Dialer{Addr: l.Addr().String()}.Dial
		}},
		{&tcp.Transport{Addr: "127.0.0.1:0"}, func(l netcode.Listener, _ string) client.DialFunc {
			return tcp.Dialer{Addr: l.Addr().String()}.Dial
		}},
		{&ws.Transport{}, func(_ netcode.Listener, base string) client.DialFunc {
			return ws.Dialer{URL: "ws" + strings.TrimPrefix(base, "http") + ws.DefaultPath}.Dial
		}},
		{&longpoll.Transport{}, func(_ netcode.Listener, base string) client.DialFunc {
			return longpoll.Dialer{URL: base, Token: "t"}.Dial
		}},
		{&webrtc.Transport{Addr: "127.0.0.1:0"}, func(_ netcode.Listener, base string) client.DialFunc {
			return webrtc.Dialer{URL: base, Token: "t"}.Dial
		}},
	} {
		t.Run(tc.t.Name(), func(t *testing.T) {
			mux := http.NewServeMux()
			hs := httptest.NewServer(mux)
			t.Cleanup(hs.Close)
			l, err := tc.t.Listen(netcode.Env{
				Logger:            slog.New(slog.DiscardHandler),
				HeartbeatInterval: time.Second,
				IdleTimeout:       10 * time.Second,
				MaxMessageSize:    netcode.DefaultMaxMessageSize,
				HTTP:              mux,
			})
			require.NoError(t, err)
			t.Cleanup(func() {
				_ = l.Close() // the suite has its verdict
				if sd, ok := l.(netcode.Shutdowner); ok {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					require.NoError(t, sd.Shutdown(ctx))
				}
			})
			dial := tc.dial(l, hs.URL)
			conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := dial(ctx)
				require.NoError(t, err)
				return c, conntest.Accept(t, l, 10*time.Second)
			}, conntest.Options{})
		})
	}
}
