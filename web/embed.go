package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// dist holds the build output of `make web`. A path missing here fails
// the Go build, which is what keeps the embedded page in step with the
// routes below.
//
//go:embed dist/tickwire.js dist/tickwire.js.map dist/demo
var dist embed.FS

// The route patterns Routes answers, for server.Config.Routes.
const (
	// PatternIndex is the demo page at the site's root (and only there).
	PatternIndex = "GET /{$}"
	// PatternFiles is the SDK and the demo's scripts and styles, one
	// path segment under /web/. It takes every method so that a wrong
	// one is answered 405 rather than falling through to the API.
	PatternFiles = "/web/"
)

// Paths of the embedded files.
const (
	sdkDir    = "dist"
	demoDir   = "dist/demo"
	indexFile = "index.html"
)

// contentSecurityPolicy is the page's CSP: everything from its own origin,
// WebSocket connections anywhere (the SDK derives ws:// from the page's
// origin, a deployment may put the API elsewhere), images also as data:
// URLs, and no framing, <base> or form posts at all.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// cacheControl makes a browser revalidate every time: the URLs carry no
// content hash, so a long max-age would keep an old SDK after an upgrade;
// the ETag turns the revalidation into a 304 without a body.
const cacheControl = "no-cache"

// contentTypes maps a file extension to its Content-Type. A fixed table,
// not mime.TypeByExtension, whose answer depends on the host's
// /etc/mime.types.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".map":   "application/json",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

// asset is one embedded file, ready to serve.
type asset struct {
	name  string // base name, for http.ServeContent
	body  []byte
	ctype string
	etag  string // strong validator: a hash of body, quoted
	page  bool   // an HTML document: gets the CSP and X-Frame-Options
}

// site is what Routes serves: immutable once built.
type site struct {
	index *asset
	files map[string]*asset // by base name under /web/
}

// Routes returns the handlers of the SDK and the demo page by route
// pattern (PatternIndex, PatternFiles), ready for server.Config.Routes:
//
//	cfg.Routes, err = web.Routes()
//
// They answer behind the server's middleware (httpapi.Wrap), whose
// headers they replace where a file needs others. An error means the
// embedded build is incomplete (no demo page).
func Routes() (map[string]http.Handler, error) {
	s, err := load(dist)
	if err != nil {
		return nil, err
	}
	return map[string]http.Handler{
		PatternIndex: http.HandlerFunc(s.serveIndex),
		PatternFiles: http.HandlerFunc(s.serveFile),
	}, nil
}

// load reads the build output: the SDK files from dist/ and every regular
// file of dist/demo (the page apart) under /web/<name>. A demo file that
// bears an SDK file's name is refused: the SDK's URL must stay its own.
func load(fsys fs.FS) (*site, error) {
	s := &site{files: map[string]*asset{}}
	for _, name := range []string{"tickwire.js", "tickwire.js.map"} {
		a, err := readAsset(fsys, path.Join(sdkDir, name))
		if err != nil {
			return nil, err
		}
		s.files[name] = a
	}
	entries, err := fs.ReadDir(fsys, demoDir)
	if err != nil {
		return nil, fmt.Errorf("web: embedded demo: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		a, err := readAsset(fsys, path.Join(demoDir, e.Name()))
		if err != nil {
			return nil, err
		}
		switch {
		case e.Name() == indexFile:
			s.index = a
		case s.files[e.Name()] != nil:
			return nil, fmt.Errorf("web: demo file %s would shadow the SDK's /web/%s", e.Name(), e.Name())
		default:
			s.files[e.Name()] = a
		}
	}
	if s.index == nil {
		return nil, fmt.Errorf("web: embedded demo has no %s", indexFile)
	}
	return s, nil
}

func readAsset(fsys fs.FS, name string) (*asset, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("web: embedded file: %w", err)
	}
	ext := path.Ext(name)
	ctype, ok := contentTypes[ext]
	if !ok {
		ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(b)
	return &asset{
		name:  path.Base(name),
		body:  b,
		ctype: ctype,
		etag:  `"` + hex.EncodeToString(sum[:16]) + `"`,
		page:  ext == ".html",
	}, nil
}

// serveIndex answers GET / (and HEAD) with the demo page.
func (s *site) serveIndex(w http.ResponseWriter, r *http.Request) {
	serve(w, r, s.index)
}

// serveFile answers /web/<file>: GET and HEAD of a known file; 404 for
// any other path under /web/, 405 for another method on a known file.
func (s *site) serveFile(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/web/")
	a := s.files[name]
	if !ok || a == nil {
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeNotFound, "no such file under /web/"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpapi.WriteErrorStatus(w, r, http.StatusMethodNotAllowed,
			netcode.Errorf(netcode.CodeBadRequest, "method %s not allowed: GET or HEAD", r.Method))
		return
	}
	serve(w, r, a)
}

// serve writes a with its headers. http.ServeContent answers
// If-None-Match (304), If-Match, Range and HEAD against the ETag set here.
func serve(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	if a.page {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
	}
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}
