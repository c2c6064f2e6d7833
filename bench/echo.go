package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kcpgo "github.com/xtaci/kcp-go/v5"

	"github.com/tickwire/tickwire/netcode/impair"
)

// ParseTransports splits a comma-separated list and checks every name.
func ParseTransports(s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		ok := false
		for _, k := range AllTransports {
			ok = ok || k == t
		}
		if !ok {
			return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownTransport, t, strings.Join(AllTransports, ","))
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty list", ErrUnknownTransport)
	}
	return out, nil
}

// Impairment is what the impair proxies inject between client and server,
// in each direction.
type Impairment struct {
	LossPct float64 // random loss per datagram, percent, each way
	// BurstLen, when set (≥ 1), makes the loss come in runs: a
	// Gilbert–Elliott process (impair.BurstLoss) losing LossPct percent
	// of datagrams in the long run, in bursts of BurstLen consecutive
	// datagrams on average. 0 = Bernoulli loss.
	BurstLen float64
	Delay    time.Duration // one-way added delay, each way
	Jitter   time.Duration // one-way random extra delay, each way
}

// None reports whether nothing is injected (no proxy is put in the path).
func (i Impairment) None() bool { return i.LossPct == 0 && i.Delay == 0 && i.Jitter == 0 }

// Label names the setting in tables and plots ("none", "loss 5%", ...).
func (i Impairment) Label() string {
	if i.None() {
		return "none"
	}
	var parts []string
	switch {
	case i.LossPct != 0 && i.BurstLen > 0:
		parts = append(parts, fmt.Sprintf("burst loss %g%% x%g", i.LossPct, i.BurstLen))
	case i.LossPct != 0:
		parts = append(parts, fmt.Sprintf("loss %g%%", i.LossPct))
	}
	if i.Delay != 0 {
		parts = append(parts, "delay "+i.Delay.String())
	}
	if i.Jitter != 0 {
		parts = append(parts, "jitter "+i.Jitter.String())
	}
	return strings.Join(parts, " ")
}

// Validate reports whether the setting can be injected (ErrConfig when
// not); the scenarios check it before they start.
func (i Impairment) Validate() error {
	if !(i.LossPct >= 0 && i.LossPct < 100) || i.Delay < 0 || i.Jitter < 0 {
		return fmt.Errorf("%w: impairment loss %g%% delay %v jitter %v", ErrConfig, i.LossPct, i.Delay, i.Jitter)
	}
	if i.BurstLen != 0 {
		if i.LossPct == 0 {
			return fmt.Errorf("%w: a burst length (%g) needs a loss rate", ErrConfig, i.BurstLen)
		}
		if err := (impair.Config{Up: impair.Direction{Burst: impair.BurstLoss(i.LossPct/100, i.BurstLen)}}).Validate(); err != nil {
			return fmt.Errorf("%w: burst loss %g%% in bursts of %g: %w", ErrConfig, i.LossPct, i.BurstLen, err)
		}
	}
	return nil
}

// EchoConfig configures the echo scenario. The zero value means the
// defaults.
type EchoConfig struct {
	// Transports to measure, in order (default: all of AllTransports).
	Transports []string
	// Count is the number of measured round trips per transport
	// (default 2000).
	Count int
	// Warmup round trips are sent first and not recorded (default
	// min(100, Count/10)).
	Warmup int
	// Size is the payload size in bytes (default 64).
	Size int
	// Interval paces the sends: one every Interval (default 1 ms), with
	// replies collected concurrently. BackToBack instead sends the next
	// request as soon as the previous reply (or Timeout) arrives.
	Interval   time.Duration
	BackToBack bool
	// Duration caps one transport's run, counted from the moment its link
	// opens (with Rounds > 1 that includes the other transports' turns;
	// default 60 s); a run that hits it stops sending and says so in its
	// row's note.
	Duration time.Duration
	// Timeout is how long a back-to-back request waits for its reply, and
	// how long the run waits for outstanding replies after the last send
	// (default 2 s).
	Timeout time.Duration
	// Impairment is injected by proxies between client and server.
	Impairment Impairment
	// Seed seeds the proxies' random loss and jitter (default 1).
	Seed int64
	// Rounds interleaves the transports: each runs Count/Rounds round
	// trips per round, links kept open (default 1: one after the other).
	Rounds int
}

func (c EchoConfig) populate() (EchoConfig, error) {
	if len(c.Transports) == 0 {
		c.Transports = AllTransports
	}
	if c.Count == 0 {
		c.Count = 2000
	}
	if c.Warmup == 0 {
		c.Warmup = min(100, c.Count/10)
	}
	if c.Size == 0 {
		c.Size = 64
	}
	if c.Interval == 0 && !c.BackToBack {
		c.Interval = time.Millisecond
	}
	if c.BackToBack {
		c.Interval = 0
	}
	if c.Duration == 0 {
		c.Duration = 60 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Rounds == 0 {
		c.Rounds = 1
	}
	if c.Rounds < 1 || c.Rounds > c.Count ||
		c.Count < 1 || c.Warmup < 0 || c.Size < echoHeader || c.Size > 60000 || c.Interval < 0 || c.Duration < 0 || c.Timeout < 0 {
		return c, fmt.Errorf("%w: count %d warmup %d size %d interval %v", ErrConfig, c.Count, c.Warmup, c.Size, c.Interval)
	}
	return c, c.Impairment.Validate()
}

// JSON is the config as the report shows it.
func (c EchoConfig) JSON() map[string]any {
	return map[string]any{
		"transports":   c.Transports,
		"count":        c.Count,
		"warmup":       c.Warmup,
		"size":         c.Size,
		"interval":     c.Interval.String(),
		"back_to_back": c.BackToBack,
		"duration":     c.Duration.String(),
		"timeout":      c.Timeout.String(),
		"loss_pct":     c.Impairment.LossPct,
		"burst_len":    c.Impairment.BurstLen,
		"delay":        c.Impairment.Delay.String(),
		"jitter":       c.Impairment.Jitter.String(),
		"seed":         c.Seed,
		"rounds":       c.Rounds,
	}
}

// echoLink is one client connection of any transport, speaking echo.
type echoLink interface {
	// bind sets the function that receives every echoed sequence number;
	// it is called once, before the first send. onReply is always called
	// from one goroutine at a time.
	bind(onReply func(seq uint32))
	// run delivers replies until the link is closed (for links that read
	// on a goroutine of their own, it just waits for the end).
	run()
	send(seq uint32) error
	// wire returns the cumulative wire bytes the link knows of and where
	// the count comes from ("" when it has none).
	wire() (uint64, string)
	close() error
	// extra adds transport-specific figures to a result.
	extra(r *Result)
}

// RunEcho measures round trips over every configured transport and
// returns the report. With Rounds = 1 the transports run one after the
// other; with more, every transport's link stays open and the transports
// take turns, Count/Rounds round trips at a time, so that a change in the
// machine's load during the run affects every row alike.
func RunEcho(ctx context.Context, env *Env, cfg EchoConfig) (*Report, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	rep := newReport("echo", cfg.JSON())
	env.prepareKCP(ctx, rep, cfg.Transports)
	defer env.markEncryption(rep)
	runners := make([]*echoRunner, 0, len(cfg.Transports))
	defer func() {
		for _, r := range runners {
			r.abort()
		}
	}()
	var shared *Progress
	if cfg.Rounds > 1 {
		// One bar for the interleaved run: bars of their own would draw
		// over each other.
		shared = env.bar("echo (interleaved)", int64(cfg.Count*len(cfg.Transports)))
		defer shared.Stop()
	}
	open := func(t string) (*echoRunner, error) {
		bar := shared
		if bar == nil {
			bar = env.bar(fmt.Sprintf("echo %s", t), int64(cfg.Count))
		}
		r, err := openEchoRunner(ctx, env, cfg, t, bar)
		if err != nil {
			return nil, fmt.Errorf("bench: echo over %s: %w", t, err)
		}
		runners = append(runners, r)
		return r, nil
	}
	if cfg.Rounds == 1 {
		for _, t := range cfg.Transports {
			r, err := open(t)
			if err != nil {
				return rep, err
			}
			if err := r.segment(ctx, cfg.Count); err != nil {
				return rep, fmt.Errorf("bench: echo over %s: %w", t, err)
			}
			if err := r.finish(); err != nil {
				return rep, fmt.Errorf("bench: echo over %s: %w", t, err)
			}
		}
	} else {
		for _, t := range cfg.Transports {
			if _, err := open(t); err != nil {
				return rep, err
			}
		}
		for round := 0; round < cfg.Rounds; round++ {
			n := cfg.Count/cfg.Rounds + boolInt(round < cfg.Count%cfg.Rounds)
			for _, r := range runners {
				if err := r.segment(ctx, n); err != nil {
					return rep, fmt.Errorf("bench: echo over %s: %w", r.name, err)
				}
			}
		}
		for _, r := range runners {
			if err := r.finish(); err != nil {
				return rep, fmt.Errorf("bench: echo over %s: %w", r.name, err)
			}
		}
	}
	for _, r := range runners {
		rep.Results = append(rep.Results, r.res)
	}
	computeRatios(rep.Results)
	noteStreamLoss(rep, cfg.Impairment, cfg.Transports)
	return rep, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// echoRunner is one transport's echo run: its link (and proxy) stay open
// from openEchoRunner to finish; segment sends a batch of round trips.
// The calling goroutine sends; the link's reply goroutine (owned here,
// waited for by wg) records.
type echoRunner struct {
	name string
	cfg  EchoConfig
	link echoLink
	px   proxy
	bar  *Progress
	res  Result

	base   time.Time
	total  int
	next   int            // next sequence number to send
	sentAt []atomic.Int64 // ns since base, written before each send
	got    []bool         // owned by the link's reply goroutine
	hist   *Histogram     // owned by the link's reply goroutine until wg.Wait
	dups   atomic.Int64
	wg     sync.WaitGroup
	closed bool

	received   atomic.Int64 // measured replies
	warmupDone atomic.Int64 // warm-up replies
	notify     chan uint32  // the seq just received (cap 1, newest wins)
	lastRecv   atomic.Int64 // ns since base of the latest measured reply

	deadline   time.Time
	sent       int64
	truncated  bool
	elapsed    time.Duration
	wireBytes  uint64
	wireSource string
	// upBytes and downBytes split wireBytes by direction (client to
	// server, server to client) when a UDP impair proxy counts them.
	upBytes, downBytes uint64
}

func openEchoRunner(ctx context.Context, env *Env, cfg EchoConfig, t string, bar *Progress) (*echoRunner, error) {
	r := &echoRunner{name: t, cfg: cfg, bar: bar}
	r.res = newResult(t, t, cfg.Impairment)
	rt, err := openRoute(ctx, env, t, cfg.Impairment, cfg.Seed)
	if err != nil {
		return nil, err
	}
	r.px, r.res.Note = rt.px, rt.note
	if r.link, err = dialLink(ctx, env, t, rt.addr, cfg.Size); err != nil {
		rt.close() // the run's own error is the one reported
		r.bar.Stop()
		return nil, err
	}
	r.total = cfg.Warmup + cfg.Count
	r.base = time.Now()
	r.deadline = r.base.Add(cfg.Duration)
	if d, ok := ctx.Deadline(); ok && d.Before(r.deadline) {
		r.deadline = d
	}
	r.sentAt = make([]atomic.Int64, r.total)
	r.got = make([]bool, r.total)
	r.hist = NewHistogram()
	r.notify = make(chan uint32, 1)
	r.link.bind(r.onReply)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.link.run()
	}()
	// Warm up once, unrecorded, and let the warm-up replies land.
	if err := r.send(ctx, cfg.Warmup); err != nil {
		r.abort()
		return nil, err
	}
	r.waitDrain(0, min(cfg.Timeout, 500*time.Millisecond))
	return r, nil
}

// wire reads the cumulative wire byte count the run uses.
func (r *echoRunner) wire() (uint64, string) {
	if r.px != nil {
		return r.px.WireBytes(), "impair proxy"
	}
	if r.name == TransportKCPBare {
		s := kcpgo.DefaultSnmp.Copy()
		if r.link.(*kcpLink).local {
			// Both ends live in this process: what they sent is
			// everything that crossed the wire.
			return s.OutBytes, "kcp-go counters (both ends)"
		}
		return s.OutBytes + s.InBytes, "kcp-go counters (client)"
	}
	return r.link.wire()
}

// wireSplit reads the cumulative bytes each way (client to server, then
// server to client) from a UDP impair proxy; false without one.
func (r *echoRunner) wireSplit() (up, down uint64, ok bool) {
	u, ok := r.px.(*udpProxy)
	if !ok {
		return 0, 0, false
	}
	s := u.p.Stats()
	return emitted(s.Up), emitted(s.Down), true
}

// segment sends n measured round trips and waits for their replies (or
// the timeout), adding the time and wire bytes to the run's totals.
func (r *echoRunner) segment(ctx context.Context, n int) error {
	n = min(n, r.total-r.next)
	if n <= 0 {
		return nil
	}
	start := time.Since(r.base)
	w0, _ := r.wire()
	up0, down0, _ := r.wireSplit()
	if err := r.send(ctx, n); err != nil {
		return err
	}
	r.waitDrain(r.sent, r.cfg.Timeout)
	end := time.Since(r.base)
	// Throughput counts over the span in which replies arrived, not over
	// the wait for replies that were lost.
	if lr := time.Duration(r.lastRecv.Load()); lr > start {
		end = lr
	}
	r.elapsed += end - start
	w1, src := r.wire()
	r.wireBytes += w1 - w0
	if up1, down1, ok := r.wireSplit(); ok {
		r.upBytes += up1 - up0
		r.downBytes += down1 - down0
	}
	r.wireSource = src
	return nil
}

// send sends the next n sequence numbers, paced or back-to-back.
func (r *echoRunner) send(ctx context.Context, n int) error {
	cfg := r.cfg
	next := time.Since(r.base)
	for end := r.next + n; r.next < end; r.next++ {
		i := r.next
		now := time.Since(r.base)
		if r.base.Add(now).After(r.deadline) || ctx.Err() != nil {
			r.truncated = true
			r.next = r.total // no further segment
			return nil
		}
		if cfg.Interval > 0 {
			if d := next - now; d > 0 {
				time.Sleep(d)
				now = time.Since(r.base)
			} else if -d > cfg.Interval {
				next = now // running late: restart the schedule, no burst
			}
			next += cfg.Interval
		}
		r.sentAt[i].Store(int64(now))
		if err := r.link.send(uint32(i)); err != nil {
			if r.received.Load()+r.warmupDone.Load() == 0 {
				return fmt.Errorf("send %d: %w (no reply has arrived: is the %s server listening at that address?)", i, err, r.name)
			}
			return fmt.Errorf("send %d: %w", i, err)
		}
		if i >= cfg.Warmup {
			r.sent++
		}
		if cfg.Interval == 0 {
			r.waitReply(uint32(i), cfg.Timeout)
		}
	}
	return nil
}

// waitReply waits for the reply to seq, up to timeout.
func (r *echoRunner) waitReply(seq uint32, timeout time.Duration) {
	t := time.NewTimer(min(timeout, time.Until(r.deadline)+time.Millisecond))
	defer t.Stop()
	for {
		select {
		case s := <-r.notify:
			if s >= seq {
				return
			}
		case <-t.C:
			return
		}
	}
}

// waitDrain waits until want measured replies arrived (want 0: until
// every warm-up reply did), up to timeout after the call.
func (r *echoRunner) waitDrain(want int64, timeout time.Duration) {
	done := func() bool {
		if want == 0 {
			return r.warmupDone.Load() >= int64(r.cfg.Warmup)
		}
		return r.received.Load() >= want
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for !done() {
		select {
		case <-r.notify:
		case <-t.C:
			return
		}
		if time.Now().After(r.deadline) {
			return
		}
	}
}

// finish closes the link and proxy, waits for the reply goroutine and
// fills the result.
func (r *echoRunner) finish() error {
	r.bar.Stop()
	r.link.extra(&r.res)
	err := r.link.close()
	r.wg.Wait()
	if r.px != nil {
		_ = r.px.Close() // the impairment proxy ends with the run
	}
	r.closed = true
	if err != nil {
		return fmt.Errorf("closing link: %w", err)
	}
	res := &r.res
	res.Sent, res.Received = r.sent, r.received.Load()
	res.DurationS = r.elapsed.Seconds()
	res.WireBytes, res.WireSource = r.wireBytes, r.wireSource
	if r.dups.Load() > 0 {
		res.SetExtra("duplicates", float64(r.dups.Load()))
	}
	if got := res.Received; got > 0 && r.upBytes+r.downBytes > 0 {
		// B/msg is both directions; these say how it splits.
		res.SetExtra("up_bytes_per_msg", float64(r.upBytes)/float64(got))
		res.SetExtra("down_bytes_per_msg", float64(r.downBytes)/float64(got))
	}
	if r.truncated {
		res.Note = strings.TrimSpace(res.Note + " stopped at --duration before --count")
	}
	res.fill(r.hist)
	return nil
}

// abort releases the runner after an error (no-op once finished).
func (r *echoRunner) abort() {
	if r.closed {
		return
	}
	r.closed = true
	r.bar.Stop()
	_ = r.link.close() // the results are in; a close error changes none of them
	r.wg.Wait()
	if r.px != nil {
		_ = r.px.Close() // the impairment proxy ends with the run
	}
}

// onReply records one reply; the link calls it from one goroutine.
func (r *echoRunner) onReply(seq uint32) {
	now := time.Since(r.base)
	if int(seq) >= r.total {
		return
	}
	if r.got[seq] {
		r.dups.Add(1)
		return
	}
	r.got[seq] = true
	if int(seq) >= r.cfg.Warmup {
		r.hist.Record(now - time.Duration(r.sentAt[seq].Load()))
		r.lastRecv.Store(int64(now))
		r.received.Add(1)
		r.bar.Add(1)
	} else {
		r.warmupDone.Add(1)
	}
	select {
	case r.notify <- seq:
	default:
		select { // keep the newest
		case <-r.notify:
		default:
		}
		select {
		case r.notify <- seq:
		default:
		}
	}
}
