package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const adminToken = "admin-token-0123456789"

// startAdmin starts a server with the admin listener on loopback.
func startAdmin(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.AdminAddr = servertest.Loopback
	cfg.Engine.AdminToken = adminToken
	srv := servertest.Start(t, cfg)
	require.NotEmpty(t, srv.AdminAddr())
	return srv
}

// adminGet GETs path on the admin listener with token ("" for none).
func adminGet(t *testing.T, srv *server.Server, path, token string) (*http.Response, []byte) {
	t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	return servertest.Request(t, http.MethodGet, "http://"+srv.AdminAddr()+path, hdr, "")
}

// families is one scrape of /metrics, parsed by the Prometheus text
// parser with the strict (legacy) name rules.
type families map[string]*dto.MetricFamily

func scrape(t *testing.T, srv *server.Server) families {
	t.Helper()
	resp, body := adminGet(t, srv, "/metrics", adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, "exposition parses")
	return fams
}

// series is the first series of family name whose labels include labels
// ("k", "v" pairs), or nil.
func (f families) series(name string, labels ...string) *dto.Metric {
	fam, ok := f[name]
	if !ok {
		return nil
	}
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return m
	}
	return nil
}

// histogram is the histogram of series (name, labels), or nil.
func (f families) histogram(name string, labels ...string) *dto.Histogram {
	if m := f.series(name, labels...); m != nil {
		return m.GetHistogram()
	}
	return nil
}

// value is the value of the series of family name whose labels include
// labels ("k", "v" pairs); -1 when there is no such series. A
// histogram's value is its sample count.
func (f families) value(name string, labels ...string) float64 {
	if m := f.series(name, labels...); m != nil {
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			return m.GetUntyped().GetValue()
		}
	}
	return -1
}

// The metrics move as real traffic goes over loopback: a session opened
// and closed, a room ticked, frames dropped, HTTP requests answered.
func TestMetricsMoveWithTraffic(t *testing.T) {
	ctx := ctxT(t)
	srv := startAdmin(t, server.Config{
		Transports: servertest.Transports(), // KCP and TCP
		Engine:     engine.Config{MaxFramesPerSecond: 20, RateLimitGrace: time.Minute},
	})
	f := scrape(t, srv)
	assert.Equal(t, 0.0, f.value("tickwire_sessions"))
	assert.Equal(t, 0.0, f.value("tickwire_sessions_opened_total"))
	assert.Equal(t, 0.0, f.value("tickwire_transport_sessions", "transport", "tcp"))
	assert.Equal(t, 0.0, f.value("tickwire_frames_dropped_total", "reason", "rate_limited"))
	assert.Equal(t, 0.0, f.value("tickwire_room_inputs_dropped_total", "reason", "too_large"))
	assert.Equal(t, 0.0, f.value("tickwire_room_ticks_total", "type", "relay"))
	assert.Greater(t, f.value("go_goroutines"), 0.0, "Go runtime collector")
	assert.Greater(t, f.value("process_resident_memory_bytes"), 0.0, "process collector")
	assert.Equal(t, 0.0, f.value("tickwire_admin_refused_total", "reason", "missing_token"))

	token, err := client.GuestToken(ctx, srv.HTTPURL(), "ada")
	require.NoError(t, err)
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: token})
	require.NoError(t, err)
	f = scrape(t, srv)
	assert.Equal(t, 1.0, f.value("tickwire_sessions"))
	assert.Equal(t, 1.0, f.value("tickwire_sessions_opened_total"))
	assert.Equal(t, 1.0, f.value("tickwire_handshakes_total"))
	assert.Equal(t, 1.0, f.value("tickwire_transport_sessions", "transport", "tcp", "addr", srv.Addr("tcp")))
	assert.Equal(t, 1.0, f.value("tickwire_guest_tokens_total"))
	assert.Equal(t, 1.0, f.value("tickwire_http_requests_total", "route", "POST /v1/auth/guest", "code", "200"))
	assert.Equal(t, 1.0, f.value("tickwire_http_request_duration_seconds", "route", "POST /v1/auth/guest"))
	assert.Positive(t, f.value("tickwire_frames_received_total"))
	assert.Positive(t, f.value("tickwire_received_bytes_total"))
	assert.Equal(t, 1.0, f.value("tickwire_transport_connections", "transport", "tcp"))
	assert.Equal(t, -1.0, f.value("tickwire_transport_connections", "transport", "kcp"), "no KCP connection yet")
	assert.Positive(t, f.value("tickwire_transport_messages_received_total", "transport", "tcp"))
	assert.Positive(t, f.value("tickwire_transport_sent_bytes_total", "transport", "tcp"))

	// A second session over KCP is counted under its own transport.
	k, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: token})
	require.NoError(t, err)
	f = scrape(t, srv)
	assert.Equal(t, 2.0, f.value("tickwire_sessions"))
	assert.Equal(t, 1.0, f.value("tickwire_transport_connections", "transport", "kcp"))
	assert.Equal(t, 1.0, f.value("tickwire_transport_connections", "transport", "tcp"))
	assert.Equal(t, 1.0, f.value("tickwire_transport_sessions", "transport", "kcp", "addr", srv.Addr("kcp")))
	assert.Positive(t, f.value("tickwire_transport_received_bytes_total", "transport", "kcp"))
	assert.Positive(t, f.value("tickwire_transport_handshakes_started_total", "transport", "kcp"))
	// No loss on loopback: a connection sends at most the sparse floor's one
	// copy (docs/KCP.md), so the summed level equals the connections at it.
	assert.Equal(t, f.value("tickwire_transport_redundant_connections", "transport", "kcp"),
		f.value("tickwire_transport_redundancy_copies", "transport", "kcp"))
	assert.GreaterOrEqual(t, f.value("tickwire_transport_redundancy_copies", "transport", "kcp"), 0.0)
	f = scrape(t, srv)
	kcpIn := f.value("tickwire_transport_messages_received_total", "transport", "kcp")
	assert.Positive(t, kcpIn)
	require.NoError(t, k.Close())
	require.Eventually(t, func() bool {
		return scrape(t, srv).value("tickwire_transport_connections", "transport", "kcp") == 0
	}, 10*time.Second, 20*time.Millisecond)
	assert.GreaterOrEqual(t, scrape(t, srv).value("tickwire_transport_messages_received_total", "transport", "kcp"), kcpIn,
		"an ended connection's counters stay in the totals")

	// A room ticks: the tick counter and both tick histograms move.
	r, err := c.CreateRoom(ctx, client.RoomOptions{Type: "relay", TickRate: 30})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return scrape(t, srv).value("tickwire_room_ticks_total", "type", "relay") >= 3
	}, 10*time.Second, 20*time.Millisecond)
	f = scrape(t, srv)
	assert.Equal(t, 1.0, f.value("tickwire_rooms", "type", "relay"))
	assert.Equal(t, 1.0, f.value("tickwire_room_members", "type", "relay"))
	assert.Equal(t, 1.0, f.value("tickwire_rooms_created_total", "type", "relay"))
	assert.GreaterOrEqual(t, f.value("tickwire_room_tick_duration_seconds", "type", "relay"), 3.0)
	assert.GreaterOrEqual(t, f.value("tickwire_room_tick_lateness_seconds", "type", "relay"), 3.0)
	assert.Positive(t, f.value("tickwire_frames_sent_total"))

	// An input above the room's MaxInputSize is dropped and counted.
	_, err = r.SendInput(netcode.Reliable, make([]byte, 4096))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return scrape(t, srv).value("tickwire_room_inputs_dropped_total", "reason", "too_large") == 1
	}, 10*time.Second, 20*time.Millisecond)

	// Inputs above MaxFramesPerSecond are dropped by the engine.
	for range 200 {
		_, err = r.SendInput(netcode.Unreliable, []byte("x"))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return scrape(t, srv).value("tickwire_frames_dropped_total", "reason", "rate_limited") > 0
	}, 10*time.Second, 20*time.Millisecond)

	// The session ends: the gauges fall, the close is counted by code.
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool {
		f := scrape(t, srv)
		return f.value("tickwire_sessions") == 0 && f.value("tickwire_sessions_closed_total", "code", "ok") == 2 &&
			f.value("tickwire_room_members", "type", "relay") == 0
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, 0.0, scrape(t, srv).value("tickwire_transport_sessions", "transport", "tcp"))
}

// Every admin route refuses a request without the admin token or with a
// wrong one (401, coded, counted), and serves the right one.
func TestAdminRefusesWithoutToken(t *testing.T) {
	srv := startAdmin(t, server.Config{Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}}})
	paths := []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/v1/stats", "/nope"}
	for _, p := range paths {
		for _, tok := range []string{"", "wrong-token-0123456789", adminToken + "x", adminToken[:len(adminToken)-1]} {
			resp, body := adminGet(t, srv, p, tok)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s with %q", p, tok)
			var e engine.ErrorResponse
			require.NoError(t, json.Unmarshal(body, &e), "%s", body)
			want := netcode.CodeBadToken.String()
			if tok == "" {
				want = netcode.CodeNotAuthenticated.String()
			}
			assert.Equal(t, want, e.Error, "%s with %q", p, tok)
			assert.NotContains(t, string(body), "tickwire_", "nothing of the metrics leaks")
		}
	}
	f := scrape(t, srv)
	assert.Equal(t, float64(len(paths)), f.value("tickwire_admin_refused_total", "reason", "missing_token"))
	assert.Equal(t, float64(3*len(paths)), f.value("tickwire_admin_refused_total", "reason", "wrong_token"))

	resp, body := adminGet(t, srv, "/debug/pprof/", adminToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "goroutine")
	resp, body = adminGet(t, srv, "/debug/pprof/goroutine?debug=1", adminToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "goroutine profile")
	resp, body = adminGet(t, srv, "/v1/stats", adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st engine.Stats
	require.NoError(t, json.Unmarshal(body, &st))
	assert.Contains(t, st.Listeners, "tcp/"+srv.Addr("tcp"))
	resp, _ = adminGet(t, srv, "/nope", adminToken)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// The API port does not serve the admin routes, /v1/stats included,
	// even to the holder of the admin token.
	for _, p := range []string{"/metrics", "/v1/stats", "/debug/pprof/"} {
		resp, body = servertest.Request(t, http.MethodGet, srv.HTTPURL()+p, map[string]string{"Authorization": "Bearer " + adminToken}, "")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
		assert.NotContains(t, string(body), "sessions_open", p)
	}
}

// The admin listener is off by default and needs a token of
// MinAdminTokenLen bytes.
func TestAdminConfig(t *testing.T) {
	srv := servertest.Start(t, server.Config{Transports: []netcode.Transport{}, HTTPAddr: server.Off})
	assert.Empty(t, srv.AdminAddr(), "off by default")
	require.NotNil(t, srv.Metrics(), "the registry exists without the listener")

	for _, tok := range []string{"", strings.Repeat("x", server.MinAdminTokenLen-1)} {
		_, err := server.Start(ctxT(t), server.Config{
			Transports: []netcode.Transport{}, HTTPAddr: server.Off, DataDir: t.TempDir(),
			AdminAddr: servertest.Loopback, Engine: engine.Config{AdminToken: tok},
		})
		require.ErrorIs(t, err, server.ErrBadConfig, "token %q", tok)
	}
}

// The social service's store calls are timed by operation as real
// clients use it.
func TestSocialStoreLatencyMoves(t *testing.T) {
	ctx := ctxT(t)
	srv := startAdmin(t, server.Config{Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}}})
	assert.Equal(t, 0.0, scrape(t, srv).value("tickwire_social_store_duration_seconds", "op", "set_status"))
	acct, err := client.Register(ctx, srv.HTTPURL(), "ada", "correct horse battery")
	require.NoError(t, err)
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: acct.Token})
	require.NoError(t, err)
	require.NoError(t, c.SetPresence(ctx, frame.PresenceAway, "brb"))
	require.Eventually(t, func() bool {
		return scrape(t, srv).value("tickwire_social_store_duration_seconds", "op", "set_status") >= 1
	}, 10*time.Second, 20*time.Millisecond)
	f := scrape(t, srv)
	assert.Equal(t, 1.0, f.value("tickwire_social_users_online"))
	assert.Equal(t, 0.0, f.value("tickwire_social_store_duration_seconds", "op", "insert_message"), "no message was sent")
	require.NoError(t, c.Close())
}
