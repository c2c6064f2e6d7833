package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readmeHeading is the README section whose ```html block
// TestBrowserREADMEExample runs.
const readmeHeading = "## From a web page in ten lines"

// readmeAPI is the API origin the README's snippet names; the test puts
// the test server's in its place.
const readmeAPI = "http://localhost:7780"

// readmeHTML returns the first ```html block of the README section under
// heading.
func readmeHTML(t testing.TB, heading string) string {
	t.Helper()
	md, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(md), "\n"+heading+"\n")
	require.True(t, ok, "README.md has no heading %q", heading)
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	_, block, ok := strings.Cut(section, "```html\n")
	require.True(t, ok, "no ```html block under %q", heading)
	block, _, ok = strings.Cut(block, "\n```")
	require.True(t, ok, "the ```html block under %q is not closed", heading)
	return block
}

// TestBrowserREADMEExample runs the README's "From a web page in ten
// lines" exactly as written (the API's origin apart) from a page of
// another origin, as a reader would from their own web server: the SDK is
// imported from the tickwire server, which must answer that origin's
// cross-origin requests (CORS) for the module, the token and the
// transports. The page must print its own input coming back in a tick and
// the transport line, with no error on the way.
func TestBrowserREADMEExample(t *testing.T) {
	snippet := readmeHTML(t, readmeHeading)
	require.Contains(t, snippet, readmeAPI, "the snippet names the API origin")
	require.Contains(t, snippet, `id="log"`)

	srv := demoServer(t)
	html := strings.ReplaceAll(snippet, readmeAPI, srv.HTTPURL())
	// The reader's own web server: another origin (same host, other port).
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html>\n<meta charset=\"utf-8\">\n<title>ten lines</title>\n" + html + "\n"))
	}))
	t.Cleanup(site.Close)
	require.True(t, strings.HasPrefix(site.URL, "http://127.0.0.1:"), site.URL)
	require.NotEqual(t, site.URL, srv.HTTPURL())

	b := startBrowser(t)
	tb := b.newTab(t, "reader")
	tb.ignoreProblems(faviconNotFound) // the reader's page declares no icon
	tb.navigate(t, site.URL+"/")
	logText := `(document.getElementById("log")?.textContent ?? "")`
	tb.waitJS(t, `/over (webrtc|websocket|longpoll), rtt \d+\.\d\d ms/.test(`+logText+`)`, demoStep)
	tb.waitJS(t, `/member \d+: hello/.test(`+logText+`)`, demoStep)
	var out string
	tb.eval(t, logText, &out)
	t.Logf("the page printed:\n%s", out)
	me := regexp.MustCompile(`member (\d+) of room \d+ over`).FindStringSubmatch(out)
	require.NotNil(t, me, out)
	require.Contains(t, out, "member "+me[1]+": hello", "its own input came back in a tick")
	tb.requireNoProblems(t)
}
