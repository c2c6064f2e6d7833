package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
)

// ConnectConfig configures the connect scenario: a bounded storm of new
// sessions. The zero value means the defaults.
type ConnectConfig struct {
	// Transports to storm (default kcp, tcp); an unreliable row counts as
	// its session transport (kcp-unreliable as kcp, webrtc-unreliable as
	// webrtc), the baselines have no handshake and are skipped.
	Transports []string
	// Sessions is the number of sessions opened per transport (default 200).
	Sessions int
	// Concurrency is the number of handshakes in flight (default 32).
	Concurrency int
	// Duration caps one transport's storm (default 60 s).
	Duration time.Duration
	// Hold keeps the sessions open and idle this long after the storm
	// before closing them; the server's RSS at the end, less its RSS
	// before the storm, over the sessions, is reported as
	// server_rss_per_session_kib (needs the server's pid). 0: no hold.
	Hold time.Duration
	// SessionsPerSocket is how many KCP sessions share one client socket
	// and event loop (default DefaultSessionsPerSocket), so that a storm
	// of thousands measures the server, not the generator's sockets.
	SessionsPerSocket int
	// Impairment and Seed as in EchoConfig.
	Impairment Impairment
	Seed       int64
}

func (c ConnectConfig) populate() (ConnectConfig, error) {
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportKCP, TransportTCP}
	}
	for _, t := range c.Transports {
		if _, err := lookup(t); err != nil {
			return c, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	c.Transports = sessionTransports(c.Transports)
	if c.Sessions == 0 {
		c.Sessions = 200
	}
	if c.Concurrency == 0 {
		c.Concurrency = 32
	}
	if c.Duration == 0 {
		c.Duration = 60 * time.Second
	}
	if c.SessionsPerSocket == 0 {
		c.SessionsPerSocket = DefaultSessionsPerSocket
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if len(c.Transports) == 0 || c.Sessions < 1 || c.Concurrency < 1 || c.Duration < 0 || c.Hold < 0 || c.SessionsPerSocket < 1 {
		return c, fmt.Errorf("%w: connect needs a tickwire transport, sessions >= 1, concurrency >= 1", ErrConfig)
	}
	return c, c.Impairment.Validate()
}

// JSON is the config as the report shows it.
func (c ConnectConfig) JSON() map[string]any {
	return map[string]any{
		"transports":  c.Transports,
		"sessions":    c.Sessions,
		"concurrency": c.Concurrency,
		"duration":    c.Duration.String(),
		"hold":        c.Hold.String(),
		"per_socket":  c.SessionsPerSocket,
		"loss_pct":    c.Impairment.LossPct,
		"burst_len":   c.Impairment.BurstLen,
		"delay":       c.Impairment.Delay.String(),
		"jitter":      c.Impairment.Jitter.String(),
		"seed":        c.Seed,
	}
}

// RunConnect opens Sessions new sessions per transport, Concurrency at a
// time, and measures the time from dialling to Welcome. Every session's
// guest token is fetched first, in a phase of its own (token_p50_us), so
// that the storm's server CPU is the handshakes' alone: with the server's
// pid, server_cpu_us_per_handshake is its CPU over the storm divided by
// the sessions opened, and handshakes_per_core_s the rate one core would
// sustain at that cost. All sessions stay open until the storm ends
// (and Hold after it), then close. Sent counts attempts, Received
// successful handshakes; PerSecond is handshakes per second over the
// storm.
func RunConnect(ctx context.Context, env *Env, cfg ConnectConfig) (*Report, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	rep := newReport("connect", cfg.JSON())
	env.prepareKCP(ctx, rep, cfg.Transports)
	defer env.markEncryption(rep)
	for _, t := range cfg.Transports {
		r, err := runConnectTransport(ctx, env, cfg, t)
		if err != nil {
			return rep, fmt.Errorf("bench: connect over %s: %w", t, err)
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}

func runConnectTransport(ctx context.Context, env *Env, cfg ConnectConfig, t string) (Result, error) {
	res := newResult(t, t, cfg.Impairment)
	rt, err := openRoute(ctx, env, t, cfg.Impairment, cfg.Seed)
	if err != nil {
		return res, err
	}
	defer rt.close()
	addr, px := rt.addr, rt.px
	res.Note = rt.note
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+cfg.Hold)
	defer cancel()
	fl, err := openFleet(env, t, addr, cfg.SessionsPerSocket)
	if err != nil {
		return res, err
	}
	defer func() { _ = fl.close() }() // after the sessions closed; a socket error changes no result

	var (
		mu       sync.Mutex // guards the fields below
		hist     = NewHistogram()
		tokHist  = NewHistogram()
		tokens   = make([]string, cfg.Sessions)
		clients  []*client.Client
		failures = map[string]int{}
	)
	fail := func(err error) {
		mu.Lock()
		failures[errKey(err)]++
		mu.Unlock()
	}
	// Phase 1: a guest token per session.
	_ = parallel(ctx, cfg.Sessions, cfg.Concurrency, func(ctx context.Context, i int) error {
		t0 := time.Now()
		tok, err := env.Target.api().GuestToken(ctx, fmt.Sprintf("storm%d", i))
		if err != nil {
			fail(err)
			return nil // the session is counted as failed; the others go on
		}
		mu.Lock()
		tokHist.Record(time.Since(t0))
		mu.Unlock()
		tokens[i] = tok
		return nil
	})

	// The sealed handshakes' client keys, made before the storm too (one
	// of the client's two X25519 per handshake): the storm measures the
	// server, not the generator's key generation.
	if err := fl.prepareKeys(cfg.Sessions); err != nil {
		return res, err
	}

	// Phase 2: the storm, dials only.
	us := newUsageSampler(env.Target)
	us.start()
	bar := env.bar(fmt.Sprintf("connect %s", t), int64(cfg.Sessions))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	var lastOK atomic.Int64
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(cfg.Sessions) || ctx.Err() != nil {
					return
				}
				if tokens[i] == "" {
					bar.Add(1)
					continue
				}
				o := dialOptions(env, t, addr, tokens[i], "tickbench-connect")
				o.Dial = func(ctx context.Context) (netcode.Conn, error) { return fl.dial(ctx, int(i), tokens[i]) }
				o.PingInterval = -1
				t1 := time.Now()
				c, err := client.Dial(ctx, o)
				t2 := time.Now()
				mu.Lock()
				if err != nil {
					failures[errKey(err)]++
				} else {
					hist.Record(t2.Sub(t1))
					clients = append(clients, c)
					lastOK.Store(int64(t2.Sub(start)))
				}
				mu.Unlock()
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	us.stop()
	bar.Stop()
	attempted := min(next.Load(), int64(cfg.Sessions))
	elapsed := time.Duration(lastOK.Load())
	if elapsed == 0 {
		elapsed = time.Since(start)
	}
	if u := us.result(); u != nil && len(clients) > 0 {
		res.SetExtra("server_cpu_pct", u.CPUPct)
		perHS := u.CPUS / float64(len(clients))
		res.SetExtra("server_cpu_us_per_handshake", perHS*1e6)
		if perHS > 0 {
			res.SetExtra("handshakes_per_core_s", 1/perHS)
		}
	}
	// Phase 3: hold the sessions idle, then read the server's memory.
	if cfg.Hold > 0 && len(clients) > 0 {
		waitUntil(ctx, cfg.Hold, func() bool { return false })
		hs := newUsageSampler(env.Target)
		hs.start()
		hs.stop()
		if u, b := hs.result(), us.result(); u != nil && b != nil && !env.Target.Local {
			before := float64(us.a.RSSBytes)
			res.SetExtra("server_rss_per_session_kib", (float64(u.RSSBytes)-before)/float64(len(clients))/1024)
			res.SetExtra("server_rss_mib", float64(u.RSSBytes)/(1<<20))
		}
	}
	// Close every session, concurrently and bounded like the storm.
	closeAll(clients, cfg.Concurrency)

	res.Sent, res.Received = attempted, int64(len(clients))
	res.DurationS = elapsed.Seconds()
	res.fill(hist)
	if tokHist.Count() > 0 {
		res.SetExtra("token_p50_us", tokHist.QuantileUs(50))
		res.SetExtra("token_p99_us", tokHist.QuantileUs(99))
	}
	for k, n := range failures {
		res.Note += fmt.Sprintf(" %d× %s;", n, k)
	}
	if px != nil {
		res.WireBytes, res.WireSource = px.WireBytes(), "impair proxy"
		if res.Received > 0 {
			res.WireBytesPerMsg = float64(res.WireBytes) / float64(res.Received)
		}
	}
	return res, nil
}

// errKey shortens an error for the failure tally.
func errKey(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

func closeAll(cs []*client.Client, par int) {
	ch := make(chan *client.Client)
	var wg sync.WaitGroup
	for i := 0; i < max(par, 1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				_ = c.Close() // Close always returns nil; it waits for the client's goroutines
			}
		}()
	}
	for _, c := range cs {
		ch <- c
	}
	close(ch)
	wg.Wait()
}
