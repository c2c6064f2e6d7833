package console

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp
}

// TestFiles serves the page and its two files with their types, the CSP
// and an ETag that turns a revalidation into a 304; any other name is 404.
func TestFiles(t *testing.T) {
	routes, err := Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for path, ctype := range map[string]string{
		"/console":             "text/html; charset=utf-8",
		"/console/console.js":  "text/javascript; charset=utf-8",
		"/console/console.css": "text/css; charset=utf-8",
	} {
		resp := get(t, srv.URL+path, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, ctype, resp.Header.Get("Content-Type"), path)
		assert.Equal(t, contentSecurityPolicy, resp.Header.Get("Content-Security-Policy"), path)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
		etag := resp.Header.Get("ETag")
		require.NotEmpty(t, etag, path)
		resp = get(t, srv.URL+path, map[string]string{"If-None-Match": etag})
		assert.Equal(t, http.StatusNotModified, resp.StatusCode, path)
	}
	for _, path := range []string{"/console/index.html", "/console/nope.js", "/console/"} {
		assert.Equal(t, http.StatusNotFound, get(t, srv.URL+path, nil).StatusCode, path)
	}
}
