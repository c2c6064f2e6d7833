// Package console is the admin console: one static page (HTML, a script
// and a style sheet, embedded) that the admin listener serves at
// /console. The page itself holds no data and is served without the
// admin token (a browser cannot send a bearer header when it navigates);
// it asks the operator for the token and sends it on its own fetches to
// /v1/admin/* and /v1/stats, which stay behind the token
// (docs/OPERATIONS.md, "Console").
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// The route patterns of Handler.
const (
	// PatternPage is the page.
	PatternPage = "GET /console"
	// PatternFiles is the page's script and style sheet.
	PatternFiles = "GET /console/{file}"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy is the page's CSP: scripts, styles and fetches
// from its own origin only, no inline script or style, no framing,
// <base> or form posts.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// asset is one embedded file, ready to serve.
type asset struct {
	name  string
	body  []byte
	ctype string
	etag  string
}

// Handler returns the console's handlers by route pattern (PatternPage,
// PatternFiles). They check no token: the files hold no data.
func Handler() (map[string]http.Handler, error) {
	files := map[string]*asset{}
	entries, err := fs.ReadDir(static, "static")
	if err != nil {
		return nil, fmt.Errorf("console: embedded files: %w", err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(static, path.Join("static", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("console: embedded file: %w", err)
		}
		ctype, ok := contentTypes[path.Ext(e.Name())]
		if !ok {
			return nil, fmt.Errorf("console: embedded file %s: unknown type", e.Name())
		}
		sum := sha256.Sum256(b)
		files[e.Name()] = &asset{name: e.Name(), body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	}
	page := files["index.html"]
	if page == nil {
		return nil, fmt.Errorf("console: no embedded index.html")
	}
	return map[string]http.Handler{
		PatternPage: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, page) }),
		PatternFiles: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := files[r.PathValue("file")]
			if a == nil || a == page {
				http.NotFound(w, r)
				return
			}
			serve(w, r, a)
		}),
	}, nil
}

// serve writes a with its validators and, on every file, the page's
// security headers.
func serve(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}
