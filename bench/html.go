package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"regexp"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WriteHTML writes one self-contained HTML report for one or more runs:
// a summary table, latency CDF plots per scenario and impairment
// setting, percentile plots per transport across impairment settings
// (echo), each run's config, the machine and the date. Plots are SVG
// rendered by gonum/plot and embedded inline; the page loads nothing.
func WriteHTML(w io.Writer, title string, reports []*Report) error {
	if len(reports) == 0 {
		return fmt.Errorf("%w: no report to render", ErrConfig)
	}
	page := htmlPage{Title: title, Machine: reports[0].Machine, Date: reports[0].Date}
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
	cdfs, err := cdfPlots(reports)
	if err != nil {
		return err
	}
	pcts, err := percentilePlots(reports)
	if err != nil {
		return err
	}
	if page.CDFs, err = renderAll(cdfs); err != nil {
		return err
	}
	if page.Percentiles, err = renderAll(pcts); err != nil {
		return err
	}
	return pageTmpl.Execute(w, page)
}

// sizedPlot is a plot and the size to render it at.
type sizedPlot struct {
	p    *plot.Plot
	w, h vg.Length
}

func renderAll(ps []sizedPlot) ([]htmlPlot, error) {
	out := make([]htmlPlot, 0, len(ps))
	for _, sp := range ps {
		svg, err := renderSVG(sp.p, sp.w, sp.h)
		if err != nil {
			return nil, err
		}
		out = append(out, htmlPlot{Title: sp.p.Title.Text, SVG: svg})
	}
	return out, nil
}

// WriteHTMLFile writes the report to path.
func WriteHTMLFile(path, title string, reports []*Report) error {
	return writeFile(path, func(w io.Writer) error { return WriteHTML(w, title, reports) })
}

type htmlPage struct {
	Title       string
	Machine     Machine
	Date        string
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
		out = append(out, sizedPlot{p, 7 * vg.Inch, 4 * vg.Inch})
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
		out = append(out, sizedPlot{p, 5 * vg.Inch, 3.5 * vg.Inch})
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

// renderSVG renders p as an SVG element fit for inline embedding: the XML
// prolog and the namespace attributes (which HTML does not need for
// inline SVG) are removed, so the page holds no URL at all.
func renderSVG(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return "", err
	}
	s := xmlProlog.ReplaceAll(b.Bytes(), nil)
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

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"us":    fmtUs,
	"bytes": fmtBytes,
	"ratio": fmtRatio,
	"pct":   func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"rate":  func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"extra": fmtExtra,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 90%; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; }
td.l { text-align: left; }
pre { background: #f7f7f7; padding: 1em; overflow: auto; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
figcaption { font-size: 85%; color: #555; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Date: {{.Date}}<br>
Machine: {{.Machine.CPU}}, {{.Machine.Cores}} cores (GOMAXPROCS {{.Machine.GOMAXPROCS}}), {{.Machine.OS}}/{{.Machine.Arch}}{{if .Machine.Kernel}} kernel {{.Machine.Kernel}}{{end}}, {{.Machine.GoVersion}}{{if .Machine.LoadAvg}}, load average {{.Machine.LoadAvg}}{{end}}</p>
{{range .Runs}}
<h2>{{.Scenario}}</h2>
<table>
<tr><th>transport</th><th>crosses</th><th>impairment</th><th>sent</th><th>received</th><th>delivered %</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>per s</th><th>wire B/msg</th><th>p50 / udp-raw</th><th>p99 / udp-raw</th><th>notes</th></tr>
{{range .Results}}<tr><td class="l">{{.Name}}</td><td class="l">{{.Crosses}}</td><td class="l">{{.Impairment}}</td><td>{{.Sent}}</td><td>{{.Received}}</td><td>{{pct .DeliveredPct}}</td><td>{{us .P50Us}}</td><td>{{us .P90Us}}</td><td>{{us .P99Us}}</td><td>{{us .P999Us}}</td><td>{{us .MaxUs}}</td><td>{{rate .PerSecond}}</td><td>{{bytes .WireBytesPerMsg}}</td><td>{{ratio .P50VsUDP}}</td><td>{{ratio .P99VsUDP}}</td><td class="l">{{extra .Extra}} {{.Note}}</td></tr>
{{end}}</table>
{{if .Server}}<p>Server: {{.Server}}</p>{{end}}
{{range .Notes}}<p>Note: {{.}}</p>{{end}}
{{end}}
<h2>Latency distributions</h2>
<div class="plots">
{{range .CDFs}}<figure>{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>
{{end}}</div>
{{if .Percentiles}}<h2>Percentiles per transport across impairment settings</h2>
<div class="plots">
{{range .Percentiles}}<figure>{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>
{{end}}</div>{{end}}
<h2>Configuration</h2>
{{range .Runs}}<h3>{{.Scenario}}</h3>
<pre>{{.Config}}</pre>
{{end}}
</body>
</html>
`))
