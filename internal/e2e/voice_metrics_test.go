package e2e

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/pion/rtp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const metricsToken = "admin-token-0123456789"

// metricValue scrapes the admin listener's /metrics (the Prometheus text
// parser) and returns the series of name whose labels include labels
// ("k", "v" pairs): a counter's or gauge's value; -1 when there is none.
func metricValue(t testing.TB, srv *server.Server, name string, labels ...string) float64 {
	t.Helper()
	resp, body := servertest.Request(t, http.MethodGet, "http://"+srv.AdminAddr()+"/metrics",
		map[string]string{"Authorization": "Bearer " + metricsToken}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err)
next:
	for _, m := range fams[name].GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return value(m)
	}
	return -1
}

func value(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// The voice room's and the audio SFU's counters are Prometheus series
// that move with real traffic: a native member alone drops its frame
// (no_listener); with a browser member (pion in Go over the SFU) its
// frames are forwarded, handed to the link and written as RTP; the
// browser's RTP comes in and is forwarded to the native member; the link
// and its tracks show as gauges until it ends.
func TestVoiceMetricsOnAdminListener(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(), &webrtc.Transport{Addr: "127.0.0.1:0"}),
		AdminAddr:  servertest.Loopback,
		Engine:     engine.Config{AdminToken: metricsToken},
	})
	ctx := ctxT(t)
	webrtcAddr := srv.Addr("webrtc")
	sfu := func(name string, labels ...string) float64 {
		return metricValue(t, srv, name, append([]string{"addr", webrtcAddr}, labels...)...)
	}
	assert.Equal(t, 0.0, metricValue(t, srv, "tickwire_voice_frames_forwarded_total"))
	assert.Equal(t, 0.0, sfu("tickwire_sfu_links"))

	member := func(name string) (*client.Client, string) {
		tok := guest(t, srv, name)
		c, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: tok})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c, tok
	}
	nat, _ := member("native")
	rn, err := nat.JoinOrCreateRoom(ctx, client.RoomOptions{Type: client.VoiceType, Label: "metrics", Capacity: 4})
	require.NoError(t, err)
	_, err = rn.SendVoice(0, stampPayload(time.Now()))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return metricValue(t, srv, "tickwire_voice_frames_dropped_total", "reason", "no_listener") == 1
	}, wait, 20*time.Millisecond, "a frame with nobody to hear it is dropped as no_listener")
	assert.Equal(t, 1.0, metricValue(t, srv, "tickwire_voice_frames_received_total"))

	br, brTok := member("browser")
	_, err = br.JoinRoom(ctx, rn.ID())
	require.NoError(t, err)
	got := make(chan struct{}, 64)
	peer := dialSFU(t, srv, brTok, br.Welcome().SessionID, rn.ID(), 2, func(*rtp.Packet) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	assert.Equal(t, 1.0, sfu("tickwire_sfu_links"))
	assert.Equal(t, 2.0, sfu("tickwire_sfu_tracks"), "two speaker slots")
	assert.Equal(t, 1.0, sfu("tickwire_sfu_links_opened_total"))
	assert.Equal(t, 1.0, metricValue(t, srv, "tickwire_voice_audio_links"))
	assert.Equal(t, 1.0, metricValue(t, srv, "tickwire_voice_audio_links_attached_total"))

	// Native → browser: forwarded by the room, handed to the link, written as RTP.
	for i := range 5 {
		_, err = rn.SendVoice(uint32(i+1)*960, stampPayload(time.Now()))
		require.NoError(t, err)
	}
	select {
	case <-got:
	case <-time.After(wait):
		t.Fatal("the browser heard nothing")
	}
	require.Eventually(t, func() bool {
		return sfu("tickwire_sfu_rtp_packets_total", "direction", "out") >= 1 &&
			metricValue(t, srv, "tickwire_voice_audio_frames_total") >= 1 &&
			metricValue(t, srv, "tickwire_voice_frames_forwarded_total") >= 1 &&
			metricValue(t, srv, "tickwire_voice_deliveries_total") >= 1
	}, wait, 20*time.Millisecond)

	// Browser → native: RTP in.
	for i := range 5 {
		require.NoError(t, peer.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i + 1), Timestamp: uint32(i) * 960},
			Payload: stampPayload(time.Now())}))
	}
	require.Eventually(t, func() bool {
		return sfu("tickwire_sfu_rtp_packets_total", "direction", "in") >= 1
	}, wait, 20*time.Millisecond, "the browser's RTP reached the SFU")
	assert.GreaterOrEqual(t, metricValue(t, srv, "tickwire_voice_frames_received_total"), 7.0)
	assert.Equal(t, 0.0, sfu("tickwire_sfu_frames_dropped_total", "reason", "write_error"))

	// The browser leaves: the gauges fall.
	require.NoError(t, peer.pc.Close())
	require.Eventually(t, func() bool {
		return sfu("tickwire_sfu_links") == 0 && sfu("tickwire_sfu_tracks") == 0 &&
			metricValue(t, srv, "tickwire_voice_audio_links") == 0
	}, wait, 20*time.Millisecond)
}
