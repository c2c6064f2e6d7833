package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tickwire/tickwire/client"
)

// ms formats a duration in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (a *app) cmdPing(ctx context.Context, args []string) error {
	fs := a.flags("ping")
	count := fs.Int("count", 5, "number of pings")
	if _, err := a.parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *count < 1 || *count > 10000 {
		return usageErrorf("--count must be 1-10000")
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, s settings) error {
		var lo, hi, sum time.Duration
		for i := 1; i <= *count; i++ {
			rtt, err := c.Ping(ctx)
			if err != nil {
				return err
			}
			if i == 1 || rtt < lo {
				lo = rtt
			}
			hi = max(hi, rtt)
			sum += rtt
			a.emit(fmt.Sprintf("ping %d: rtt %.3f ms", i, ms(rtt)),
				map[string]any{"type": "ping", "seq": i, "rtt_ms": ms(rtt)})
		}
		avg := sum / time.Duration(*count)
		off := c.ClockOffset()
		a.emit(fmt.Sprintf("%s over %s: rtt min/avg/max %.3f/%.3f/%.3f ms, smoothed %.3f ms; server clock %+.3f ms from this machine's",
			s.addr, s.transport, ms(lo), ms(avg), ms(hi), ms(c.RTT()), ms(off)),
			map[string]any{"type": "ping_summary", "addr": s.addr, "transport": s.transport, "count": *count,
				"rtt_min_ms": ms(lo), "rtt_avg_ms": ms(avg), "rtt_max_ms": ms(hi), "rtt_smoothed_ms": ms(c.RTT()),
				"clock_offset_ms": ms(off)})
		return nil
	})
}
