package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// get fetches url with optional headers and returns the answer and its body.
func get(t *testing.T, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	resp, b := servertest.Request(t, method, url, hdr, "")
	return resp, string(b)
}

// Mounted routes answer on the one HTTP server behind the API's
// middleware (headers, client address through trusted proxies), beside
// the engine's routes, which they do not disturb.
func TestRoutesAnswerBehindTheMiddleware(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		// The loopback peer is a trusted proxy: its X-Forwarded-For names the client.
		Engine: engine.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Routes: map[string]http.Handler{
			"GET /{$}": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, "<p>root</p>")
			}),
			"GET /hello/{name}": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				httpapi.WriteJSON(w, r, http.StatusOK, map[string]string{
					"name": r.PathValue("name"),
					"ip":   httpapi.ClientIP(r).String(),
				})
			}),
		},
	})
	base := srv.HTTPURL()

	resp, body := get(t, "GET", base+"/hello/zoe", map[string]string{"X-Forwarded-For": "198.51.100.7"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"name":"zoe","ip":"198.51.100.7"}`, body, "the middleware resolved the client through the trusted proxy")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), "the middleware's headers")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	resp, body = get(t, "GET", base+"/", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "<p>root</p>", body)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), "a route replaces the middleware's Content-Type")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

	// The API still answers its own paths; "/{$}" took the root alone.
	resp, body = get(t, "GET", base+"/healthz", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, body)
	resp, body = get(t, "POST", base+"/v1/auth/guest", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var tok struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &tok))
	assert.NotEmpty(t, tok.Token)
	resp, _ = get(t, "GET", base+"/nope", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a path nobody serves is still the API's 404")
	resp, _ = get(t, "POST", base+"/hello/zoe", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode,
		"a method the route does not take falls through to the API's \"/\" (404), not a 405 from the mux")
}

// Routes that could capture the API's paths, or that conflict, are
// refused with ErrBadConfig (never a panic), and Start releases what it
// opened.
func TestRoutesCannotShadowTheAPI(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for name, tc := range map[string]struct {
		routes map[string]http.Handler
		http   string
		msg    string
	}{
		"every path":             {routes: map[string]http.Handler{"/": ok}, msg: "matches every path"},
		"every GET":              {routes: map[string]http.Handler{"GET /": ok}, msg: "matches every path"},
		"wildcard first":         {routes: map[string]http.Handler{"/{page}": ok}, msg: "wildcard"},
		"rest wildcard":          {routes: map[string]http.Handler{"GET /{path...}": ok}, msg: "wildcard"},
		"wildcard then literal":  {routes: map[string]http.Handler{"POST /{id}/edit": ok}, msg: "wildcard"},
		"healthz":                {routes: map[string]http.Handler{"GET /healthz": ok}, msg: "/healthz belongs to the API"},
		"an API route":           {routes: map[string]http.Handler{"POST /v1/auth/guest": ok}, msg: "/v1 belongs to the API"},
		"the API's namespace":    {routes: map[string]http.Handler{"/v1/": ok}, msg: "/v1 belongs to the API"},
		"a later API version":    {routes: map[string]http.Handler{"/v2/things": ok}, msg: "/v2 belongs to the API"},
		"with a host":            {routes: map[string]http.Handler{"example.com/v1/stats": ok}, msg: "/v1 belongs to the API"},
		"no path":                {routes: map[string]http.Handler{"GET": ok}, msg: "no path"},
		"nil handler":            {routes: map[string]http.Handler{"/web/": nil}, msg: "no handler"},
		"malformed":              {routes: map[string]http.Handler{"GET /a/{b": ok}, msg: `Routes["GET /a/{b"]`},
		"conflict":               {routes: map[string]http.Handler{"/a/{x}": ok, "/a/{y}": ok}, msg: "conflicts"},
		"without an HTTP server": {routes: map[string]http.Handler{"/web/": ok}, http: server.Off, msg: "need the HTTP server"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := server.Config{
				Transports: []netcode.Transport{},
				HTTPAddr:   servertest.Loopback,
				DataDir:    t.TempDir(),
				Routes:     tc.routes,
			}
			if tc.http != "" {
				cfg.HTTPAddr = tc.http
			}
			srv, err := server.Start(context.Background(), cfg)
			require.ErrorIs(t, err, server.ErrBadConfig)
			assert.Nil(t, srv)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}

	// What is allowed: the root alone, and paths of one's own, even ones
	// that merely look like the API's.
	srv := servertest.Start(t, server.Config{Routes: map[string]http.Handler{
		"GET /{$}":         ok,
		"/web/":            ok,
		"GET /vendor/{x}":  ok,
		"/v1x/":            ok,
		"GET /healthzish/": ok,
	}})
	resp, body := get(t, "GET", srv.HTTPURL()+"/healthz", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.Contains(body, `"ok"`), body)
}
