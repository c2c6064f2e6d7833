package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/tickwire/tickwire/bench"
)

func cmdRoom(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("room", stderr)
	c.register(fs, "kcp", 0)
	rooms := fs.Int("rooms", 50, "number of relay rooms")
	clients := fs.Int("clients", 8, "clients per room")
	tickHz := fs.Int("tick-hz", 30, "room tick rate")
	inputHz := fs.Int("input-hz", 30, "inputs per second per client")
	warmup := fs.Duration("warmup", time.Second, "inputs sent before measuring")
	perSocket := fs.Int("sessions-per-socket", bench.DefaultSessionsPerSocket, "KCP: sessions sharing one client socket and its event loop (kcp.ClientSocket); 1 = a socket per session")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of tickbench (the generator, and the server when it runs in-process) over the measured phase to this file")
	spawn := fs.Bool("spawn-server", false, "run the server in a child process (tickbench serve) so that its CPU and RSS are its own")
	var cf clusterFlags
	cf.register(fs)
	ts, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	c.udpRoom.TickHz = *tickHz // an in-process or spawned udp-raw room relay ticks at the run's rate
	if err := cf.check(&c); err != nil {
		return err
	}
	if cf.clustered() && *spawn {
		return errors.New("--spawn-server runs one server: not with --nodes or --servers")
	}
	var env *bench.Env
	var stop func() error
	if cf.clustered() {
		env, stop, err = cf.env(ctx, &c, stderr)
	} else {
		env, stop, err = c.envSpawn(ctx, stderr, placeFromFlag(spawn))
	}
	if err != nil {
		return err
	}
	dur := c.duration
	if !flagSet(fs, "duration") {
		dur = 10 * time.Second
	}
	rep, err := bench.RunRoom(ctx, env, bench.RoomConfig{
		Transports: ts, Rooms: *rooms, Clients: *clients, TickHz: *tickHz, InputHz: *inputHz,
		Size: c.size, Warmup: *warmup, Duration: dur, SessionsPerSocket: *perSocket,
		Impairment: c.impairment(), Seed: c.seed, CPUProfile: *cpuProfile,
	})
	return c.finish(rep, err, stop, stdout)
}
