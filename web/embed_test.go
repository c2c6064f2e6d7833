package web_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/httpapi"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
	"github.com/tickwire/tickwire/web"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; " +
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// TestMain checks that no test leaves a goroutine behind.
func TestMain(m *testing.M) { conntest.VerifyTestMain(m) }

// startDemo starts a whole server on loopback with the web routes mounted,
// as cmd/tickwire does.
func startDemo(t *testing.T) string {
	t.Helper()
	return servertest.Start(t, server.Config{Routes: servertest.Demo(t)}).HTTPURL()
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, hdr map[string]string) answer {
	t.Helper()
	resp, b := servertest.Request(t, method, url, hdr, "")
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func TestServesTheDemoPage(t *testing.T) {
	base := startDemo(t)
	want, err := os.ReadFile(filepath.Join("dist", "demo", "index.html"))
	require.NoError(t, err)

	a := do(t, "GET", base+"/", nil)
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, string(want), a.body)
	assert.Equal(t, "text/html; charset=utf-8", a.header.Get("Content-Type"))
	assert.Equal(t, wantCSP, a.header.Get("Content-Security-Policy"))
	assert.Equal(t, "DENY", a.header.Get("X-Frame-Options"))
	assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-cache", a.header.Get("Cache-Control"), "revalidated every time, cheaply (ETag)")
	assert.Regexp(t, `^"[0-9a-f]{32}"$`, a.header.Get("ETag"))
	assert.Contains(t, a.body, "/web/demo.js", "the page loads its script from the embedded route")

	a = do(t, "HEAD", base+"/", nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Empty(t, a.body)

	a = do(t, "GET", base+"/healthz", nil)
	assert.Equal(t, http.StatusOK, a.status, "the API keeps its paths")
	assert.JSONEq(t, `{"status":"ok"}`, a.body)
}

func TestServesTheSDKAndDemoFiles(t *testing.T) {
	base := startDemo(t)
	files := map[string]struct{ path, ctype string }{
		"tickwire.js":     {"dist/tickwire.js", "text/javascript; charset=utf-8"},
		"tickwire.js.map": {"dist/tickwire.js.map", "application/json"},
		"demo.js":         {"dist/demo/demo.js", "text/javascript; charset=utf-8"},
		"demo.css":        {"dist/demo/demo.css", "text/css; charset=utf-8"},
	}
	// Every other file the demo build emits is served too.
	entries, err := os.ReadDir(filepath.Join("dist", "demo"))
	require.NoError(t, err)
	for _, e := range entries {
		if _, listed := files[e.Name()]; !listed && e.Type().IsRegular() && e.Name() != "index.html" && !strings.HasPrefix(e.Name(), ".") {
			files[e.Name()] = struct{ path, ctype string }{filepath.Join("dist", "demo", e.Name()), ""}
		}
	}
	etags := map[string]string{}
	for name, f := range files {
		want, err := os.ReadFile(filepath.FromSlash(f.path))
		require.NoError(t, err, name)
		a := do(t, "GET", base+"/web/"+name, nil)
		require.Equal(t, http.StatusOK, a.status, name)
		assert.Equal(t, string(want), a.body, name)
		if f.ctype != "" {
			assert.Equal(t, f.ctype, a.header.Get("Content-Type"), name)
		}
		assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"), name)
		assert.Equal(t, "no-cache", a.header.Get("Cache-Control"), name)
		etag := a.header.Get("ETag")
		require.Regexp(t, `^"[0-9a-f]{32}"$`, etag, name)
		if other, dup := etags[etag]; dup {
			assert.Equal(t, string(want), do(t, "GET", base+"/web/"+other, nil).body, "%s and %s share an ETag: same bytes", name, other)
		}
		etags[etag] = name
	}
}

func TestETagRevalidation(t *testing.T) {
	base := startDemo(t)
	for _, path := range []string{"/", "/web/tickwire.js", "/web/demo.css"} {
		first := do(t, "GET", base+path, nil)
		require.Equal(t, http.StatusOK, first.status, path)
		etag := first.header.Get("ETag")
		require.NotEmpty(t, etag, path)

		for name, inm := range map[string]string{
			"exact":     etag,
			"weak":      "W/" + etag,
			"in a list": `"0123", ` + etag,
			"any":       "*",
		} {
			a := do(t, "GET", base+path, map[string]string{"If-None-Match": inm})
			assert.Equal(t, http.StatusNotModified, a.status, "%s %s", path, name)
			assert.Empty(t, a.body, "%s %s", path, name)
			assert.Equal(t, etag, a.header.Get("ETag"), "%s %s", path, name)
		}
		a := do(t, "GET", base+path, map[string]string{"If-None-Match": `"stale"`})
		assert.Equal(t, http.StatusOK, a.status, path)
		assert.Equal(t, first.body, a.body, path)
	}
}

func TestUnknownFilesAre404(t *testing.T) {
	base := startDemo(t)
	for _, path := range []string{"/web/", "/web/nope.js", "/web/index.html", "/web/types/index.d.ts", "/web/demo/demo.js", "/web/TICKWIRE.JS"} {
		a := do(t, "GET", base+path, nil)
		require.Equal(t, http.StatusNotFound, a.status, path)
		assert.Equal(t, "application/json", a.header.Get("Content-Type"), path)
		var e httpapi.ErrorResponse
		require.NoError(t, json.Unmarshal([]byte(a.body), &e), path)
		assert.Equal(t, "not_found", e.Error, path)
		assert.Equal(t, uint16(netcode.CodeNotFound), e.Code, path)
		assert.Empty(t, a.header.Get("ETag"), path)
	}

	a := do(t, "POST", base+"/web/tickwire.js", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
	assert.Equal(t, "GET, HEAD", a.header.Get("Allow"))
	a = do(t, "GET", base+"/index.html", nil)
	assert.Equal(t, http.StatusNotFound, a.status, "the page is at / only")
}

func TestRoutesAreTheDocumentedPatterns(t *testing.T) {
	routes, err := web.Routes()
	require.NoError(t, err)
	assert.Len(t, routes, 2)
	assert.Contains(t, routes, web.PatternIndex)
	assert.Contains(t, routes, web.PatternFiles)
}
