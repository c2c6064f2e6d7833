package main

import (
	"context"
	"io"
	"time"

	"github.com/tickwire/tickwire/bench"
)

func cmdChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("chat", stderr)
	c.register(fs, "kcp", 500)
	pairs := fs.Int("pairs", 4, "pairs of friends exchanging direct messages")
	group := fs.Int("group-size", 8, "members of the group")
	var cf clusterFlags
	cf.register(fs)
	ts, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if err := cf.check(&c); err != nil {
		return err
	}
	interval := c.interval
	if !flagSet(fs, "interval") {
		interval = 5 * time.Millisecond
	}
	env, stop, err := cf.env(ctx, &c, stderr)
	if err != nil {
		return err
	}
	rep, err := bench.RunChat(ctx, env, bench.ChatConfig{
		Transports: ts, Pairs: *pairs, GroupSize: *group, Count: c.count, Interval: interval,
		Size: c.size, Duration: c.duration, Impairment: c.impairment(), Seed: c.seed,
	})
	return c.finish(rep, err, stop, stdout)
}
