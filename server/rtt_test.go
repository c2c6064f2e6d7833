package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// The RTT histogram moves for a live session over every transport, each
// measuring the round-trip time its own way (KCP's estimate, the
// kernel's TCP_INFO under TCP, WebSocket and long-poll's last request,
// SCTP's under WebRTC): sampled by the engine, each transport under its
// own label, loopback values well under a second.
func TestRTTHistogramPerTransport(t *testing.T) {
	ctx := ctxT(t)
	srv := startAdmin(t, server.Config{
		Transports: []netcode.Transport{
			&kcp.Transport{Addr: servertest.Loopback}, &tcp.Transport{Addr: servertest.Loopback},
			&ws.Transport{}, &longpoll.Transport{}, &webrtc.Transport{Addr: servertest.Loopback},
		},
		Engine: engine.Config{RTTSampleInterval: 20 * time.Millisecond},
	})
	f := scrape(t, srv)
	for _, name := range []string{"kcp", "tcp", "ws", "longpoll", "webrtc"} {
		assert.Equal(t, -1.0, f.value("tickwire_transport_rtt_seconds", "transport", name), "no %s session yet", name)
	}
	token, err := client.GuestToken(ctx, srv.HTTPURL(), "ada")
	require.NoError(t, err)
	dials := map[string]client.DialFunc{
		"kcp":      kcp.Dialer{Addr: srv.Addr("kcp")}.Dial,
		"tcp":      tcp.Dialer{Addr: srv.Addr("tcp")}.Dial,
		"ws":       ws.Dialer{URL: "ws://" + srv.HTTPAddr() + ws.DefaultPath, Token: token}.Dial,
		"longpoll": longpoll.Dialer{URL: srv.HTTPURL(), Token: token}.Dial,
		"webrtc":   webrtc.Dialer{URL: srv.HTTPURL(), Token: token}.Dial,
	}
	for name, dial := range dials {
		c, err := client.Dial(ctx, client.Options{Dial: dial, Token: token})
		require.NoError(t, err, name)
		t.Cleanup(func() { _ = c.Close() }) // the server closes it at the end anyway
		// Traffic both ways gives every transport an RTT sample.
		_, err = c.Ping(ctx)
		require.NoError(t, err, name)
	}
	for name := range dials {
		require.Eventually(t, func() bool {
			return scrape(t, srv).value("tickwire_transport_rtt_seconds", "transport", name) >= 3
		}, 15*time.Second, 20*time.Millisecond, "no RTT samples for %s", name)
	}
	f = scrape(t, srv)
	for name := range dials {
		h := f.histogram("tickwire_transport_rtt_seconds", "transport", name)
		require.NotNil(t, h, name)
		assert.Positive(t, h.GetSampleSum(), name)
		assert.Less(t, h.GetSampleSum()/float64(h.GetSampleCount()), 0.5, "%s: a loopback RTT", name)
	}
	// The admin session list reads the same source (netcode.RTTOf on the
	// connection the engine holds): every transport's session shows one.
	rtt := map[string]float64{}
	for _, si := range srv.Engine().Sessions() {
		rtt[si.Transport] = si.RTTMillis
	}
	for name := range dials {
		assert.Positive(t, rtt[name], "%s: rtt_ms", name)
		assert.Less(t, rtt[name], 500.0, "%s: a loopback rtt_ms", name)
	}
}
