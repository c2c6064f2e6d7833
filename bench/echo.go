package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kcpgo "github.com/xtaci/kcp-go/v5"
)

// Transport names, as --transports spells them.
const (
	TransportKCP           = "kcp"            // tickwire KCP, reliable channel
	TransportKCPUnreliable = "kcp-unreliable" // tickwire KCP, unreliable channel
	TransportTCP           = "tcp"            // tickwire framed TCP
	TransportUDPRaw        = "udp-raw"        // baseline: plain UDP echo
	TransportKCPBare       = "kcp-bare"       // baseline: kcp-go alone, same profile
)

// AllTransports lists every transport in report order.
var AllTransports = []string{TransportUDPRaw, TransportKCPBare, TransportKCP, TransportKCPUnreliable, TransportTCP}

// ErrUnknownTransport names a transport tickbench does not know.
var ErrUnknownTransport = errors.New("bench: unknown transport")

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
	LossPct float64       // random loss per datagram, percent, each way
	Delay   time.Duration // one-way added delay, each way
	Jitter  time.Duration // one-way random extra delay, each way
}

// None reports whether nothing is injected (no proxy is put in the path).
func (i Impairment) None() bool { return i.LossPct == 0 && i.Delay == 0 && i.Jitter == 0 }

// Label names the setting in tables and plots ("none", "loss 5%", ...).
func (i Impairment) Label() string {
	if i.None() {
		return "none"
	}
	var parts []string
	if i.LossPct != 0 {
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

func (i Impairment) validate() error {
	if i.LossPct < 0 || i.LossPct >= 100 || i.Delay < 0 || i.Jitter < 0 {
		return fmt.Errorf("%w: impairment loss %g%% delay %v jitter %v", ErrConfig, i.LossPct, i.Delay, i.Jitter)
	}
	return nil
}

// ErrConfig reports an invalid scenario configuration.
var ErrConfig = errors.New("bench: invalid config")

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
	// Duration caps one transport's run (default 60 s); a run that hits
	// it stops sending and says so in its row's note.
	Duration time.Duration
	// Timeout is how long a back-to-back request waits for its reply, and
	// how long the run waits for outstanding replies after the last send
	// (default 2 s).
	Timeout time.Duration
	// Impairment is injected by proxies between client and server.
	Impairment Impairment
	// Seed seeds the proxies' random loss and jitter (default 1).
	Seed int64
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
	if c.Count < 1 || c.Warmup < 0 || c.Size < echoHeader || c.Size > 60000 || c.Interval < 0 || c.Duration < 0 || c.Timeout < 0 {
		return c, fmt.Errorf("%w: count %d warmup %d size %d interval %v", ErrConfig, c.Count, c.Warmup, c.Size, c.Interval)
	}
	return c, c.Impairment.validate()
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
		"delay":        c.Impairment.Delay.String(),
		"jitter":       c.Impairment.Jitter.String(),
		"seed":         c.Seed,
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

// RunEcho measures round trips over every configured transport, one
// after the other, and returns the report.
func RunEcho(ctx context.Context, env *Env, cfg EchoConfig) (*Report, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	rep := newReport("echo", cfg.JSON())
	for _, t := range cfg.Transports {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r, err := runEchoTransport(ctx, env, cfg, t)
		if err != nil {
			return rep, fmt.Errorf("bench: echo over %s: %w", t, err)
		}
		rep.Results = append(rep.Results, r)
	}
	computeRatios(rep.Results)
	if cfg.Impairment.LossPct > 0 {
		for _, t := range cfg.Transports {
			if t == TransportTCP {
				rep.Notes = append(rep.Notes, "tcp: the TCP proxy can only delay and throttle a stream; packet loss is not injected on tcp, so its row shows the delay/jitter setting only, not loss")
				break
			}
		}
	}
	return rep, nil
}

func runEchoTransport(ctx context.Context, env *Env, cfg EchoConfig, t string) (Result, error) {
	res := Result{Name: t, Impairment: cfg.Impairment.Label(), LossPct: cfg.Impairment.LossPct,
		DelayUs: float64(cfg.Impairment.Delay.Microseconds()), JitterUs: float64(cfg.Impairment.Jitter.Microseconds())}
	addr, err := env.Target.addrFor(t)
	if err != nil {
		return res, err
	}
	var px proxy
	if !cfg.Impairment.None() {
		px, err = startProxy(ctx, env, t, addr, cfg.Impairment, cfg.Seed)
		if err != nil {
			return res, fmt.Errorf("starting impairment proxy: %w", err)
		}
		defer px.Close()
		addr = px.Addr()
		if r := px.Removed(); r != "" {
			res.Note = "tcp proxy can only delay/throttle: " + r
		}
	}
	link, err := dialLink(ctx, env, t, addr, cfg.Size)
	if err != nil {
		return res, err
	}
	wire := func() (uint64, string) {
		if px != nil {
			return px.WireBytes(), "impair proxy"
		}
		if t == TransportKCPBare {
			s := kcpgo.DefaultSnmp.Copy()
			if env.Target.Local {
				// Both ends live in this process: what they sent is
				// everything that crossed the wire.
				return s.OutBytes, "kcp-go counters (both ends)"
			}
			return s.OutBytes + s.InBytes, "kcp-go counters (client)"
		}
		return link.wire()
	}
	var bar *Progress
	if env.Progress != nil {
		bar = env.Progress(fmt.Sprintf("echo %s", t), int64(cfg.Count))
	}
	loop := &echoLoop{cfg: cfg, link: link, bar: bar, wire: wire}
	err = loop.run(ctx)
	bar.Stop()
	link.extra(&res)
	if cerr := link.close(); err == nil && cerr != nil && !errors.Is(cerr, ErrLinkClosed) {
		err = cerr
	}
	loop.wg.Wait()
	if err != nil {
		return res, err
	}
	res.Sent, res.Received = loop.sent, loop.received.Load()
	res.DurationS = loop.elapsed.Seconds()
	res.WireBytes, res.WireSource = loop.wireBytes, loop.wireSource
	if loop.dups.Load() > 0 {
		res.SetExtra("duplicates", float64(loop.dups.Load()))
	}
	if loop.truncated {
		res.Note = strings.TrimSpace(res.Note + " stopped at --duration before --count")
	}
	res.fill(loop.hist)
	return res, nil
}

// ErrLinkClosed is what a link returns from recv after close.
var ErrLinkClosed = errors.New("bench: link closed")

// echoLoop runs one transport's round trips: the calling goroutine sends,
// one receiver goroutine (owned here, waited for by wg) records.
type echoLoop struct {
	cfg  EchoConfig
	link echoLink
	bar  *Progress
	wire func() (uint64, string)

	base   time.Time
	total  int
	sentAt []atomic.Int64 // ns since base, written before each send
	got    []bool         // owned by the link's reply goroutine
	hist   *Histogram     // owned by the link's reply goroutine until wg.Wait
	dups   atomic.Int64
	wg     sync.WaitGroup

	received   atomic.Int64 // measured replies
	warmupDone atomic.Int64 // warm-up replies
	notify     chan uint32  // back-to-back: the seq just received (cap 1, newest wins)
	lastRecv   atomic.Int64 // ns since base of the latest measured reply

	sent       int64
	truncated  bool
	elapsed    time.Duration
	wireBytes  uint64
	wireSource string
}

func (l *echoLoop) run(ctx context.Context) error {
	cfg := l.cfg
	total := cfg.Warmup + cfg.Count
	l.base = time.Now()
	l.sentAt = make([]atomic.Int64, total)
	l.got = make([]bool, total)
	l.hist = NewHistogram()
	l.notify = make(chan uint32, 1)
	l.total = total
	l.link.bind(l.onReply)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.link.run()
	}()

	deadline := time.Now().Add(cfg.Duration)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var measureStart time.Duration
	var wireStart uint64
	next := time.Duration(0)
	for i := 0; i < total; i++ {
		if i == cfg.Warmup {
			// Let the warm-up replies land so that they do not count.
			l.waitDrain(int64(0), cfg.Warmup, deadline, min(cfg.Timeout, 500*time.Millisecond))
			measureStart = time.Since(l.base)
			wireStart, _ = l.wire()
			next = measureStart
		}
		now := time.Since(l.base)
		if l.base.Add(now).After(deadline) || ctx.Err() != nil {
			l.truncated = true
			break
		}
		if cfg.Interval > 0 {
			if d := next - now; d > 0 {
				time.Sleep(d)
				now = time.Since(l.base)
			} else if -d > cfg.Interval {
				next = now // running late: restart the schedule, no burst
			}
			next += cfg.Interval
		}
		l.sentAt[i].Store(int64(now))
		if err := l.link.send(uint32(i)); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		if i >= cfg.Warmup {
			l.sent++
		}
		if cfg.Interval == 0 {
			l.waitReply(uint32(i), cfg.Timeout, deadline)
		}
	}
	l.waitDrain(l.sent, total, deadline, cfg.Timeout)
	end := time.Since(l.base)
	// Throughput counts over the span in which replies arrived, not over
	// the wait for replies that were lost.
	if lr := time.Duration(l.lastRecv.Load()); lr > measureStart {
		end = lr
	}
	l.elapsed = end - measureStart
	wb, src := l.wire()
	l.wireBytes, l.wireSource = wb-wireStart, src
	return nil
}

// waitReply waits for the reply to seq, up to timeout.
func (l *echoLoop) waitReply(seq uint32, timeout time.Duration, deadline time.Time) {
	t := time.NewTimer(min(timeout, time.Until(deadline)+time.Millisecond))
	defer t.Stop()
	for {
		select {
		case s := <-l.notify:
			if s >= seq {
				return
			}
		case <-t.C:
			return
		}
	}
}

// waitDrain waits until want measured replies arrived (or, during
// warm-up, until every warm-up reply did), up to timeout after the last
// progress.
func (l *echoLoop) waitDrain(want int64, upto int, deadline time.Time, timeout time.Duration) {
	done := func() bool {
		if want == 0 {
			return l.warmupDone.Load() >= int64(upto)
		}
		return l.received.Load() >= want
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for !done() {
		select {
		case <-l.notify:
		case <-t.C:
			return
		}
		if time.Now().After(deadline) {
			return
		}
	}
}

// onReply records one reply; the link calls it from one goroutine.
func (l *echoLoop) onReply(seq uint32) {
	now := time.Since(l.base)
	if int(seq) >= l.total {
		return
	}
	if l.got[seq] {
		l.dups.Add(1)
		return
	}
	l.got[seq] = true
	if int(seq) >= l.cfg.Warmup {
		l.hist.Record(now - time.Duration(l.sentAt[seq].Load()))
		l.lastRecv.Store(int64(now))
		l.received.Add(1)
		l.bar.Add(1)
	} else {
		l.warmupDone.Add(1)
	}
	select {
	case l.notify <- seq:
	default:
		select { // keep the newest
		case <-l.notify:
		default:
		}
		select {
		case l.notify <- seq:
		default:
		}
	}
}
