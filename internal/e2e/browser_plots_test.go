package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/bench"
)

// The benchmark report's plots are opened by people: docs/bench/*.svg
// linked from the README and shown by a code host or a browser, and the
// HTML report. These tests load them in headless Chromium as those would.

// repoRoot is the repository, from this package's directory.
const repoRoot = "../.."

// plotReports is a small synthetic result set with every kind of plot the
// report writer draws: echo CDFs at two impairment settings, a room CDF,
// and per-transport percentiles across the settings.
func plotReports(t testing.TB) []*bench.Report {
	t.Helper()
	row := func(name string, loss float64, scale int) bench.Result {
		h := bench.NewHistogram()
		for us := 1; us <= 2000; us++ {
			h.Record(time.Duration(us*scale) * time.Microsecond)
		}
		p := h.Summary()
		imp := bench.Impairment{LossPct: loss}
		return bench.Result{
			Name: name, Impairment: imp.Label(), LossPct: loss, Sent: 2000, Received: 2000, DeliveredPct: 100,
			P50Us: p.P50, P90Us: p.P90, P99Us: p.P99, P999Us: p.P999, MaxUs: p.Max, MeanUs: p.Mean,
			WireBytesPerMsg: float64(128 * scale), CDF: h.CDF(),
		}
	}
	var reps []*bench.Report
	for _, loss := range []float64{0, 5} {
		rep := &bench.Report{Scenario: "echo", Config: map[string]any{"loss_pct": loss}, Date: "2026-12-03T10:00:00Z"}
		for i, name := range []string{bench.TransportUDPRaw, bench.TransportKCPBare, bench.TransportKCP} {
			rep.Results = append(rep.Results, row(name, loss, i+1))
		}
		reps = append(reps, rep)
	}
	room := &bench.Report{Scenario: "room", Config: map[string]any{"rooms": 50, "clients": 8, "tick_hz": 30}}
	r := row(bench.TransportKCP, 0, 17)
	r.Note = "a long note that must wrap inside its cell rather than widen the table: " +
		strings.Repeat("words and more words, ", 30) + strings.Repeat("/an/unbroken/path", 30)
	room.Results = append(room.Results, r)
	return append(reps, room)
}

// plotServer serves files on 127.0.0.1: /w/NAME from dir (the files
// written by the test), /repo/PATH from the repository, each with the
// Content-Type a code host or web server gives it, and /img?src=URL, a
// page that embeds URL as an <img>.
func plotServer(t testing.TB, dir string) *httptest.Server {
	t.Helper()
	serve := func(root string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p := filepath.Join(root, filepath.FromSlash(path.Clean("/"+r.PathValue("path"))))
			b, err := os.ReadFile(p)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			switch filepath.Ext(p) {
			case ".svg":
				w.Header().Set("Content-Type", "image/svg+xml")
			case ".html":
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
			default:
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(b)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /w/{path...}", serve(dir))
	mux.HandleFunc("GET /repo/{path...}", serve(repoRoot))
	mux.HandleFunc("GET /img", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html>\n<meta charset=\"utf-8\">\n<link rel=\"icon\" href=\"data:,\">\n<title>img</title>\n<img id=\"plot\" src=\"%s\" alt=\"plot\">\n",
			strings.ReplaceAll(r.URL.Query().Get("src"), `"`, "&quot;"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	return srv
}

// svgRendering is what Chromium made of an SVG file.
type svgRendering struct {
	// Opened directly: the document's type, whether its root is an
	// SVGSVGElement, and that root's bounding box.
	ContentType string  `json:"contentType"`
	IsSVG       bool    `json:"isSVG"`
	BBoxW       float64 `json:"bboxW"`
	BBoxH       float64 `json:"bboxH"`
	// Embedded as <img>: whether it decoded, and its natural size.
	Decoded   bool    `json:"decoded"`
	DecodeErr string  `json:"decodeErr"`
	NaturalW  float64 `json:"naturalW"`
	NaturalH  float64 `json:"naturalH"`
}

// asDocument reports whether the file rendered as an SVG image when
// opened directly.
func (r svgRendering) asDocument() bool { return r.IsSVG && r.BBoxW > 0 && r.BBoxH > 0 }

// asImage reports whether the file rendered as an <img>.
func (r svgRendering) asImage() bool { return r.Decoded && r.NaturalW > 0 && r.NaturalH > 0 }

// renderSVG opens u in tb directly, then embedded in a page as an <img>
// (the way a README shows it), and reports what the browser made of it.
// Both waits are on the browser's own events: the navigation's load
// event, and the image's decode() promise, which settles once the image
// is decoded or known broken.
func renderSVG(t testing.TB, tb *tab, base, u string) svgRendering {
	t.Helper()
	var r svgRendering
	tb.navigate(t, u)
	tb.eval(t, `(() => {
		const el = document.documentElement;
		const isSVG = el instanceof SVGSVGElement;
		const b = isSVG ? el.getBBox() : {width: 0, height: 0};
		return {contentType: document.contentType, isSVG, bboxW: b.width, bboxH: b.height};
	})()`, &r)
	tb.navigate(t, base+"/img?src="+url.QueryEscape(u))
	tb.eval(t, `(async () => {
		const img = document.getElementById("plot");
		try { await img.decode(); } catch (e) {
			return {decoded: false, decodeErr: String(e), naturalW: img.naturalWidth, naturalH: img.naturalHeight};
		}
		return {decoded: true, naturalW: img.naturalWidth, naturalH: img.naturalHeight};
	})()`, &r)
	return r
}

// requireRendered fails the test unless the SVG at u renders as an image
// both ways.
func requireRendered(t *testing.T, tb *tab, base, u string) {
	t.Helper()
	r := renderSVG(t, tb, base, u)
	assert.Equal(t, "image/svg+xml", r.ContentType, u)
	assert.True(t, r.asDocument(), "%s opened directly: the root is not an SVG element with a box (%+v)", u, r)
	assert.True(t, r.asImage(), "%s as <img>: not decoded (%+v)", u, r)
}

// svgNamespaceAttrs matches the namespace declarations of an SVG file.
var svgNamespaceAttrs = regexp.MustCompile(`\s+xmlns(:\w+)?="[^"]*"`)

// TestBrowserPlots renders in Chromium every SVG file the report writer
// produces, the committed ones under docs/bench with the README's images
// among them, and the HTML report.
func TestBrowserPlots(t *testing.T) {
	dir := t.TempDir()
	reports := plotReports(t)
	written, err := bench.WritePlots(dir, reports)
	require.NoError(t, err)
	require.Len(t, written, 6, "3 CDFs (echo ×2, room) and 3 percentile plots")
	require.NoError(t, bench.WriteHTMLFile(filepath.Join(dir, "report.html"), "plots <test>", reports))
	srv := plotServer(t, dir)
	b := startBrowser(t)

	t.Run("written", func(t *testing.T) {
		tb := b.newTab(t, "written")
		tb.ignoreProblems(faviconNotFound) // an SVG document declares no icon
		for _, p := range written {
			requireRendered(t, tb, srv.URL, srv.URL+"/w/"+filepath.Base(p))
		}
		tb.requireNoProblems(t)
	})

	// The checks above tell a broken file from a good one: the same plot
	// without its namespace (as docs/bench held it) fails both.
	t.Run("without namespace", func(t *testing.T) {
		src, err := os.ReadFile(written[0])
		require.NoError(t, err)
		bare := svgNamespaceAttrs.ReplaceAll(src, nil)
		require.NotEqual(t, src, bare)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "bare.svg"), bare, 0o644))
		tb := b.newTab(t, "bare")
		tb.ignoreProblems(faviconNotFound)
		r := renderSVG(t, tb, srv.URL, srv.URL+"/w/bare.svg")
		assert.False(t, r.IsSVG, "shown as an XML tree, not an SVG image: %+v", r)
		assert.False(t, r.asDocument(), "%+v", r)
		assert.False(t, r.asImage(), "a broken image: %+v", r)
	})

	t.Run("committed", func(t *testing.T) {
		committed, err := filepath.Glob(filepath.Join(repoRoot, "docs", "bench", "*.svg"))
		require.NoError(t, err)
		require.NotEmpty(t, committed)
		md, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
		require.NoError(t, err)
		images := regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+\.svg)\)`).FindAllStringSubmatch(string(md), -1)
		require.NotEmpty(t, images, "the README shows a plot")
		var paths []string
		for _, c := range committed {
			rel, err := filepath.Rel(repoRoot, c)
			require.NoError(t, err)
			paths = append(paths, filepath.ToSlash(rel))
		}
		for _, m := range images {
			_, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(m[1])))
			require.NoError(t, err, "the README's image %s exists", m[1])
			paths = append(paths, m[1])
		}
		tb := b.newTab(t, "committed")
		tb.ignoreProblems(faviconNotFound)
		for _, p := range paths {
			requireRendered(t, tb, srv.URL, srv.URL+"/repo/"+p)
		}
		reportLayout(t, tb, srv.URL+"/repo/docs/bench/report.html")
		tb.requireNoProblems(t)
		if d := os.Getenv(artifactsEnv); d != "" { // pictures of the committed report
			top := filepath.Join(artifactDir(t), "report-top.png")
			require.NoError(t, tb.screenshot(top))
			tb.eval(t, `document.getElementById("targets").scrollIntoView()`, nil)
			targets := filepath.Join(artifactDir(t), "report-targets.png")
			require.NoError(t, tb.screenshot(targets))
			t.Logf("docs/bench/report.html: %s, %s", top, targets)
		}
	})

	// The report leads with its plots, then one met/missed line per
	// target, then the tables; a long note wraps inside a bounded cell.
	t.Run("report", func(t *testing.T) {
		tb := b.newTab(t, "report")
		tb.ignoreProblems(faviconNotFound) // the report declares no icon: it loads nothing
		got := reportLayout(t, tb, srv.URL+"/w/report.html")
		assert.Len(t, got.Plots, len(written), "the report shows each plot")
		want := bench.CheckGoals(reports)
		require.Len(t, got.Goals, len(want))
		for i, g := range want {
			status := g.Status.String()
			assert.Equal(t, strings.ReplaceAll(status, " ", "-")+"|"+status+" "+strings.TrimPrefix(g.String(), status+": "), got.Goals[i])
		}
		assert.Contains(t, got.Goals, "met|met room 50 × 8 at 30 Hz, kcp: input-to-broadcast p99 ≤ tick + 5 ms (#5, #11) — p99 33.69ms (limit 38.33ms), p50 17.01ms")
		assert.Contains(t, got.Goals, "missed|missed echo: kcp p50 ≤ 1.25× kcp-bare p50 (#5) — 3.00ms vs 2.00ms (1.50×)")
		require.Positive(t, got.NoteMaxW)
		assert.LessOrEqual(t, got.NoteW, got.NoteMaxW+0.5, "the note's block keeps its width")
		assert.Greater(t, got.NoteH, 4*got.LineH, "the long note wraps onto several lines")
		assert.Less(t, got.TableW, got.NoteLineW/2, "the table is far narrower than the note on one line")
		tb.requireNoProblems(t)
	})
}

// layout is where the parts of an HTML report sit in the browser.
type layout struct {
	PlotTop, GoalsTop, TableTop float64
	Plots                       []bool   // per inline plot: it has a box
	Goals                       []string // per target line: "class|text"
	// The longest note: its block's width, height and max-width, a line's
	// height, its width on one line, and its table's width.
	NoteW, NoteH, NoteMaxW float64
	LineH                  float64
	NoteLineW, TableW      float64
}

// reportLayout loads the report at u in tb and checks what every report
// must be: its plots render and come first, then one status line per
// target, then the tables.
func reportLayout(t *testing.T, tb *tab, u string) layout {
	t.Helper()
	tb.navigate(t, u)
	var got layout
	tb.eval(t, `(() => {
		const top = (el) => el.getBoundingClientRect().top + window.scrollY;
		const plots = [...document.querySelectorAll("figure > svg")];
		const goals = document.querySelector("ul.goals");
		const notes = [...document.querySelectorAll("td.note > div")];
		const note = notes.reduce((a, b) => (b.textContent.length > a.textContent.length ? b : a));
		const cs = getComputedStyle(note);
		const lineWidth = (text) => { // the text's width on one line
			const s = document.createElement("span");
			s.style.whiteSpace = "nowrap";
			s.style.font = cs.font;
			s.textContent = text;
			document.body.append(s);
			const w = s.getBoundingClientRect().width;
			s.remove();
			return w;
		};
		return {
			PlotTop: top(plots[0]), GoalsTop: top(goals), TableTop: top(document.querySelector("table")),
			Plots: plots.map((s) => { const b = s.getBBox(); return b.width > 0 && b.height > 0; }),
			Goals: [...goals.querySelectorAll("li")].map((li) => li.className + "|" + li.textContent),
			NoteW: note.getBoundingClientRect().width, NoteH: note.getBoundingClientRect().height,
			NoteMaxW: parseFloat(cs.maxWidth), LineH: parseFloat(cs.fontSize) * 1.5,
			NoteLineW: lineWidth(note.textContent), TableW: note.closest("table").getBoundingClientRect().width,
		};
	})()`, &got)
	assert.Less(t, got.PlotTop, got.GoalsTop, "%s: the plots come first", u)
	assert.Less(t, got.GoalsTop, got.TableTop, "%s: the targets come before the tables", u)
	require.NotEmpty(t, got.Plots, u)
	for i, ok := range got.Plots {
		assert.True(t, ok, "%s: inline plot %d has no box", u, i)
	}
	require.NotEmpty(t, got.Goals, u)
	for _, g := range got.Goals {
		assert.Regexp(t, `^(met\|met|missed\|missed|not-measured\|not measured) \S`, g, u)
	}
	return got
}
