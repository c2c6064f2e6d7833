package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
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
