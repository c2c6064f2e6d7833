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
	bursts := fs.String("burst-losses", "5:3", "echo burst-loss settings, MEAN:LEN each (loss percent each way : mean burst length in datagrams, Gilbert-Elliott), comma-separated; empty = none")
	lossTs := fs.String("loss-transports", "udp-raw,kcp-bare,kcp,kcp-unreliable,tcp",
		"echo transports at the settings with loss (those of --transports also listed here); the others run at loss 0 only")
	roomTs := fs.String("room-transports", "udp-raw,kcp,ws", "transports of the room run, one after the other (udp-raw: the raw-UDP floor of the same workload)")
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
	bs, err := parseBursts(*bursts)
	if err != nil {
		return err
	}
	type echoRun struct {
		name string
		imp  bench.Impairment
	}
	var echoes []echoRun
	for _, loss := range ls {
		echoes = append(echoes, echoRun{"echo-loss-" + strconv.FormatFloat(loss, 'f', -1, 64),
			bench.Impairment{LossPct: loss, Delay: c.delay, Jitter: c.jitter}})
	}
	for _, b := range bs {
		echoes = append(echoes, echoRun{"echo-burst-" + strconv.FormatFloat(b.LossPct, 'f', -1, 64) + "-" + strconv.FormatFloat(b.BurstLen, 'f', -1, 64),
			bench.Impairment{LossPct: b.LossPct, BurstLen: b.BurstLen, Delay: c.delay, Jitter: c.jitter}})
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
	for _, e := range echoes {
		ets := ts
		if e.imp.LossPct > 0 {
			ets = lossy
		}
		if len(ets) == 0 {
			continue
		}
		rep, err := bench.RunEcho(ctx, env, bench.EchoConfig{
			Transports: ets, Count: c.count, Size: c.size, Interval: c.interval, BackToBack: c.interval == 0,
			Duration: c.duration, Timeout: c.timeout,
			Impairment: e.imp, Seed: c.seed,
			Rounds: rounds,
		})
		if err != nil {
			return errors.Join(err, stop())
		}
		if err := save(e.name, rep); err != nil {
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
		c.udpRoom.TickHz = *tickHz // the spawned udp-raw room relay ticks at the run's rate
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

// parseBursts parses --burst-losses: "MEAN:LEN,...", MEAN the loss in
// percent each way, LEN the mean burst length in datagrams.
func parseBursts(s string) ([]bench.Impairment, error) {
	var out []bench.Impairment
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		m, l, ok := strings.Cut(f, ":")
		mean, err1 := strconv.ParseFloat(m, 64)
		burst, err2 := strconv.ParseFloat(l, 64)
		imp := bench.Impairment{LossPct: mean, BurstLen: burst}
		if !ok || err1 != nil || err2 != nil || mean <= 0 || burst < 1 || imp.Validate() != nil {
			return nil, fmt.Errorf("bad burst loss %q: want MEAN:LEN, a loss percentage in (0, 100) and a mean burst length >= 1 that it allows", f)
		}
		out = append(out, imp)
	}
	return out, nil
}
