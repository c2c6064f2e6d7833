package bench

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Report is the outcome of one scenario run. Its JSON form is the
// documented tickbench output: {"scenario", "config", "results": [...]},
// plus the machine, the date and notes.
type Report struct {
	Scenario string   `json:"scenario"`
	Config   any      `json:"config"`
	Results  []Result `json:"results"`
	Machine  Machine  `json:"machine"`
	Date     string   `json:"date"`
	// Server is the server process's resource use when it was sampled
	// from /proc (local servers only).
	Server *ProcUsage `json:"server,omitempty"`
	Notes  []string   `json:"notes,omitempty"`
}

// Result is one row: one transport (or baseline) under one impairment
// setting. Latencies are microseconds.
type Result struct {
	Name string `json:"name"`
	// Crosses says what the row's messages cross between client and
	// server ("UDP (KCP)", "TCP (WebSocket over HTTP/1.1)", "UDP (SCTP
	// over DTLS)"); one entry of the transport table.
	Crosses string `json:"crosses,omitempty"`
	// Encryption says, on KCP rows, whether the datagrams were sealed
	// ("aead", the default), not ("plaintext", benchmarks only), or the
	// baseline has none ("none").
	Encryption string  `json:"encryption,omitempty"`
	Impairment string  `json:"impairment"`
	LossPct    float64 `json:"loss_pct"`
	DelayUs    float64 `json:"delay_us"`
	JitterUs   float64 `json:"jitter_us"`

	Sent     int64 `json:"sent"`
	Received int64 `json:"received"`

	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p999_us"`
	MaxUs  float64 `json:"max_us"`
	MeanUs float64 `json:"mean_us"`

	DeliveredPct float64 `json:"delivered_pct"`
	// PerSecond is received messages (or completed handshakes) per second
	// of the measured phase.
	PerSecond float64 `json:"per_second"`
	DurationS float64 `json:"duration_s"`

	// WireBytes counts the bytes this transport put on the wire in both
	// directions during the measured phase (datagram or stream payload
	// bytes, IP/UDP/TCP headers excluded); WireSource says where the
	// count came from. WireBytesPerMsg divides it by Received.
	WireBytes       uint64  `json:"wire_bytes"`
	WireBytesPerMsg float64 `json:"wire_bytes_per_msg"`
	WireSource      string  `json:"wire_source,omitempty"`

	// P50VsUDP and P99VsUDP divide this row's p50/p99 by the udp-raw
	// row's of the same impairment setting (0 when there is none).
	P50VsUDP float64 `json:"p50_vs_udp_raw,omitempty"`
	P99VsUDP float64 `json:"p99_vs_udp_raw,omitempty"`

	// Extra holds scenario-specific figures (join time, redundancy,
	// measured loss rate, server CPU, ...).
	Extra map[string]float64 `json:"extra,omitempty"`
	Note  string             `json:"note,omitempty"`
	// CDF is the latency distribution, thinned to at most cdfPoints
	// points; the HTML report plots it.
	CDF []CDFPoint `json:"cdf,omitempty"`
}

const cdfPoints = 200

// fill sets the latency fields of r from h.
func (r *Result) fill(h *Histogram) {
	p := h.Summary()
	r.P50Us, r.P90Us, r.P99Us, r.P999Us, r.MaxUs, r.MeanUs = p.P50, p.P90, p.P99, p.P999, p.Max, p.Mean
	if r.Sent > 0 {
		r.DeliveredPct = 100 * float64(r.Received) / float64(r.Sent)
	}
	if r.DurationS > 0 {
		r.PerSecond = float64(r.Received) / r.DurationS
	}
	if r.Received > 0 && r.WireBytes > 0 {
		r.WireBytesPerMsg = float64(r.WireBytes) / float64(r.Received)
	}
	r.CDF = thin(h.CDF(), cdfPoints)
}

// thin keeps at most n points of a CDF, always keeping the last one.
func thin(pts []CDFPoint, n int) []CDFPoint {
	if len(pts) <= n {
		return pts
	}
	out := make([]CDFPoint, 0, n)
	step := float64(len(pts)-1) / float64(n-1)
	for i := 0; i < n; i++ {
		out = append(out, pts[int(float64(i)*step+0.5)])
	}
	out[len(out)-1] = pts[len(pts)-1]
	return out
}

// SetExtra records a scenario-specific figure.
func (r *Result) SetExtra(k string, v float64) {
	if r.Extra == nil {
		r.Extra = map[string]float64{}
	}
	r.Extra[k] = v
}

// computeRatios fills P50VsUDP/P99VsUDP against the udp-raw row of the
// same impairment.
func computeRatios(rs []Result) {
	base := map[string]Result{}
	for _, r := range rs {
		if r.Name == TransportUDPRaw && r.Received > 0 {
			base[r.Impairment] = r
		}
	}
	for i := range rs {
		b, ok := base[rs[i].Impairment]
		if !ok || rs[i].Received == 0 || b.P50Us == 0 || b.P99Us == 0 {
			continue
		}
		rs[i].P50VsUDP = rs[i].P50Us / b.P50Us
		rs[i].P99VsUDP = rs[i].P99Us / b.P99Us
	}
}

// Machine describes where a run happened.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Kernel     string `json:"kernel,omitempty"`
	// LoadAvg is /proc/loadavg's 1/5/15-minute load when the report was
	// made: a busy machine makes tails noisy.
	LoadAvg string `json:"load_avg,omitempty"`
}

// ThisMachine reads the CPU model from /proc/cpuinfo (where there is one)
// and the rest from the runtime.
func ThisMachine() Machine {
	m := Machine{
		CPU:        "unknown",
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

func newReport(scenario string, cfg any) *Report {
	return &Report{
		Scenario: scenario,
		Config:   cfg,
		Machine:  ThisMachine(),
		Date:     time.Now().UTC().Format(time.RFC3339),
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteJSONFile writes the report to path.
func (r *Report) WriteJSONFile(path string) error {
	return writeFile(path, r.WriteJSON)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// crossesCell is the table's crosses column: what the row crosses and,
// on KCP rows, its encryption.
func crossesCell(x Result) string {
	c := cmp.Or(x.Crosses, "-")
	if x.Encryption != "" {
		c += ", " + x.Encryption
	}
	return c
}

// WriteTable prints the report as an aligned terminal table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := &tableWriter{}
	tw.row("transport", "crosses", "impairment", "sent", "recv", "deliv%", "p50", "p90", "p99", "p99.9", "max", "/s", "B/msg", "p50/udp", "p99/udp")
	for _, x := range r.Results {
		tw.row(x.Name, crossesCell(x), x.Impairment,
			fmt.Sprint(x.Sent), fmt.Sprint(x.Received), fmt.Sprintf("%.1f", x.DeliveredPct),
			fmtUs(x.P50Us), fmtUs(x.P90Us), fmtUs(x.P99Us), fmtUs(x.P999Us), fmtUs(x.MaxUs),
			fmt.Sprintf("%.0f", x.PerSecond), fmtBytes(x.WireBytesPerMsg), fmtRatio(x.P50VsUDP), fmtRatio(x.P99VsUDP))
	}
	fmt.Fprintf(w, "tickbench %s — %s, %d cores, %s, load %s, %s\n", r.Scenario, r.Machine.CPU, r.Machine.Cores, r.Machine.GoVersion, r.Machine.LoadAvg, r.Date)
	if err := tw.flush(w); err != nil {
		return err
	}
	for _, x := range r.Results {
		if len(x.Extra) > 0 || x.Note != "" {
			fmt.Fprintf(w, "  %s [%s]:%s %s\n", x.Name, x.Impairment, fmtExtra(x.Extra), x.Note)
		}
	}
	if r.Server != nil {
		fmt.Fprintf(w, "  server: %s\n", r.Server)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	return nil
}

func fmtUs(us float64) string {
	switch {
	case us == 0:
		return "-"
	case us < 1000:
		return fmt.Sprintf("%.0fµs", us)
	case us < 100000:
		return fmt.Sprintf("%.2fms", us/1000)
	default:
		return fmt.Sprintf("%.0fms", us/1000)
	}
}

func fmtBytes(b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", b)
}

func fmtRatio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", x)
}

func fmtExtra(m map[string]float64) string {
	keys := sortedKeys(m)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%.4g", k, m[k])
	}
	return b.String()
}

type tableWriter struct{ rows [][]string }

func (t *tableWriter) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *tableWriter) flush(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			if n := len([]rune(c)); n > widths[i] {
				widths[i] = n
			}
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			pad := widths[i] - len([]rune(c))
			if i < 3 {
				b.WriteString(c)
				b.WriteString(strings.Repeat(" ", pad))
			} else {
				b.WriteString(strings.Repeat(" ", pad))
				b.WriteString(c)
			}
			b.WriteString("  ")
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(b.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}
