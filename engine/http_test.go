package engine

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// routedService adds an HTTP route through service.Router.
type routedService struct{ kindClaimer }

func (routedService) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/test/hello", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, r, http.StatusOK, map[string]string{"hello": "world", "ip": httpapi.ClientIP(r).String()})
	})
}

// httpAnswer is a decoded answer of the engine's HTTP API.
type httpAnswer struct {
	status int
	header http.Header
	m      map[string]any
}

// code is the error code of an error answer.
func (a httpAnswer) code() netcode.Code {
	c, _ := a.m["code"].(float64)
	return netcode.Code(c)
}

// httpDo sends a request to srv; headers are name/value pairs. Every
// answer must carry the API's common headers.
func httpDo(t *testing.T, srv *httptest.Server, method, path, body string, headers ...string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := httpAnswer{status: resp.StatusCode, header: resp.Header}
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "%s %s", method, path)
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), "%s %s", method, path)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "%s %s", method, path)
		require.NoError(t, json.Unmarshal(data, &a.m), "%s %s: %s", method, path, data)
	}
	return a
}

func TestHTTPAPI(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	e, err := New(Config{
		Now:           func() time.Time { return now },
		GuestTokenTTL: time.Hour,
		GuestsPerIP:   -1, // many requests below; TestGuestTokensPerIP tests the limit
		Services:      []service.Service{routedService{kindClaimer{k: 40}}},
	})
	require.NoError(t, err)
	srv := httptest.NewServer(e.HTTPHandler())
	defer srv.Close()
	do := func(method, path, body string) httpAnswer { t.Helper(); return httpDo(t, srv, method, path, body) }

	a := do("GET", "/healthz", "")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "ok", a.m["status"])

	a = do("POST", "/v1/auth/guest", `{"name":"  Zoe\u0308  "}`)
	require.Equal(t, 200, a.status)
	assert.Equal(t, "Zoë", a.m["name"], "trimmed and NFC-normalized by frame.CleanText")
	assert.Equal(t, true, a.m["guest"])
	assert.Equal(t, now.Add(time.Hour).UTC().Format(time.RFC3339), a.m["expires_at"])
	claims, err := e.Signer().Verify(a.m["token"].(string), now)
	require.NoError(t, err)
	assert.Equal(t, a.m["user_id"], claims.UserID)
	assert.True(t, claims.Guest)
	_, err = e.Signer().Verify(a.m["token"].(string), now.Add(time.Hour))
	assert.ErrorIs(t, err, netcode.CodeTokenExpired)

	a = do("POST", "/v1/auth/guest", "")
	require.Equal(t, 200, a.status, "the body is optional")
	assert.True(t, strings.HasPrefix(a.m["name"].(string), "guest-"))

	for name, tc := range map[string]struct {
		body   string
		status int
		code   netcode.Code
	}{
		"not json":      {`{nope`, 400, netcode.CodeBadRequest},
		"unknown field": {`{"name":"a","admin":true}`, 400, netcode.CodeBadRequest},
		"trailing data": {`{"name":"a"}{"name":"b"}`, 400, netcode.CodeBadRequest},
		"over size":     {`{"name":"` + strings.Repeat("x", 5000) + `"}`, 413, netcode.CodeFrameTooLarge},
		"long name":     {`{"name":"` + strings.Repeat("x", frame.MaxNameLen+1) + `"}`, 400, netcode.CodeBadText},
		"bad utf8":      {"{\"name\":\"\xff\"}", 400, netcode.CodeBadText},
		"control":       {`{"name":"a\u0007b"}`, 400, netcode.CodeBadText},
		"bidi override": {`{"name":"abc\u202Edef"}`, 400, netcode.CodeBadText},
		"zero width":    {`{"name":"ali\u200Bce"}`, 400, netcode.CodeBadText},
	} {
		a = do("POST", "/v1/auth/guest", tc.body)
		assert.Equal(t, tc.status, a.status, name)
		assert.Equal(t, tc.code, a.code(), name)
		assert.Equal(t, tc.code.String(), a.m["error"], name)
	}
	assert.EqualValues(t, 5, e.Stats().HTTP.GuestRefused["bad_text"], "names refused by the text rule are counted")
	assert.EqualValues(t, 2, e.Stats().HTTP.GuestTokens)

	a = do("GET", "/v1/test/hello", "")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "world", a.m["hello"])
	assert.Equal(t, "127.0.0.1", a.m["ip"], "service routes run behind the same middleware")

	require.NoError(t, e.Shutdown(t.Context()))
	a = do("GET", "/healthz", "")
	assert.Equal(t, 503, a.status)
	assert.Equal(t, "shutting_down", a.m["status"])
}

// TestGuestTokensPerIP: GuestsPerIP tokens per client address per minute;
// past it 429 rate_limited with Retry-After, counted; another address is
// not affected; a forged X-Forwarded-For does not reset the count, the
// same header from a trusted proxy names another client.
func TestGuestTokensPerIP(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Unix(1_700_000_000, 0).UnixNano())
	for name, tc := range map[string]struct {
		trusted   []netip.Prefix
		xffCounts bool // whether X-Forwarded-For names another client
	}{
		"no trusted proxy":    {nil, false},
		"loopback is a proxy": {[]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, true},
	} {
		e, err := New(Config{
			Now:            func() time.Time { return time.Unix(0, clock.Load()) },
			GuestsPerIP:    3,
			TrustedProxies: tc.trusted,
		})
		require.NoError(t, err)
		srv := httptest.NewServer(e.HTTPHandler())
		for i := range 3 {
			require.Equal(t, 200, httpDo(t, srv, "POST", "/v1/auth/guest", "").status, "%s: token %d within the burst", name, i)
		}
		a := httpDo(t, srv, "POST", "/v1/auth/guest", "")
		require.Equal(t, 429, a.status, name)
		assert.Equal(t, netcode.CodeRateLimited, a.code(), name)
		assert.Equal(t, "20", a.header.Get("Retry-After"), "%s: 3 per minute refills one every 20s", name)
		assert.True(t, netcode.CodeRateLimited.MayReconnect())

		a = httpDo(t, srv, "POST", "/v1/auth/guest", "", "X-Forwarded-For", "198.51.100.7")
		if tc.xffCounts {
			assert.Equal(t, 200, a.status, "%s: the client a trusted proxy names has its own bucket", name)
		} else {
			assert.Equal(t, 429, a.status, "%s: a forged X-Forwarded-For is ignored", name)
		}

		st := e.Stats().HTTP
		assert.EqualValues(t, map[string]uint64{"rate_limited": 2 - b2u(tc.xffCounts), "bad_text": 0}, st.GuestRefused, name)
		assert.EqualValues(t, 3+b2u(tc.xffCounts), st.GuestTokens, name)
		assert.EqualValues(t, 2-b2u(tc.xffCounts), st.GuestLimiter.Refused, name)

		clock.Add(int64(20 * time.Second))
		assert.Equal(t, 200, httpDo(t, srv, "POST", "/v1/auth/guest", "").status, "%s: refilled after Retry-After", name)
		assert.Equal(t, 200, httpDo(t, srv, "GET", "/healthz", "").status, "%s: the server stays healthy", name)
		srv.Close()
		require.NoError(t, e.Shutdown(t.Context()))
	}

	e, err := New(Config{GuestsPerIP: -1})
	require.NoError(t, err)
	srv := httptest.NewServer(e.HTTPHandler())
	defer srv.Close()
	for i := range DefaultGuestsPerIP + 5 {
		require.Equal(t, 200, httpDo(t, srv, "POST", "/v1/auth/guest", "").status, "negative lifts the limit (%d)", i)
	}
	e, err = New(Config{})
	require.NoError(t, err)
	assert.Equal(t, DefaultGuestsPerIP, e.Config().GuestsPerIP, "on by default")
	_, err = New(Config{TrustedProxies: []netip.Prefix{{}}})
	assert.ErrorIs(t, err, ErrBadConfig)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// TestStatsNotOnTheAPIPort: the engine's HTTP API does not serve its
// stats, even to the holder of the admin token (they are on the admin
// listener, package server).
func TestStatsNotOnTheAPIPort(t *testing.T) {
	const token = "s3cret-admin-token-0123456789"
	e, err := New(Config{AdminToken: token})
	require.NoError(t, err)
	srv := httptest.NewServer(e.HTTPHandler())
	defer srv.Close()
	for _, auth := range []string{"", "Bearer " + token} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/stats", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, auth)
		assert.NotContains(t, string(b), "sessions_open", auth)
	}
	require.NoError(t, e.Shutdown(t.Context()))
}

// The engine's handler on its own applies Config.AllowedOrigins and
// counts in Stats.HTTP.CORS (behind the assembly, HTTPConfig carries the
// same policy and counters).
func TestHTTPCORS(t *testing.T) {
	_, err := New(Config{AllowedOrigins: []string{"https://game.example.com/play"}})
	assert.ErrorIs(t, err, ErrBadConfig)
	assert.ErrorIs(t, err, httpapi.ErrBadOrigin)

	e, err := New(Config{AllowedOrigins: []string{"https://game.example.com"}})
	require.NoError(t, err)
	srv := httptest.NewServer(e.HTTPHandler())
	defer srv.Close()
	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, srv.URL+"/v1/auth/guest", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	assert.Equal(t, http.StatusNoContent, preflight("https://game.example.com").StatusCode)
	assert.Equal(t, http.StatusForbidden, preflight("https://game.example.com.evil.test").StatusCode)
	a := httpDo(t, srv, "POST", "/v1/auth/guest", "", "Origin", "https://game.example.com")
	assert.Equal(t, "https://game.example.com", a.header.Get("Access-Control-Allow-Origin"))
	a = httpDo(t, srv, "POST", "/v1/auth/guest", "", "Origin", "https://evil.test")
	assert.Empty(t, a.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, httpapi.CORSStats{Preflights: 1, PreflightsRefused: 1, Foreign: 1}, e.Stats().HTTP.CORS)
	assert.EqualValues(t, 2, e.Stats().HTTP.GuestTokens, "only the real requests reached the handler")
	require.NoError(t, e.Shutdown(t.Context()))
}
