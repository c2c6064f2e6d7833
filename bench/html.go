package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WriteHTML writes one self-contained HTML report for one or more runs.
// It leads with the plots — latency CDFs per scenario and impairment
// setting, then percentiles per transport across impairment settings
// (echo) — and one met/missed line per target (CheckGoals), then the
// tables, each run's config, the machine and the date. Plots are SVG
// rendered by gonum/plot and embedded inline; the page loads nothing.
func WriteHTML(w io.Writer, title string, reports []*Report) error {
	if len(reports) == 0 {
		return fmt.Errorf("%w: no report to render", ErrConfig)
	}
	page := htmlPage{Title: title, Machine: reports[0].Machine, Date: reports[0].Date, Goals: CheckGoals(reports)}
	for _, r := range reports {
		cfg, err := json.MarshalIndent(r.Config, "", "  ")
		if err != nil {
			return err
		}
		hr := htmlRun{Scenario: r.Scenario, Config: string(cfg), Notes: r.Notes, Results: r.Results}
		if r.Server != nil {
			hr.Server = r.Server.String()
		}
		page.Runs = append(page.Runs, hr)
	}
	cdfs, pcts, err := allPlots(reports)
	if err != nil {
		return err
	}
	if page.CDFs, err = renderInline(cdfs); err != nil {
		return err
	}
	if page.Percentiles, err = renderInline(pcts); err != nil {
		return err
	}
	return pageTmpl.Execute(w, page)
}

// WriteHTMLFile writes the report to path.
func WriteHTMLFile(path, title string, reports []*Report) error {
	return writeFile(path, func(w io.Writer) error { return WriteHTML(w, title, reports) })
}

// WritePlots writes each plot of the HTML report as a standalone SVG file
// in dir, for pages that link or embed one (the README): a CDF plot per
// scenario and impairment setting ("echo-cdf-loss5.svg") and a
// percentile plot per echo transport ("kcp-percentiles.svg"). Unlike the
// report's inline copies, each file is a complete SVG document with the
// SVG namespace, which a browser needs to show a file as an image. It
// returns the paths written, in report order.
func WritePlots(dir string, reports []*Report) ([]string, error) {
	cdfs, pcts, err := allPlots(reports)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, sp := range append(cdfs, pcts...) {
		doc, err := sp.svg()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, sp.file)
		if err := writeFile(path, func(w io.Writer) error { _, err := w.Write(doc); return err }); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// allPlots builds the report's plots: the CDFs, then the percentiles.
func allPlots(reports []*Report) (cdfs, pcts []sizedPlot, err error) {
	if cdfs, err = cdfPlots(reports); err != nil {
		return nil, nil, err
	}
	if pcts, err = percentilePlots(reports); err != nil {
		return nil, nil, err
	}
	return cdfs, pcts, nil
}

// sizedPlot is a plot, the size to render it at and the name of its
// standalone file.
type sizedPlot struct {
	p    *plot.Plot
	w, h vg.Length
	file string
}

// svg renders the plot as a standalone SVG document, as gonum/plot writes
// it: an XML prolog and an <svg> root in the SVG namespace.
func (sp sizedPlot) svg() ([]byte, error) {
	wt, err := sp.p.WriterTo(sp.w, sp.h, "svg")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func renderInline(ps []sizedPlot) ([]htmlPlot, error) {
	out := make([]htmlPlot, 0, len(ps))
	for _, sp := range ps {
		svg, err := sp.inline()
		if err != nil {
			return nil, err
		}
		out = append(out, htmlPlot{Title: sp.p.Title.Text, SVG: svg})
	}
	return out, nil
}

type htmlPage struct {
	Title       string
	Machine     Machine
	Date        string
	Goals       []GoalResult
	Runs        []htmlRun
	CDFs        []htmlPlot
	Percentiles []htmlPlot
}

type htmlRun struct {
	Scenario string
	Config   string
	Server   string
	Notes    []string
	Results  []Result
}

type htmlPlot struct {
	Title string
	SVG   template.HTML
}

// goalCounts sums up checked goals: "8 met, 4 missed, 1 not measured".
func goalCounts(gs []GoalResult) string {
	n := map[GoalStatus]int{}
	for _, g := range gs {
		n[g.Status]++
	}
	var parts []string
	for _, s := range []GoalStatus{GoalMet, GoalMissed, GoalNotMeasured} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// fileSlug turns a label into a file-name part: "loss 5%" → "loss5".
func fileSlug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		case r == '_':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// cdfPlots draws one CDF plot per (scenario, impairment) with a line per
// transport.
func cdfPlots(reports []*Report) ([]sizedPlot, error) {
	type key struct{ scenario, imp string }
	groups := map[key][]Result{}
	var order []key
	for _, r := range reports {
		for _, x := range r.Results {
			if len(x.CDF) == 0 {
				continue
			}
			k := key{r.Scenario, x.Impairment}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], x)
		}
	}
	var out []sizedPlot
	for _, k := range order {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s — impairment: %s", k.scenario, k.imp)
		p.X.Label.Text = "latency"
		p.Y.Label.Text = "fraction of messages at or below"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = usTicker{}
		p.Y.Min, p.Y.Max = 0, 1
		p.Add(plotter.NewGrid())
		p.Legend.Top = false
		p.Legend.Left = false
		p.Legend.YOffs = vg.Points(20)
		for i, x := range groups[k] {
			xy := make(plotter.XYs, 0, len(x.CDF))
			for _, pt := range x.CDF {
				xy = append(xy, plotter.XY{X: math.Max(pt.ValueUs, 0.1), Y: pt.Fraction})
			}
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, err
			}
			l.Color = plotutil.Color(i)
			l.Dashes = plotutil.Dashes(i)
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(x.Name, l)
		}
		out = append(out, sizedPlot{p, 7 * vg.Inch, 4 * vg.Inch, fmt.Sprintf("%s-cdf-%s.svg", fileSlug(k.scenario), fileSlug(k.imp))})
	}
	return out, nil
}

// percentilePlots draws, per echo transport, its p50..max across the
// impairment settings of the runs (one line per setting).
func percentilePlots(reports []*Report) ([]sizedPlot, error) {
	byT := map[string][]Result{}
	var order []string
	for _, r := range reports {
		if r.Scenario != "echo" {
			continue
		}
		for _, x := range r.Results {
			if x.Received == 0 {
				continue
			}
			if _, ok := byT[x.Name]; !ok {
				order = append(order, x.Name)
			}
			byT[x.Name] = append(byT[x.Name], x)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return transportRank(order[i]) < transportRank(order[j]) })
	var out []sizedPlot
	for _, t := range order {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("echo round trip — %s", t)
		p.X.Label.Text = "percentile"
		p.Y.Label.Text = "round trip"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = usTicker{}
		p.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "p50"}, {Value: 1, Label: "p90"}, {Value: 2, Label: "p99"}, {Value: 3, Label: "p99.9"}, {Value: 4, Label: "max"}})
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.Left = true
		for i, x := range byT[t] {
			vals := []float64{x.P50Us, x.P90Us, x.P99Us, x.P999Us, x.MaxUs}
			xy := make(plotter.XYs, len(vals))
			for j, v := range vals {
				xy[j] = plotter.XY{X: float64(j), Y: math.Max(v, 0.1)}
			}
			l, s, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, err
			}
			l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
			s.Shape = plotutil.Shape(i)
			p.Add(l, s)
			p.Legend.Add(x.Impairment, l, s)
		}
		out = append(out, sizedPlot{p, 5 * vg.Inch, 3.5 * vg.Inch, fileSlug(t) + "-percentiles.svg"})
	}
	return out, nil
}

func transportRank(t string) int {
	for i, k := range AllTransports {
		if k == t {
			return i
		}
	}
	return len(AllTransports)
}

var (
	xmlProlog = regexp.MustCompile(`(?s)^<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)
	xmlnsAttr = regexp.MustCompile(`\s+xmlns(:\w+)?="[^"]*"`)
)

// inline renders the plot as an SVG element fit for inline embedding in
// HTML: the XML prolog and the namespace attributes (which the HTML parser
// supplies for inline SVG) are removed, so the page holds no URL at all.
func (sp sizedPlot) inline() (template.HTML, error) {
	doc, err := sp.svg()
	if err != nil {
		return "", err
	}
	s := xmlProlog.ReplaceAll(doc, nil)
	s = xmlnsAttr.ReplaceAll(s, nil)
	return template.HTML(s), nil // generated by gonum/plot from numbers and escaped labels
}

// usTicker labels a log axis in µs/ms/s at 1-2-5 steps.
type usTicker struct{}

func (usTicker) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 {
		lo = 0.1
	}
	var ticks []plot.Tick
	for d := math.Pow(10, math.Floor(math.Log10(lo))); d <= hi*10; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v < lo || v > hi {
				continue
			}
			label := ""
			if m == 1 {
				label = axisUs(v)
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: label})
		}
	}
	if len(ticks) < 2 {
		ticks = append(ticks, plot.Tick{Value: lo, Label: axisUs(lo)}, plot.Tick{Value: hi, Label: axisUs(hi)})
	}
	return ticks
}

// axisUs labels a power-of-ten axis tick: "100µs", "1ms", "10s".
func axisUs(us float64) string {
	switch {
	case us < 1:
		return fmt.Sprintf("%gns", us*1000)
	case us < 1000:
		return fmt.Sprintf("%gµs", us)
	case us < 1e6:
		return fmt.Sprintf("%gms", us/1000)
	default:
		return fmt.Sprintf("%gs", us/1e6)
	}
}

// pageTmpl is the report. A note sits in a <div> of bounded width inside
// its cell, so that a long one wraps instead of widening the table (a
// table cell ignores max-width; a block inside it does not).
var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"us":         fmtUs,
	"bytes":      fmtBytes,
	"ratio":      fmtRatio,
	"pct":        func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"rate":       func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"extra":      fmtExtra,
	"slug":       func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"issues":     issueRefs,
	"goalCounts": goalCounts,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 90%; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; vertical-align: top; }
th { background: #f0f0f0; }
td.l { text-align: left; }
td.note { text-align: left; }
td.note div { min-width: 8em; max-width: 28em; overflow-wrap: anywhere; }
pre { background: #f7f7f7; padding: 1em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
p.note { max-width: 60em; overflow-wrap: anywhere; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; flex: 1 1 34em; max-width: 42em; }
.plots.small figure { flex-basis: 24em; max-width: 30em; }
figure svg { width: 100%; height: auto; }
figcaption { font-size: 85%; color: #555; }
ul.goals { list-style: none; padding: 0; }
ul.goals li { margin: 0.2em 0; max-width: 70em; overflow-wrap: anywhere; }
.status { display: inline-block; min-width: 7.5em; font-weight: bold; }
.met .status { color: #1a7f37; }
.missed .status { color: #cf222e; }
.not-measured .status { color: #777; font-weight: normal; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Date: {{.Date}}<br>
Machine: {{.Machine.CPU}}, {{.Machine.Cores}} cores (GOMAXPROCS {{.Machine.GOMAXPROCS}}), {{.Machine.OS}}/{{.Machine.Arch}}{{if .Machine.Kernel}} kernel {{.Machine.Kernel}}{{end}}, {{.Machine.GoVersion}}{{if .Machine.LoadAvg}}, load average {{.Machine.LoadAvg}}{{end}}</p>
{{with goalCounts .Goals}}<p>Targets (listed after the plots): {{.}}.</p>{{end}}
<h2 id="plots">Latency distributions</h2>
<div class="plots">
{{range .CDFs}}<figure>{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>
{{end}}</div>
{{if .Percentiles}}<h2>Percentiles per transport across impairment settings</h2>
<div class="plots small">
{{range .Percentiles}}<figure>{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>
{{end}}</div>{{end}}
<h2 id="targets">Targets</h2>
<ul class="goals">
{{range .Goals}}<li class="{{slug .Status.String}}"><span class="status">{{.Status}}</span> {{.Goal}}{{issues .Issues}}{{if .Measured}} — {{.Measured}}{{end}}</li>
{{end}}</ul>
{{range .Runs}}
<h2>{{.Scenario}}</h2>
<table>
<tr><th>transport</th><th>crosses</th><th>impairment</th><th>sent</th><th>received</th><th>delivered %</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>per s</th><th>wire B/msg</th><th>p50 / udp-raw</th><th>p99 / udp-raw</th><th>notes</th></tr>
{{range .Results}}<tr><td class="l">{{.Name}}</td><td class="l">{{.Crosses}}{{if .Encryption}}, {{.Encryption}}{{end}}</td><td class="l">{{.Impairment}}</td><td>{{.Sent}}</td><td>{{.Received}}</td><td>{{pct .DeliveredPct}}</td><td>{{us .P50Us}}</td><td>{{us .P90Us}}</td><td>{{us .P99Us}}</td><td>{{us .P999Us}}</td><td>{{us .MaxUs}}</td><td>{{rate .PerSecond}}</td><td>{{bytes .WireBytesPerMsg}}</td><td>{{ratio .P50VsUDP}}</td><td>{{ratio .P99VsUDP}}</td><td class="note"><div>{{extra .Extra}} {{.Note}}</div></td></tr>
{{end}}</table>
{{if .Server}}<p>Server: {{.Server}}</p>{{end}}
{{range .Notes}}<p class="note">Note: {{.}}</p>{{end}}
{{end}}
<h2>Configuration</h2>
{{range .Runs}}<h3>{{.Scenario}}</h3>
<pre>{{.Config}}</pre>
{{end}}
</body>
</html>
`))
