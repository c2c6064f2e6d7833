package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// corsServer serves a handler that counts its calls behind Wrap with
// the given patterns, on 127.0.0.1.
type corsServer struct {
	url      string
	hits     atomic.Int64
	counters CORSCounters
}

func startCORS(t *testing.T, patterns ...string) *corsServer {
	t.Helper()
	origins, err := NewOriginPolicy(patterns)
	require.NoError(t, err)
	s := &corsServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.URL.Path == "/refuse" {
			WriteError(w, r, &RetryAfterError{RetryAfter: 2e9, Err: netcode.Errorf(netcode.CodeRateLimited, "slow down")})
			return
		}
		WriteJSON(w, r, http.StatusOK, map[string]string{"ok": "yes"})
	})
	hs := httptest.NewServer(Wrap(h, Config{Origins: origins, CORS: &s.counters}))
	t.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

func (s *corsServer) do(t *testing.T, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(""))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func preflight(origin string) map[string]string {
	return map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization, content-type",
	}
}

// corsHeaders are the response's Access-Control-* headers.
func corsHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = v
		}
	}
	return out
}

func TestCORSAllowedOrigin(t *testing.T) {
	s := startCORS(t)
	const page = "http://localhost:5173" // a dev server on another port
	resp := s.do(t, http.MethodPost, "/refuse", map[string]string{"Origin": page, "Authorization": "Bearer x"})
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, page, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, []string{"Origin"}, resp.Header.Values("Vary"))
	assert.Equal(t, "Retry-After, WWW-Authenticate", resp.Header.Get("Access-Control-Expose-Headers"))
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	assert.Empty(t, resp.Header.Values("Access-Control-Allow-Credentials"))
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Methods"), "only on preflights")
	assert.EqualValues(t, 1, s.hits.Load())
	assert.Equal(t, CORSStats{}, s.counters.Stats(), "an allowed request is not a refusal")
}

func TestCORSPreflight(t *testing.T) {
	s := startCORS(t)
	resp := s.do(t, http.MethodOptions, "/v1/lp/open", preflight("http://127.0.0.1:5173"))
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, http.Header{
		"Access-Control-Allow-Origin":  {"http://127.0.0.1:5173"},
		"Access-Control-Allow-Methods": {"GET, POST, PUT, DELETE"},
		"Access-Control-Allow-Headers": {"Authorization, Content-Type"},
		"Access-Control-Max-Age":       {"600"},
	}, corsHeaders(resp.Header), "no credentials, ever")
	assert.Equal(t, []string{"Origin"}, resp.Header.Values("Vary"))
	assert.EqualValues(t, 0, s.hits.Load(), "a preflight never reaches the handler")
	assert.Equal(t, CORSStats{Preflights: 1}, s.counters.Stats())

	// OPTIONS without Access-Control-Request-Method is no preflight: the
	// handler answers it.
	resp = s.do(t, http.MethodOptions, "/x", map[string]string{"Origin": "http://127.0.0.1:5173"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, s.hits.Load())
}

func TestCORSDisallowedOrigin(t *testing.T) {
	s := startCORS(t, "https://game.example.com")
	for _, origin := range []string{"https://evil.test", "http://localhost.evil.example", "http://127.0.0.1.evil.example", "null", "https://game.example.com.evil.test", "http://game.example.com"} {
		t.Run(origin, func(t *testing.T) {
			before, hits := s.counters.Stats(), s.hits.Load()
			resp := s.do(t, http.MethodPost, "/x", map[string]string{"Origin": origin})
			assert.Equal(t, http.StatusOK, resp.StatusCode, "served: the browser, not the server, keeps it from the page")
			assert.Empty(t, corsHeaders(resp.Header))
			assert.Equal(t, hits+1, s.hits.Load())

			resp = s.do(t, http.MethodOptions, "/x", preflight(origin))
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Empty(t, corsHeaders(resp.Header))
			var body ErrorResponse
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			assert.Equal(t, ErrorResponse{Error: "forbidden", Code: uint16(netcode.CodeForbidden), Message: "origin not allowed"}, body)
			assert.Equal(t, hits+1, s.hits.Load(), "a refused preflight never reaches the handler")
			assert.Equal(t, CORSStats{PreflightsRefused: before.PreflightsRefused + 1, Foreign: before.Foreign + 1}, s.counters.Stats())
		})
	}
	resp := s.do(t, http.MethodOptions, "/x", preflight("https://game.example.com"))
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "the listed origin, exactly")
	assert.Equal(t, "https://game.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestCORSAnyOrigin(t *testing.T) {
	s := startCORS(t, "*")
	resp := s.do(t, http.MethodOptions, "/x", preflight("https://anything.example"))
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "https://anything.example", resp.Header.Get("Access-Control-Allow-Origin"), "the origin itself, with Vary")
	resp = s.do(t, http.MethodGet, "/x", map[string]string{"Origin": "https://anything.example"})
	assert.Equal(t, "https://anything.example", resp.Header.Get("Access-Control-Allow-Origin"))
	resp = s.do(t, http.MethodOptions, "/x", preflight("null"))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "null is no origin, even under *")
}

func TestCORSWithoutOrigin(t *testing.T) {
	s := startCORS(t)
	resp := s.do(t, http.MethodOptions, "/x", map[string]string{"Access-Control-Request-Method": "POST"})
	assert.Equal(t, http.StatusOK, resp.StatusCode, "not a browser's preflight: the handler answers")
	assert.Empty(t, corsHeaders(resp.Header))
	assert.Empty(t, resp.Header.Values("Vary"))
	resp = s.do(t, http.MethodGet, "/x", nil)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"ok":"yes"}`, string(b))
	assert.Empty(t, corsHeaders(resp.Header))
	assert.EqualValues(t, 2, s.hits.Load())
	assert.Equal(t, CORSStats{}, s.counters.Stats())
}

// Wrapped twice (the assembly around the engine's handler), the outer
// Wrap's policy decides and CORS headers are set once.
func TestCORSWrappedTwice(t *testing.T) {
	outer, err := NewOriginPolicy([]string{"https://game.example.com"})
	require.NoError(t, err)
	var inner, outerC CORSCounters
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { WriteNoContent(w) }), Config{CORS: &inner})
	hs := httptest.NewServer(Wrap(h, Config{Origins: outer, CORS: &outerC}))
	defer hs.Close()
	req, err := http.NewRequest(http.MethodGet, hs.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://game.example.com")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{"https://game.example.com"}, resp.Header.Values("Access-Control-Allow-Origin"))
	assert.Equal(t, []string{"Origin"}, resp.Header.Values("Vary"))
	assert.Equal(t, CORSStats{}, inner.Stats())
}
