package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/bench"
)

// echoReport is a small echo run at loss, made without a network.
func echoReport(loss float64) *bench.Report {
	rep := &bench.Report{Scenario: "echo", Config: map[string]any{"loss_pct": loss}, Date: "2026-12-03T10:00:00Z"}
	for i, name := range []string{bench.TransportUDPRaw, bench.TransportKCPBare, bench.TransportKCP} {
		h := bench.NewHistogram()
		for us := 1; us <= 500; us++ {
			h.Record(time.Duration(us*(i+1)) * time.Microsecond)
		}
		p := h.Summary()
		rep.Results = append(rep.Results, bench.Result{
			Name: name, Impairment: bench.Impairment{LossPct: loss}.Label(), LossPct: loss, Sent: 500, Received: 500,
			P50Us: p.P50, P90Us: p.P90, P99Us: p.P99, P999Us: p.P999, MaxUs: p.Max, CDF: h.CDF(),
		})
	}
	return rep
}

// tickbench report renders report.html and the SVG files from the JSON of
// earlier runs: a matrix.json array and a single run's file alike.
func TestReportCommand(t *testing.T) {
	in := t.TempDir()
	all, err := json.Marshal([]*bench.Report{echoReport(0)})
	require.NoError(t, err)
	matrix := filepath.Join(in, "matrix.json")
	require.NoError(t, os.WriteFile(matrix, all, 0o644))
	single := filepath.Join(in, "echo-loss-5.json")
	require.NoError(t, echoReport(5).WriteJSONFile(single))

	out := filepath.Join(t.TempDir(), "r")
	stdout := runCmd(t, "report", "--out", out, matrix, single)
	assert.Contains(t, stdout, "targets:\n")
	assert.Contains(t, stdout, "  missed: echo: kcp p50 ≤ 1.25× kcp-bare p50 (#5) — 750µs vs 500µs (1.50×)\n")
	assert.Contains(t, stdout, "  not measured: echo: longpoll p50 ≤ 2 ms (#9)\n")
	assert.Contains(t, stdout, "report.html and 5 SVG plots written under "+out)

	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	require.NoError(t, err)
	assert.Equal(t, 5, strings.Count(string(page), "<svg"))
	assert.Contains(t, string(page), `<span class="status">missed</span> echo: kcp p50`)
	for _, name := range []string{"echo-cdf-none.svg", "echo-cdf-loss5.svg", "udp-raw-percentiles.svg", "kcp-bare-percentiles.svg", "kcp-percentiles.svg"} {
		svg, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err, name)
		assert.Contains(t, string(svg), `xmlns="http://www.w3.org/2000/svg"`, name)
	}
}

func TestReportCommandBadInput(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	require.Error(t, run(ctx, []string{"report", "--out", t.TempDir()}, &out, &errb), "no file")
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"scenario": 3}`), 0o644))
	require.ErrorContains(t, run(ctx, []string{"report", "--out", t.TempDir(), bad}, &out, &errb), "neither a run nor an array of runs")
	require.ErrorIs(t, run(ctx, []string{"report", "--out", t.TempDir(), filepath.Join(t.TempDir(), "missing.json")}, &out, &errb), os.ErrNotExist)
	empty := filepath.Join(t.TempDir(), "empty.json")
	require.NoError(t, os.WriteFile(empty, []byte(`[]`), 0o644))
	require.ErrorIs(t, run(ctx, []string{"report", "--out", t.TempDir(), empty}, &out, &errb), bench.ErrConfig)
}
