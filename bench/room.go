package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// RoomConfig configures the room scenario. The zero value means the
// defaults.
type RoomConfig struct {
	// Transports, one run each (default kcp). kcp-unreliable sends inputs
	// on the unreliable channel; the baselines have no rooms and are
	// rejected.
	Transports []string
	// Rooms x Clients (default 50 x 8).
	Rooms, Clients int
	// TickHz is the rooms' tick rate (default 30).
	TickHz int
	// InputHz is each client's input rate (default 30).
	InputHz int
	// Size is the input payload size in bytes (default 64, at least 16).
	Size int
	// Warmup is sent but not measured (default 1 s); Duration is the
	// measured phase (default 10 s).
	Warmup, Duration time.Duration
	// JoinConcurrency bounds the dials and joins in flight (default 32).
	JoinConcurrency int
	// Impairment and Seed as in EchoConfig.
	Impairment Impairment
	Seed       int64
}

// setupTimeout bounds the connect and join phases of a room or chat run.
const setupTimeout = 2 * time.Minute

// drainMax bounds the wait for the last deliveries after the inputs stop.
const drainMax = 10 * time.Second

// roomHeader is what every bench input carries before its padding: the
// send time (ns since the generator's base, 8 bytes), the sender's index
// (4) and a measured flag (1).
const roomHeader = 13

func (c RoomConfig) populate() (RoomConfig, error) {
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportKCP}
	}
	if err := tickwireOnly("room", c.Transports); err != nil {
		return c, err
	}
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Rooms, 50)
	def(&c.Clients, 8)
	def(&c.TickHz, 30)
	def(&c.InputHz, 30)
	def(&c.Size, 64)
	def(&c.JoinConcurrency, 32)
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Rooms < 1 || c.Clients < 1 || c.TickHz < 1 || c.TickHz > frame.MaxRoomTickRate || c.InputHz < 1 || c.InputHz > 1000 ||
		c.Size < 16 || c.Size > frame.MaxRoomInput || c.Warmup < 0 || c.Duration <= 0 || c.JoinConcurrency < 1 {
		return c, fmt.Errorf("%w: rooms %d clients %d tick %d Hz input %d Hz size %d", ErrConfig, c.Rooms, c.Clients, c.TickHz, c.InputHz, c.Size)
	}
	return c, c.Impairment.Validate()
}

// JSON is the config as the report shows it.
func (c RoomConfig) JSON() map[string]any {
	return map[string]any{
		"transports":       c.Transports,
		"rooms":            c.Rooms,
		"clients":          c.Clients,
		"tick_hz":          c.TickHz,
		"input_hz":         c.InputHz,
		"size":             c.Size,
		"warmup":           c.Warmup.String(),
		"duration":         c.Duration.String(),
		"join_concurrency": c.JoinConcurrency,
		"loss_pct":         c.Impairment.LossPct,
		"burst_len":        c.Impairment.BurstLen,
		"delay":            c.Impairment.Delay.String(),
		"jitter":           c.Impairment.Jitter.String(),
		"seed":             c.Seed,
	}
}

// RunRoom fills Rooms relay rooms with Clients clients each, has every
// client send inputs at InputHz, and measures, on the generator's own
// clock, the time from sending an input to receiving the tick broadcast
// that carries it, at every member. Sent counts expected deliveries
// (measured inputs x room size), Received actual ones.
func RunRoom(ctx context.Context, env *Env, cfg RoomConfig) (*Report, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	rep := newReport("room", cfg.JSON())
	for _, t := range cfg.Transports {
		r, usage, err := runRoomTransport(ctx, env, cfg, t)
		if err != nil {
			return rep, fmt.Errorf("bench: room over %s: %w", t, err)
		}
		rep.Results = append(rep.Results, r)
		if usage != nil {
			rep.Server = usage
		}
	}
	noteStreamLoss(rep, cfg.Impairment, cfg.Transports)
	return rep, nil
}

// roomClient is one simulated player.
type roomClient struct {
	idx     uint32
	c       *client.Client
	room    *client.Room
	roomIdx int
	ch      netcode.Channel
	data    []byte // input buffer, used by its sender worker only
	failed  bool   // a send failed: the client stopped sending (sender worker only)

	// Owned by the client's reader goroutine (the Handler) until Close.
	dec  *frame.Decoder
	tick frame.RoomTick
	hist *Histogram

	delivered atomic.Int64 // measured inputs received in ticks
	sent      atomic.Int64 // measured inputs sent
	badTicks  atomic.Int64
}

func (rc *roomClient) handle(base time.Time, m client.Message) {
	if m.Kind != frame.KindRoomTick {
		return
	}
	now := time.Since(base)
	if err := rc.dec.Decode(m.Data, &rc.tick); err != nil {
		rc.badTicks.Add(1)
		return
	}
	for i := range rc.tick.Inputs {
		d := rc.tick.Inputs[i].Data
		if len(d) < roomHeader || d[12] != 1 {
			continue
		}
		sent := time.Duration(binary.BigEndian.Uint64(d))
		rc.hist.Record(now - sent)
		rc.delivered.Add(1)
	}
}

func runRoomTransport(ctx context.Context, env *Env, cfg RoomConfig, t string) (Result, *ProcUsage, error) {
	res := newResult(t, t, cfg.Impairment)
	rt, err := openRoute(ctx, env, t, cfg.Impairment, cfg.Seed)
	if err != nil {
		return res, nil, err
	}
	defer rt.close()
	addr, px := rt.addr, rt.px
	res.Note = rt.note
	base := time.Now()
	n := cfg.Rooms * cfg.Clients
	clients := make([]*roomClient, n)
	ch := channelOf(t)
	defer func() {
		var live []*client.Client
		for _, rc := range clients {
			if rc != nil && rc.c != nil {
				live = append(live, rc.c)
			}
		}
		closeAll(live, cfg.JoinConcurrency)
	}()

	// Phase 1: connect every client. Setup (connect and join) is bounded
	// on its own, so that a server that stops answering ends the run.
	setupCtx, cancelSetup := context.WithTimeout(ctx, setupTimeout)
	defer cancelSetup()
	bar := env.bar(fmt.Sprintf("room %s: connect", t), int64(n))
	err = parallel(setupCtx, n, cfg.JoinConcurrency, func(ctx context.Context, i int) error {
		rc := &roomClient{idx: uint32(i), roomIdx: i / cfg.Clients, ch: ch, data: make([]byte, cfg.Size), dec: frame.NewDecoder(), hist: NewHistogram()}
		tok, err := client.GuestToken(ctx, env.Target.httpBase(), fmt.Sprintf("r%dc%d", rc.roomIdx, i%cfg.Clients))
		if err != nil {
			return fmt.Errorf("guest token: %w", err)
		}
		o := dialOptions(env, t, addr, tok, "tickbench-room")
		o.Handler = func(m client.Message) { rc.handle(base, m) }
		c, err := dialSession(ctx, o)
		if err != nil {
			return err
		}
		rc.c = c
		clients[i] = rc
		bar.Add(1)
		return nil
	})
	bar.Stop()
	if err != nil {
		return res, nil, err
	}

	// Phase 2: the first client of each room creates it, the others join.
	joinHist := NewHistogram()
	var jmu sync.Mutex // guards joinHist
	join := func(ctx context.Context, rc *roomClient, create func(context.Context) (*client.Room, error)) error {
		t0 := time.Now()
		r, err := create(ctx)
		if err != nil {
			return fmt.Errorf("room %d: %w", rc.roomIdx, err)
		}
		d := time.Since(t0)
		jmu.Lock()
		joinHist.Record(d)
		jmu.Unlock()
		rc.room = r
		return nil
	}
	bar = env.bar(fmt.Sprintf("room %s: join", t), int64(n))
	err = parallel(setupCtx, cfg.Rooms, cfg.JoinConcurrency, func(ctx context.Context, r int) error {
		rc := clients[r*cfg.Clients]
		err := join(ctx, rc, func(ctx context.Context) (*client.Room, error) {
			return rc.c.CreateRoom(ctx, client.RoomOptions{Type: "relay", Capacity: cfg.Clients, TickRate: cfg.TickHz, Private: true})
		})
		bar.Add(1)
		return err
	})
	if err == nil {
		err = parallel(setupCtx, n, cfg.JoinConcurrency, func(ctx context.Context, i int) error {
			if i%cfg.Clients == 0 {
				return nil
			}
			rc := clients[i]
			id := clients[rc.roomIdx*cfg.Clients].room.ID()
			err := join(ctx, rc, func(ctx context.Context) (*client.Room, error) { return rc.c.JoinRoom(ctx, id) })
			bar.Add(1)
			return err
		})
	}
	bar.Stop()
	if err != nil {
		return res, nil, err
	}

	// Phase 3: send inputs; measure after the warm-up.
	tickInterval := time.Second / time.Duration(cfg.TickHz)
	sampler := newUsageSampler(env.Target)
	measureFrom := time.Since(base) + cfg.Warmup
	measureTo := measureFrom + cfg.Duration
	bar = env.bar(fmt.Sprintf("room %s: run", t), int64((cfg.Warmup+cfg.Duration)/time.Millisecond))
	var startSample sync.Once
	failedClients, sendErr := runSenders(ctx, base, clients, cfg.InputHz, measureFrom, measureTo, func(now time.Duration) {
		if now >= measureFrom {
			startSample.Do(sampler.start)
		}
		bar.Add(1)
	})
	sampler.stop()
	bar.Stop()
	// Let the last ticks land: one tick, the path's delay, and slack.
	drain := 2*tickInterval + 2*(cfg.Impairment.Delay+cfg.Impairment.Jitter) + time.Second
	var expected int64
	want := func() (got int64) {
		for _, rc := range clients {
			got += rc.delivered.Load()
		}
		return got
	}
	perRoom := make([]int64, cfg.Rooms)
	for _, rc := range clients {
		perRoom[rc.roomIdx] += rc.sent.Load()
	}
	for _, s := range perRoom {
		expected += s * int64(cfg.Clients)
	}
	// Wait for everything, or until deliveries stop progressing for the
	// drain time (bounded by drainMax): what is still missing then is lost.
	last, lastChange := want(), time.Now()
	waitUntil(ctx, drainMax, func() bool {
		got := want()
		if got != last {
			last, lastChange = got, time.Now()
		}
		return got >= expected || time.Since(lastChange) > drain
	})

	// Close every client (waits for their reader goroutines) before
	// reading the histograms they own.
	live := make([]*client.Client, 0, n)
	for _, rc := range clients {
		live = append(live, rc.c)
	}
	stats := make([]netcode.Stats, n)
	for i, rc := range clients {
		stats[i] = rc.c.Stats()
	}
	closeAll(live, cfg.JoinConcurrency)
	for _, rc := range clients {
		rc.c = nil
	}
	if failedClients == int64(n) {
		return res, nil, sendErr
	}
	if failedClients > 0 {
		res.SetExtra("failed_clients", float64(failedClients))
		res.Note = strings.TrimSpace(res.Note + " " + firstLine(sendErr.Error()))
	}

	hist := NewHistogram()
	var bad int64
	for _, rc := range clients {
		hist.Merge(rc.hist)
		bad += rc.badTicks.Load()
	}
	res.Sent, res.Received = expected, want()
	res.DurationS = cfg.Duration.Seconds()
	res.fill(hist)
	res.SetExtra("tick_interval_us", float64(tickInterval.Microseconds()))
	res.SetExtra("join_p50_us", joinHist.QuantileUs(50))
	res.SetExtra("join_p99_us", joinHist.QuantileUs(99))
	rate := float64(expected) / float64(cfg.Clients) / cfg.Duration.Seconds()
	res.SetExtra("inputs_per_s", rate)
	if want := float64(n * cfg.InputHz); rate < 0.95*want {
		res.Note = strings.TrimSpace(res.Note + fmt.Sprintf(" the generator sent %.0f%% of the configured input rate: this machine is overloaded and the latencies include its queueing;", 100*rate/want))
	}
	if bad > 0 {
		res.SetExtra("bad_ticks", float64(bad))
	}
	var wire uint64
	var src string
	if px != nil {
		wire, src = px.WireBytes(), "impair proxy (whole run)"
	} else {
		for _, s := range stats {
			wire += s.BytesSent + s.BytesRecv
		}
		src = "client transport stats (whole run)"
	}
	res.WireBytes, res.WireSource = wire, src
	if res.Received > 0 {
		res.WireBytesPerMsg = float64(wire) / float64(res.Received)
	}
	u := sampler.result()
	if u != nil {
		res.SetExtra("server_cpu_pct", u.CPUPct)
		res.SetExtra("server_rss_mib", float64(u.RSSBytes)/(1<<20))
	}
	if g := sampler.generator(); g != nil {
		res.SetExtra("generator_cpu_pct", g.CPUPct)
	}
	return res, u, nil
}

// runSenders has every client send one input per 1/inputHz, with the
// clients' phases spread evenly over the period, from GOMAXPROCS worker
// goroutines stepping in 1 ms slots, until measureTo. Inputs sent in
// [measureFrom, measureTo) are marked measured. tick is called by worker
// 0 once per slot.
//
// A client whose send fails stops sending; runSenders returns the number
// of such clients and the first error of each worker.
func runSenders(ctx context.Context, base time.Time, clients []*roomClient, inputHz int, measureFrom, measureTo time.Duration, tick func(now time.Duration)) (int64, error) {
	var failed atomic.Int64
	period := time.Second / time.Duration(inputHz)
	slots := max(1, int(period/time.Millisecond))
	slotDur := period / time.Duration(slots)
	workers := min(runtime.GOMAXPROCS(0), len(clients))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		buckets := make([][]*roomClient, slots)
		for i := w; i < len(clients); i += workers {
			s := i * slots / len(clients)
			buckets[s] = append(buckets[s], clients[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Since(base)
			for slot := 0; ; slot = (slot + 1) % slots {
				now := time.Since(base)
				if now >= measureTo || ctx.Err() != nil {
					return
				}
				if d := next - now; d > 0 {
					time.Sleep(d)
					now = time.Since(base)
				} else if -d > period {
					next = now // running late: restart the schedule, no burst
				}
				next += slotDur
				measured := now >= measureFrom
				for _, rc := range buckets[slot] {
					// A reliable send can block up to the transport's write
					// timeout (a server that stopped acknowledging): stop at
					// the end of the run, not after every client's timeout.
					if time.Since(base) >= measureTo || ctx.Err() != nil {
						break
					}
					if rc.failed {
						continue
					}
					binary.BigEndian.PutUint64(rc.data, uint64(time.Since(base)))
					binary.BigEndian.PutUint32(rc.data[8:], rc.idx)
					rc.data[12] = 0
					if measured {
						rc.data[12] = 1
					}
					if _, err := rc.room.SendInput(rc.ch, rc.data); err != nil {
						// A load test reports what broke and goes on:
						// this client stops sending, the others carry on.
						rc.failed = true
						if errs[w] == nil {
							errs[w] = fmt.Errorf("client %d: send input: %w", rc.idx, err)
						}
						failed.Add(1)
						continue
					}
					if measured {
						rc.sent.Add(1)
					}
				}
				if w == 0 && tick != nil {
					tick(now)
				}
			}
		}()
	}
	wg.Wait()
	return failed.Load(), errors.Join(errs...)
}

// parallel runs f(i) for i in [0, n) with at most par in flight and
// returns the first error (the others are cancelled).
func parallel(ctx context.Context, n, par int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(par, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// waitUntil polls cond every 10 ms until it holds, d passes or ctx ends;
// the caller reads what arrived either way.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) {
	deadline := time.Now().Add(d)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cond() && time.Now().Before(deadline) {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// usageSampler reads /proc for the server (and this process) at the
// start and end of the measured phase.
type usageSampler struct {
	pid, self int
	scope     string
	a, b      ProcSnapshot
	ga, gb    ProcSnapshot
	ok        bool
	mu        sync.Mutex // guards everything above
}

func newUsageSampler(t Target) *usageSampler {
	s := &usageSampler{pid: t.ServerPID, self: os.Getpid(), scope: "server"}
	if t.Local {
		s.pid, s.scope = s.self, "server+generator (in-process)"
	}
	return s
}

func (s *usageSampler) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pid <= 0 {
		return
	}
	var err1, err2 error
	s.a, err1 = ReadProc(s.pid)
	s.ga, err2 = ReadProc(s.self)
	s.ok = err1 == nil && err2 == nil
}

func (s *usageSampler) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ok {
		return
	}
	var err1, err2 error
	s.b, err1 = ReadProc(s.pid)
	s.gb, err2 = ReadProc(s.self)
	s.ok = err1 == nil && err2 == nil
}

func (s *usageSampler) result() *ProcUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ok || s.b.At.IsZero() {
		return nil
	}
	u := Usage(s.pid, s.scope, s.a, s.b)
	return &u
}

// generator is this process's usage when the server is another process.
func (s *usageSampler) generator() *ProcUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ok || s.gb.At.IsZero() || s.pid == s.self {
		return nil
	}
	u := Usage(s.self, "generator", s.ga, s.gb)
	return &u
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
