package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// fakeReport builds a report from known samples (no network).
func fakeReport(scenario string, losses ...float64) []*Report {
	var reps []*Report
	for _, loss := range losses {
		rep := newReport(scenario, map[string]any{"loss_pct": loss})
		for i, name := range []string{TransportUDPRaw, TransportKCP} {
			h := NewHistogram()
			for us := 1; us <= 1000; us++ {
				h.Record(time.Duration(us*(i+1)) * time.Microsecond)
			}
			r := newResult(name, name, Impairment{LossPct: loss})
			r.Sent, r.Received, r.DurationS, r.WireBytes = 1000, 1000, 1, 128000
			r.fill(h)
			rep.Results = append(rep.Results, r)
		}
		computeRatios(rep.Results)
		reps = append(reps, rep)
	}
	return reps
}

func TestReportJSONShape(t *testing.T) {
	rep := fakeReport("echo", 0)[0]
	var buf bytes.Buffer
	require.NoError(t, rep.WriteJSON(&buf))
	var got struct {
		Scenario string         `json:"scenario"`
		Config   map[string]any `json:"config"`
		Results  []map[string]any
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.Equal(t, "echo", got.Scenario)
	assert.NotNil(t, got.Config)
	require.Len(t, got.Results, 2)
	for _, r := range got.Results {
		for _, k := range []string{"name", "crosses", "sent", "received", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"} {
			assert.Contains(t, r, k)
		}
	}
	assert.InEpsilon(t, 2.0, got.Results[1]["p50_vs_udp_raw"], 0.01)
	assert.Equal(t, "UDP (KCP)", got.Results[1]["crosses"])
	assert.InEpsilon(t, 128.0, got.Results[0]["wire_bytes_per_msg"], 1e-9)
}

func TestTable(t *testing.T) {
	rep := fakeReport("echo", 5)[0]
	rep.Notes = []string{"a note"}
	var buf bytes.Buffer
	require.NoError(t, rep.WriteTable(&buf))
	out := buf.String()
	for _, s := range []string{"udp-raw", "kcp", "crosses", "UDP (KCP)", "loss 5%", "p99.9", "2.00x", "a note", "B/msg"} {
		assert.Contains(t, out, s)
	}
}

var urlRe = regexp.MustCompile(`(?i)(https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,}|\bsrc=|\bhref=|@import|url\()`)

func TestHTMLSelfContained(t *testing.T) {
	reps := append(fakeReport("echo", 0, 5, 15), fakeReport("room", 0)...)
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, "tickbench <test>", reps))
	page := buf.String()
	assert.Contains(t, page, "<svg")
	assert.Contains(t, page, "tickbench &lt;test&gt;", "the title is escaped")
	assert.Empty(t, urlRe.FindAllString(page, -1), "the page must load nothing")
	m := ThisMachine()
	assert.Contains(t, page, m.GoVersion)
	assert.Contains(t, page, template.HTMLEscapeString(m.CPU), "the CPU model")
	assert.Contains(t, page, fmt.Sprintf("%d cores", m.Cores))
	assert.Contains(t, page, "Date: "+reps[0].Date)
	assert.Contains(t, page, `&#34;loss_pct&#34;: 15`, "each run's config")
	assert.Contains(t, page, "<th>crosses</th>")
	assert.Contains(t, page, `<td class="l">UDP (KCP)</td>`, "each row says what it crosses")
	// Per impairment setting and per transport plots are titled so.
	for _, title := range []string{"loss 5%", "loss 15%", TransportKCP, TransportUDPRaw} {
		assert.Contains(t, page, title)
	}
	// 3 echo settings + 1 room setting CDFs, plus 2 per-transport plots.
	assert.Equal(t, 6, strings.Count(page, "<svg"))

	// The page parses as HTML...
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	var svgs, tables int
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "svg":
				svgs++
			case "table":
				tables++
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	assert.Equal(t, 6, svgs)
	assert.Equal(t, 4, tables)

	// ...and every embedded SVG is well-formed XML.
	for _, m := range regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1) {
		d := xml.NewDecoder(strings.NewReader(m))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
		}
	}
}

func TestHTMLNoReports(t *testing.T) {
	require.ErrorIs(t, WriteHTML(io.Discard, "x", nil), ErrConfig)
}

func TestRender(t *testing.T) {
	s := render("echo kcp", 50, 100, 1500*time.Millisecond)
	assert.Contains(t, s, "50%")
	assert.Contains(t, s, "50/100")
	assert.Contains(t, s, strings.Repeat("=", 15))
	assert.Contains(t, render("x", 200, 100, 0), "100%")
	var nilBar *Progress
	nilBar.Add(1) // a nil bar is a no-op
	nilBar.Stop()
}

func TestProgressDraws(t *testing.T) {
	var buf syncBuffer
	p := StartProgress(&buf, "lbl", 10)
	p.Add(10)
	p.Stop()
	p.Stop() // idempotent
	assert.Contains(t, buf.String(), "10/10")
}

func TestParseTransports(t *testing.T) {
	ts, err := ParseTransports("kcp, tcp,udp-raw")
	require.NoError(t, err)
	assert.Equal(t, []string{"kcp", "tcp", "udp-raw"}, ts)
	_, err = ParseTransports("kcp,quic")
	require.ErrorIs(t, err, ErrUnknownTransport)
	_, err = ParseTransports("")
	require.ErrorIs(t, err, ErrUnknownTransport)
}

func TestEchoConfigValidation(t *testing.T) {
	for name, c := range map[string]EchoConfig{
		"negative count": {Count: -1},
		"tiny size":      {Size: 2},
		"loss 100":       {Impairment: Impairment{LossPct: 100}},
		"negative delay": {Impairment: Impairment{Delay: -time.Millisecond}},
	} {
		_, err := c.populate()
		assert.ErrorIs(t, err, ErrConfig, name)
	}
	c, err := EchoConfig{}.populate()
	require.NoError(t, err)
	assert.Equal(t, 2000, c.Count)
	assert.Equal(t, time.Millisecond, c.Interval)
	assert.Equal(t, 64, c.Size)
	c, err = EchoConfig{BackToBack: true}.populate()
	require.NoError(t, err)
	assert.Zero(t, c.Interval)
}

const svgNS = "http://www.w3.org/2000/svg"

// Each plot of the report is also written as a standalone SVG document
// whose root is in the SVG namespace (without it a browser shows the file
// as XML text, and an <img> of it is broken).
func TestWritePlots(t *testing.T) {
	reps := append(fakeReport("echo", 0, 5), fakeReport("room", 0)...)
	dir := t.TempDir()
	paths, err := WritePlots(dir, reps)
	require.NoError(t, err)
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	assert.Equal(t, []string{
		"echo-cdf-none.svg", "echo-cdf-loss5.svg", "room-cdf-none.svg",
		"udp-raw-percentiles.svg", "kcp-percentiles.svg",
	}, names)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		d := xml.NewDecoder(bytes.NewReader(b))
		var root *xml.StartElement
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, p)
			if se, ok := tok.(xml.StartElement); ok && root == nil {
				root = &se
			}
		}
		require.NotNil(t, root, p)
		assert.Equal(t, xml.Name{Space: svgNS, Local: "svg"}, root.Name, "%s: the root is an SVG element", p)
	}
}

func TestFileSlug(t *testing.T) {
	for in, want := range map[string]string{
		"none": "none", "loss 5%": "loss5", "loss 1.5%": "loss1.5", "burst loss 5% x3": "burstloss5x3",
		"loss 5% delay 1ms": "loss5delay1ms", "webrtc-unreliable": "webrtc-unreliable",
	} {
		assert.Equal(t, want, fileSlug(in), in)
	}
}

// echoRun is an echo run at loss with one row per transport, each with
// the given p50, p99 (µs) and wire bytes per message.
func echoRun(loss float64, rows map[string][3]float64) *Report {
	rep := &Report{Scenario: "echo", Config: map[string]any{"loss_pct": loss}}
	for name, v := range rows {
		r := newResult(name, name, Impairment{LossPct: loss})
		r.Sent, r.Received = 100, 100
		r.P50Us, r.P99Us, r.WireBytesPerMsg = v[0], v[1], v[2]
		rep.Results = append(rep.Results, r)
	}
	return rep
}

func TestCheckGoals(t *testing.T) {
	runs := []*Report{
		echoRun(0, map[string][3]float64{
			TransportUDPRaw: {10, 20, 100}, TransportKCPBare: {40, 80, 200}, TransportKCP: {50, 90, 250},
			TransportKCPUnreliable: {20, 40, 150}, TransportTCP: {30, 60, 150}, TransportWS: {50, 90, 150},
		}),
		echoRun(5, map[string][3]float64{TransportKCPBare: {300, 30000, 220}, TransportKCP: {120, 1900, 400}}),
		echoRun(15, map[string][3]float64{TransportKCPBare: {300, 60000, 260}, TransportKCP: {120, 9000, 1000}}),
	}
	// A room run as read back from JSON: its config is a map.
	var room Report
	require.NoError(t, json.Unmarshal([]byte(`{"scenario":"room","config":{"rooms":50,"clients":8,"tick_hz":30},
		"results":[{"name":"kcp","impairment":"none","received":1000,"p50_us":17000,"p99_us":39000,
		"extra":{"server_cpu_pct":6,"inputs_per_s":12000}},
		{"name":"udp-raw","impairment":"none","received":1000,"p50_us":16000,"p99_us":33000,
		"extra":{"server_cpu_pct":3,"inputs_per_s":12000,"server_cpu_us_per_input":2.5}}]}`), &room))
	runs = append(runs, &room)
	var chat Report
	require.NoError(t, json.Unmarshal([]byte(`{"scenario":"chat","config":{"nodes":3},
		"results":[{"name":"kcp/direct-xnode","impairment":"none","received":100,"p50_us":900,"p99_us":5100,
		"extra":{"nodes":3}}]}`), &chat))
	runs = append(runs, &chat)

	got := map[string]GoalResult{}
	for _, g := range CheckGoals(runs) {
		got[g.Goal] = g
	}
	for name, want := range map[string]GoalStatus{
		"echo: kcp p50 ≤ 1.25× kcp-bare p50":                                 GoalMet,    // 1.25×
		"echo: kcp-unreliable p50 ≤ 1.5× udp-raw p50":                        GoalMissed, // 2×
		"echo: kcp p99 < 2 ms at 5 % loss":                                   GoalMet,
		"echo: kcp p99 < 8 ms at 15 % loss":                                  GoalMissed,
		"echo: kcp wire bytes per message ≤ 2× kcp-bare's at 5 % loss":       GoalMet,
		"echo: kcp wire bytes per message ≤ 2× kcp-bare's at 15 % loss":      GoalMissed,
		"echo: ws p50 ≤ 1.5× tcp p50":                                        GoalMissed, // 1.67×
		"echo: webrtc-unreliable p50 ≤ 3× kcp-unreliable p50":                GoalNotMeasured,
		"echo: longpoll p50 ≤ 2 ms":                                          GoalNotMeasured,
		"room 50 × 8 at 30 Hz, kcp: input-to-broadcast p99 ≤ tick + 5 ms":    GoalMissed, // 39 > 38.3 ms
		"room 50 × 8 at 30 Hz, ws: input-to-broadcast p99 ≤ tick + 5 ms":     GoalNotMeasured,
		"room 125 × 8 at 30 Hz, kcp: input-to-broadcast p99 ≤ tick + 5 ms":   GoalNotMeasured,
		"room 50 × 8 at 30 Hz, kcp: server CPU ≤ 10 µs per input":            GoalMet,    // 5 µs
		"chat across nodes, kcp: direct message send-to-delivery p99 ≤ 5 ms": GoalMissed, // 5.1 ms
	} {
		g, ok := got[name]
		if assert.True(t, ok, "goal %q is checked", name) {
			assert.Equal(t, want, g.Status, "%s: %s", name, g)
			assert.Equal(t, want != GoalNotMeasured, g.Measured != "", "%s: figures exactly when measured", name)
		}
	}
	assert.Len(t, got, 14)
	assert.Equal(t, "met: echo: kcp p50 ≤ 1.25× kcp-bare p50 (#5) — 50µs vs 40µs (1.25×)",
		got["echo: kcp p50 ≤ 1.25× kcp-bare p50"].String())
	assert.Equal(t, "missed: room 50 × 8 at 30 Hz, kcp: input-to-broadcast p99 ≤ tick + 5 ms (#5, #11) — p99 39.00ms (limit 38.33ms), p50 17.00ms",
		got["room 50 × 8 at 30 Hz, kcp: input-to-broadcast p99 ≤ tick + 5 ms"].String())
	// The run measured the floor of the same workload: the CPU line says it.
	assert.Equal(t, "met: room 50 × 8 at 30 Hz, kcp: server CPU ≤ 10 µs per input (#11) — 5.0 µs per input (server 6 % of a core, 12000 inputs/s) (raw-UDP floor in this run: 2.5 µs per input)",
		got["room 50 × 8 at 30 Hz, kcp: server CPU ≤ 10 µs per input"].String())
	room.Results = room.Results[:1]
	for _, g := range CheckGoals(runs) {
		if g.Goal == "room 50 × 8 at 30 Hz, kcp: server CPU ≤ 10 µs per input" {
			assert.NotContains(t, g.Measured, "floor", "no udp-raw row, no floor")
		}
	}
}

// The report leads with the plots, then one met/missed line per target,
// then the tables; a note sits in a block that wraps.
func TestHTMLLeadsWithPlotsAndTargets(t *testing.T) {
	reps := fakeReport("echo", 0, 5)
	reps[0].Results[1].Note = strings.Repeat("a-long-note ", 50)
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, "t", reps))
	page := buf.String()
	plots, targets, table := strings.Index(page, "<svg"), strings.Index(page, `<h2 id="targets">`), strings.Index(page, "<table")
	require.Positive(t, plots)
	assert.Less(t, plots, targets, "the plots come first")
	assert.Less(t, targets, table, "the targets come before the tables")
	// One line per target, in CheckGoals's order, reading as its String.
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	var lines []string
	var walk func(n *html.Node, inGoals bool)
	walk = func(n *html.Node, inGoals bool) {
		if n.Type == html.ElementNode && n.Data == "ul" && attr(n, "class") == "goals" {
			inGoals = true
		}
		if inGoals && n.Type == html.ElementNode && n.Data == "li" {
			lines = append(lines, attr(n, "class")+"|"+textOf(n))
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inGoals)
		}
	}
	walk(doc, false)
	var want []string
	for _, g := range CheckGoals(reps) {
		want = append(want, strings.ReplaceAll(g.Status.String(), " ", "-")+"|"+strings.Replace(g.String(), ": ", " ", 1))
	}
	assert.Equal(t, want, lines)
	assert.Contains(t, lines, "met|met echo: kcp p99 < 2 ms at 5 % loss (#5, #11) — p99 1.98ms")
	assert.Contains(t, page, `<td class="note"><div> a-long-note a-long-note`)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}
