package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickwire/tickwire/bench"
)

func cmdMatrix(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("matrix", stderr)
	c.register(fs, strings.Join(bench.AllTransports, ","), 2000)
	out := fs.String("out", "bench/results", "directory for the JSON files and report.html")
	losses := fs.String("losses", "0,1,5,15", "echo loss settings, percent each way")
	lossTs := fs.String("loss-transports", "udp-raw,kcp-bare,kcp,kcp-unreliable,tcp",
		"echo transports at the settings with loss (those of --transports also listed here); the others run at loss 0 only")
	roomTs := fs.String("room-transports", "kcp,ws", "transports of the room run, one after the other")
	rooms := fs.Int("rooms", 50, "rooms in the room run (0 = no room run)")
	clients := fs.Int("clients", 8, "clients per room")
	tickHz := fs.Int("tick-hz", 30, "room tick rate")
	inputHz := fs.Int("input-hz", 30, "inputs per second per client")
	roomDur := fs.Duration("room-duration", 10*time.Second, "measured phase of the room run")
	sessions := fs.Int("sessions", 200, "sessions in the connect storm (0 = no storm)")
	spawn := fs.Bool("spawn-server", true, "run the room run's server in a child process (its own CPU/RSS)")
	if err := parse(fs, args); err != nil {
		return err
	}
	ts, err := bench.ParseTransports(c.transports)
	if err != nil {
		return err
	}
	lts, err := bench.ParseTransports(*lossTs)
	if err != nil {
		return err
	}
	rts, err := bench.ParseTransports(*roomTs)
	if err != nil {
		return err
	}
	var lossy []string
	for _, t := range ts {
		if slices.Contains(lts, t) {
			lossy = append(lossy, t)
		}
	}
	rounds := c.rounds
	ls, err := parseLosses(*losses)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	started := time.Now()
	var reports []*bench.Report
	save := func(name string, rep *bench.Report) error {
		c.annotate(rep)
		reports = append(reports, rep)
		if err := rep.WriteTable(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		return rep.WriteJSONFile(filepath.Join(*out, name+".json"))
	}

	env, stop, err := c.env(ctx, stderr)
	if err != nil {
		return err
	}
	for _, loss := range ls {
		ets := ts
		if loss > 0 {
			ets = lossy
		}
		if len(ets) == 0 {
			continue
		}
		rep, err := bench.RunEcho(ctx, env, bench.EchoConfig{
			Transports: ets, Count: c.count, Size: c.size, Interval: c.interval, BackToBack: c.interval == 0,
			Duration: c.duration, Timeout: c.timeout,
			Impairment: bench.Impairment{LossPct: loss, Delay: c.delay, Jitter: c.jitter}, Seed: c.seed,
			Rounds: rounds,
		})
		if err != nil {
			return errors.Join(err, stop())
		}
		if err := save(fmt.Sprintf("echo-loss-%s", strconv.FormatFloat(loss, 'f', -1, 64)), rep); err != nil {
			return errors.Join(err, stop())
		}
	}
	if *sessions > 0 {
		rep, err := bench.RunConnect(ctx, env, bench.ConnectConfig{Transports: ts, Sessions: *sessions, Duration: c.duration})
		if err == nil {
			err = save("connect", rep)
		}
		if err != nil {
			return errors.Join(err, stop())
		}
	}
	if err := stop(); err != nil {
		return err
	}
	if *rooms > 0 {
		renv, rstop, err := c.envSpawn(ctx, stderr, placeFromFlag(spawn))
		if err != nil {
			return err
		}
		rep, err := bench.RunRoom(ctx, renv, bench.RoomConfig{
			Transports: rts, Rooms: *rooms, Clients: *clients, TickHz: *tickHz, InputHz: *inputHz, Duration: *roomDur,
			Impairment: bench.Impairment{Delay: c.delay, Jitter: c.jitter}, Seed: c.seed,
		})
		err = errors.Join(err, rstop())
		if err == nil {
			err = save("room", rep)
		}
		if err != nil {
			return err
		}
	}
	all, err := json.MarshalIndent(reports, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "matrix.json"), append(all, '\n'), 0o644); err != nil {
		return err
	}
	if err := writeReportFiles(stdout, *out, "tickbench matrix", reports); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "matrix done in %s: %d runs, JSON, %s and SVG plots under %s\n", time.Since(started).Round(time.Second), len(reports), reportHTML, *out)
	return nil
}

func parseLosses(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v < 0 || v >= 100 {
			return nil, fmt.Errorf("bad loss %q: want a percentage in [0, 100)", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("no loss setting")
	}
	return out, nil
}
