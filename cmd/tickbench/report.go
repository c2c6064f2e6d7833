package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tickwire/tickwire/bench"
)

// reportHTML is the name of the HTML report in an output directory.
const reportHTML = "report.html"

// writeReportFiles writes the HTML report and each of its plots as a
// standalone SVG file into dir, and prints one met/missed line per target.
func writeReportFiles(stdout io.Writer, dir, title string, reports []*bench.Report) error {
	if err := bench.WriteHTMLFile(filepath.Join(dir, reportHTML), title, reports); err != nil {
		return err
	}
	plots, err := bench.WritePlots(dir, reports)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "targets:\n")
	for _, g := range bench.CheckGoals(reports) {
		fmt.Fprintf(stdout, "  %s\n", g)
	}
	fmt.Fprintf(stdout, "%s and %d SVG plots written under %s\n", reportHTML, len(plots), dir)
	return nil
}

// cmdReport renders the HTML report and the SVG plots again from the JSON
// of earlier runs (a matrix.json, or single-run reports), without running
// anything.
func cmdReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	out := fs.String("out", "bench/results", "directory for report.html and the SVG plots")
	title := fs.String("title", "tickbench matrix", "the report's title")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tickbench report [--out DIR] [--title T] FILE.json...\n\n"+
			"FILE is a matrix.json (an array of runs) or one run's JSON (tickbench ... --json).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("report: no JSON file")
	}
	var reports []*bench.Report
	for _, path := range fs.Args() {
		rs, err := readReports(path)
		if err != nil {
			return err
		}
		reports = append(reports, rs...)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	return writeReportFiles(stdout, *out, *title, reports)
}

// readReports reads a JSON array of runs or a single run.
func readReports(path string) ([]*bench.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var many []*bench.Report
	if err := json.Unmarshal(b, &many); err == nil {
		return many, nil
	}
	var one bench.Report
	if err := json.Unmarshal(b, &one); err != nil {
		return nil, fmt.Errorf("%s: neither a run nor an array of runs: %w", path, err)
	}
	return []*bench.Report{&one}, nil
}
