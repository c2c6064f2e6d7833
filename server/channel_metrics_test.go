package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
)

// Frames are counted by transport and channel: one unreliable Ping moves
// the unreliable series of its transport by exactly one frame in (the
// Ping) and one out (its Pong, on the same channel). (The reliable series
// may move meanwhile: the SDK acknowledges reliable frames on its own.)
func TestFramesPerChannel(t *testing.T) {
	ctx := ctxT(t)
	srv := startAdmin(t, server.Config{}) // KCP and TCP
	token, err := client.GuestToken(ctx, srv.HTTPURL(), "ada")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		dial client.DialFunc
	}{
		{"tcp", tcp.Dialer{Addr: srv.Addr("tcp")}.Dial},
		{"kcp", kcp.Dialer{Addr: srv.Addr("kcp")}.Dial},
	} {
		c, err := client.Dial(ctx, client.Options{Dial: tc.dial, Token: token})
		require.NoError(t, err, tc.name)
		series := func(name, channel string) float64 {
			return scrape(t, srv).value(name, "transport", tc.name, "channel", channel)
		}
		assert.Positive(t, series("tickwire_transport_frames_received_total", "reliable"), "%s: the Hello came in on the reliable channel", tc.name)
		assert.Positive(t, series("tickwire_transport_frames_sent_total", "reliable"), "%s: the Welcome", tc.name)
		assert.Positive(t, series("tickwire_transport_frame_received_bytes_total", "reliable"), tc.name)
		assert.Equal(t, 0.0, series("tickwire_transport_frames_received_total", "unreliable"), tc.name)
		assert.Equal(t, 0.0, series("tickwire_transport_frames_sent_total", "unreliable"), tc.name)

		require.NoError(t, c.Send(netcode.Unreliable, &frame.Ping{ClientTimeUs: time.Now().UnixMicro()}))
		require.Eventually(t, func() bool {
			return series("tickwire_transport_frames_sent_total", "unreliable") == 1
		}, 10*time.Second, 20*time.Millisecond, "%s: the Pong went out on the unreliable channel", tc.name)
		f := scrape(t, srv)
		assert.Equal(t, 1.0, f.value("tickwire_transport_frames_received_total", "transport", tc.name, "channel", "unreliable"), tc.name)
		ping, _ := frame.Marshal(&frame.Ping{ClientTimeUs: time.Now().UnixMicro()})
		assert.Equal(t, float64(len(ping)), f.value("tickwire_transport_frame_received_bytes_total", "transport", tc.name, "channel", "unreliable"), tc.name)
		assert.Positive(t, f.value("tickwire_transport_frame_sent_bytes_total", "transport", tc.name, "channel", "unreliable"), tc.name)

		// An ended session's frames stay in the totals.
		require.NoError(t, c.Close())
		require.Eventually(t, func() bool {
			return scrape(t, srv).value("tickwire_transport_connections", "transport", tc.name) == 0
		}, 10*time.Second, 20*time.Millisecond)
		assert.Equal(t, 1.0, series("tickwire_transport_frames_received_total", "unreliable"), tc.name)
	}
}
