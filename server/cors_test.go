package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const corsAdminToken = "cors-test-admin-token"

// startBrowserServer starts a server with the browser transports and the
// given origin patterns (engine.Config.AllowedOrigins, as -origins sets
// them).
func startBrowserServer(t *testing.T, origins ...string) *server.Server {
	t.Helper()
	return servertest.Start(t, server.Config{
		Transports: []netcode.Transport{&ws.Transport{}, &longpoll.Transport{}},
		Engine:     engine.Config{AllowedOrigins: origins, AdminToken: corsAdminToken},
		AdminAddr:  servertest.Loopback,
		Routes:     servertest.Demo(t),
	})
}

func preflightFrom(origin, method string) map[string]string {
	return map[string]string{"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization,content-type"}
}

func accessControl(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = v
		}
	}
	return out
}

// assertCORS checks the headers of an allowed, non-preflight answer.
func assertCORS(t *testing.T, origin string, resp *http.Response) {
	t.Helper()
	assert.Equal(t, http.Header{
		"Access-Control-Allow-Origin":   {origin},
		"Access-Control-Expose-Headers": {"Retry-After, WWW-Authenticate"},
	}, accessControl(resp.Header))
	assert.Contains(t, resp.Header.Values("Vary"), "Origin")
}

// A page from a dev server on another port (the README's "from a web
// page in ten lines") signs in as a guest and opens a long-poll session:
// preflights are answered by the middleware, the real requests carry the
// CORS headers.
func TestCORSAllowsALocalDevServer(t *testing.T) {
	srv := startBrowserServer(t)
	const page = "http://localhost:5173"
	eng := srv.Engine()

	for _, path := range []string{"/v1/auth/guest", "/v1/lp/open", "/v1/auth/login", "/v1/rtc/offer"} {
		resp, _ := servertest.Request(t, http.MethodOptions, srv.HTTPURL()+path, preflightFrom(page, "POST"), "")
		assert.Equal(t, http.StatusNoContent, resp.StatusCode, path)
		assert.Equal(t, http.Header{
			"Access-Control-Allow-Origin":  {page},
			"Access-Control-Allow-Methods": {"GET, POST, PUT, DELETE"},
			"Access-Control-Allow-Headers": {"Authorization, Content-Type"},
			"Access-Control-Max-Age":       {"600"},
		}, accessControl(resp.Header), path)
	}
	st := eng.Stats().HTTP
	assert.Zero(t, st.GuestTokens, "a preflight never reaches the handler")
	assert.Zero(t, st.GuestLimiter.Allowed+st.GuestLimiter.Refused, "nor the guest limiter")
	assert.Equal(t, httpapi.CORSStats{Preflights: 4}, st.CORS)

	resp, b := servertest.Request(t, http.MethodPost, srv.HTTPURL()+"/v1/auth/guest", map[string]string{"Origin": page, "Content-Type": "application/json"}, `{"name":"ada"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	assertCORS(t, page, resp)
	var tok engine.TokenResponse
	require.NoError(t, json.Unmarshal(b, &tok))

	resp, b = servertest.Request(t, http.MethodPost, srv.HTTPURL()+"/v1/lp/open", map[string]string{"Origin": page, "Authorization": "Bearer " + tok.Token}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	assertCORS(t, page, resp)
	var open longpoll.OpenResponse
	require.NoError(t, json.Unmarshal(b, &open))

	resp, _ = servertest.Request(t, http.MethodOptions, srv.HTTPURL()+"/v1/lp/"+open.ID, preflightFrom(page, "DELETE"), "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, b = servertest.Request(t, http.MethodDelete, srv.HTTPURL()+"/v1/lp/"+open.ID+"?code=0", map[string]string{"Origin": page, "Authorization": "Bearer " + open.Secret}, "")
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", b)
	assertCORS(t, page, resp)

	// A refusal a page must read: 401 with WWW-Authenticate, exposed.
	resp, _ = servertest.Request(t, http.MethodPost, srv.HTTPURL()+"/v1/lp/open", map[string]string{"Origin": page, "Authorization": "Bearer nonsense"}, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assertCORS(t, page, resp)
	assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))

	// The SDK module the README's page imports from the server is a
	// cross-origin module script: it needs the same headers.
	resp, b = servertest.Request(t, http.MethodGet, srv.HTTPURL()+"/web/tickwire.js", map[string]string{"Origin": page}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotEmpty(t, b)
	assertCORS(t, page, resp)

	// Without Origin (curl, the Go SDK) nothing changes.
	resp, _ = servertest.Request(t, http.MethodGet, srv.HTTPURL()+"/healthz", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, accessControl(resp.Header))
	assert.NotContains(t, resp.Header.Values("Vary"), "Origin")
	assert.Equal(t, httpapi.CORSStats{Preflights: 5}, eng.Stats().HTTP.CORS)
}

// A page from an origin the policy does not allow gets no CORS headers,
// so its browser keeps every answer from it, and its preflights are
// refused with the API's error, counted in GET /v1/stats. One policy:
// the WebSocket upgrade refuses the same origins and allows the listed
// one.
func TestCORSRefusesAForeignOrigin(t *testing.T) {
	const listed = "https://game.example.com"
	srv := startBrowserServer(t, listed)
	eng := srv.Engine()
	for _, origin := range []string{
		"https://evil.test",
		"http://localhost.evil.example",
		"http://127.0.0.1.evil.example",
		"null",
		"https://game.example.com.evil.test",
		"http://game.example.com",      // the listed host, another scheme
		"https://game.example.com:444", // another port
	} {
		t.Run(origin, func(t *testing.T) {
			before := eng.Stats().HTTP
			resp, b := servertest.Request(t, http.MethodOptions, srv.HTTPURL()+"/v1/auth/guest", preflightFrom(origin, "POST"), "")
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Empty(t, accessControl(resp.Header))
			var e httpapi.ErrorResponse
			require.NoError(t, json.Unmarshal(b, &e), "%s", b)
			assert.Equal(t, "forbidden", e.Error)
			assert.EqualValues(t, 18, e.Code)

			resp, b = servertest.Request(t, http.MethodPost, srv.HTTPURL()+"/v1/auth/guest", map[string]string{"Origin": origin}, "")
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
			assert.Empty(t, accessControl(resp.Header), "no CORS headers: the browser blocks the page from the answer")

			after := eng.Stats().HTTP
			assert.Equal(t, before.CORS.PreflightsRefused+1, after.CORS.PreflightsRefused)
			assert.Equal(t, before.CORS.Foreign+1, after.CORS.Foreign)
			assert.Zero(t, after.CORS.Preflights)

			_, err := ws.Dialer{URL: wsURL(srv), Header: http.Header{"Origin": {origin}}}.DialWS(ctxT(t))
			require.Error(t, err, "the WebSocket upgrade applies the same policy")
			assert.Equal(t, netcode.CodeForbidden, netcode.CodeOf(err), "%v", err)
		})
	}

	// The refusals show in the stats an operator reads.
	resp, b := servertest.Request(t, http.MethodGet, "http://"+srv.AdminAddr()+"/v1/stats", map[string]string{"Authorization": "Bearer " + corsAdminToken}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var st struct {
		HTTP struct {
			CORS httpapi.CORSStats `json:"cors"`
		} `json:"http"`
	}
	require.NoError(t, json.Unmarshal(b, &st))
	assert.Equal(t, httpapi.CORSStats{PreflightsRefused: 7, Foreign: 14}, st.HTTP.CORS, "7 guest requests and 7 upgrades came from foreign origins")
	ls := eng.ServiceStats().Listeners["ws/"+ws.DefaultPath]
	assert.EqualValues(t, 7, ls.Refused["origin"], "and the upgrades were refused: %+v", eng.ServiceStats().Listeners)

	// The listed origin, exactly, passes both.
	resp, _ = servertest.Request(t, http.MethodOptions, srv.HTTPURL()+"/v1/auth/guest", preflightFrom(listed, "POST"), "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, listed, resp.Header.Get("Access-Control-Allow-Origin"))
	c, err := ws.Dialer{URL: wsURL(srv), Header: http.Header{"Origin": {listed}}}.DialWS(ctxT(t))
	require.NoError(t, err, "the origin -origins lists may open a WebSocket too")
	require.NoError(t, c.Close(netcode.CodeOK, ""))
}

// "*" allows any page (the API takes bearer tokens, never cookies), on
// the HTTP API and the WebSocket alike; "null" stays refused.
func TestCORSAnyOrigin(t *testing.T) {
	srv := startBrowserServer(t, "*")
	const page = "https://anything.example"
	resp, _ := servertest.Request(t, http.MethodOptions, srv.HTTPURL()+"/v1/lp/open", preflightFrom(page, "POST"), "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, page, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))
	resp, b := servertest.Request(t, http.MethodPost, srv.HTTPURL()+"/v1/auth/guest", map[string]string{"Origin": page}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	assertCORS(t, page, resp)
	c, err := ws.Dialer{URL: wsURL(srv), Header: http.Header{"Origin": {page}}}.DialWS(ctxT(t))
	require.NoError(t, err)
	require.NoError(t, c.Close(netcode.CodeOK, ""))
	resp, _ = servertest.Request(t, http.MethodOptions, srv.HTTPURL()+"/v1/lp/open", preflightFrom("null", "POST"), "")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// A bad pattern is a configuration error, caught at Start.
func TestBadOriginPatternIsRefused(t *testing.T) {
	_, err := server.Start(ctxT(t), server.Config{HTTPAddr: servertest.Loopback, DataDir: t.TempDir(), Engine: engine.Config{AllowedOrigins: []string{"https://*.evil.*"}}})
	require.Error(t, err)
	assert.ErrorIs(t, err, engine.ErrBadConfig)
	assert.ErrorIs(t, err, httpapi.ErrBadOrigin)
}

func wsURL(srv *server.Server) string {
	return "ws://" + srv.HTTPAddr() + ws.DefaultPath
}
