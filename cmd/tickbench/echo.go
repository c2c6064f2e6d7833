package main

import (
	"context"
	"io"
	"strings"

	"github.com/tickwire/tickwire/bench"
)

func cmdEcho(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("echo", stderr)
	c.register(fs, strings.Join(bench.AllTransports, ","), 2000)
	ts, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	env, stop, err := c.env(ctx, stderr)
	if err != nil {
		return err
	}
	rep, err := bench.RunEcho(ctx, env, bench.EchoConfig{
		Transports: ts, Count: c.count, Size: c.size,
		Interval: c.interval, BackToBack: c.interval == 0,
		Duration: c.duration, Timeout: c.timeout,
		Impairment: c.impairment(), Seed: c.seed, Rounds: c.rounds,
	})
	return c.finish(rep, err, stop, stdout)
}

func cmdConnect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("connect", stderr)
	c.register(fs, "kcp,tcp", 0)
	sessions := fs.Int("sessions", 200, "sessions opened per transport")
	conc := fs.Int("concurrency", 32, "handshakes in flight")
	hold := fs.Duration("hold", 0, "keep the sessions open and idle this long after the storm, then report the server's RSS per session (needs --server-pid or --spawn-server)")
	perSocket := fs.Int("sessions-per-socket", bench.DefaultSessionsPerSocket, "KCP: sessions sharing one client socket and event loop")
	ts, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	env, stop, err := c.env(ctx, stderr)
	if err != nil {
		return err
	}
	rep, err := bench.RunConnect(ctx, env, bench.ConnectConfig{
		Transports: ts, Sessions: *sessions, Concurrency: *conc, Duration: c.duration,
		Hold: *hold, SessionsPerSocket: *perSocket,
		Impairment: c.impairment(), Seed: c.seed,
	})
	return c.finish(rep, err, stop, stdout)
}
