package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// RoomConfig configures the room scenario. The zero value means the
// defaults.
type RoomConfig struct {
	// Transports, one run each (default kcp). kcp-unreliable sends inputs
	// on the unreliable channel; udp-raw drives the udp-raw room relay
	// (the floor of the same workload: roomraw.go); kcp-bare has no rooms
	// and is rejected.
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
	// SessionsPerSocket is how many sessions share one client socket and
	// its event loop on a transport that has them (default
	// DefaultSessionsPerSocket); see fleet.
	SessionsPerSocket int
	// Impairment and Seed as in EchoConfig.
	Impairment Impairment
	Seed       int64
	// CPUProfile, when set, is a file to write a CPU profile of this
	// process during the measured phase to (pprof format). With several
	// transports each gets its own file, the transport's name inserted
	// before the extension.
	CPUProfile string
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
	if err := roomTransports(c.Transports); err != nil {
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
	def(&c.SessionsPerSocket, DefaultSessionsPerSocket)
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
		c.Size < 16 || c.Size > frame.MaxRoomInput || c.Warmup < 0 || c.Duration <= 0 || c.JoinConcurrency < 1 || c.SessionsPerSocket < 1 {
		return c, fmt.Errorf("%w: rooms %d clients %d tick %d Hz input %d Hz size %d", ErrConfig, c.Rooms, c.Clients, c.TickHz, c.InputHz, c.Size)
	}
	return c, c.Impairment.Validate()
}

// JSON is the config as the report shows it.
func (c RoomConfig) JSON() map[string]any {
	return map[string]any{
		"transports":          c.Transports,
		"rooms":               c.Rooms,
		"clients":             c.Clients,
		"tick_hz":             c.TickHz,
		"input_hz":            c.InputHz,
		"size":                c.Size,
		"warmup":              c.Warmup.String(),
		"duration":            c.Duration.String(),
		"join_concurrency":    c.JoinConcurrency,
		"sessions_per_socket": c.SessionsPerSocket,
		"loss_pct":            c.Impairment.LossPct,
		"burst_len":           c.Impairment.BurstLen,
		"delay":               c.Impairment.Delay.String(),
		"jitter":              c.Impairment.Jitter.String(),
		"seed":                c.Seed,
	}
}

// RunRoom fills Rooms relay rooms with Clients clients each, has every
// client send inputs at InputHz, and measures, on the generator's own
// clock, the time from sending an input to receiving the tick broadcast
// that carries it, at every member. Sent counts expected deliveries
// (measured inputs x room size), Received actual ones.
//
// On a cluster (Env.Nodes) the players are spread over the nodes (see
// openRoomNodes); each room's first player creates it by join-or-create
// (relay type, a label of this run's) on its node, and the others join
// it by id from theirs: those on another node follow the redirect to the
// owner. The row is "<transport>/xnode", with the redirects followed and
// the time of a redirected join (redirect_join_p50_us/p99).
func RunRoom(ctx context.Context, env *Env, cfg RoomConfig) (*Report, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	conf := cfg.JSON()
	conf["nodes"] = max(1, len(env.Nodes))
	rep := newReport("room", conf)
	nodes := env.nodes(ctx, rep, cfg.Transports)
	defer env.markEncryption(rep)
	for _, t := range cfg.Transports {
		var r Result
		var usage *ProcUsage
		switch {
		case t != TransportUDPRaw:
			r, usage, err = runRoomTransport(ctx, env, nodes, cfg, t)
		case len(nodes) > 1:
			err = fmt.Errorf("%w: the udp-raw room relay is one server, not a cluster's", ErrConfig)
		default:
			r, usage, err = runRoomRaw(ctx, env, cfg, t)
		}
		if err != nil {
			return rep, fmt.Errorf("bench: room over %s: %w", t, err)
		}
		rep.Results = append(rep.Results, r)
		if usage != nil {
			rep.Server = usage
		}
	}
	noteStreamLoss(rep, cfg.Impairment, cfg.Transports)
	computeRatios(rep.Results)
	noteFloor(rep)
	return rep, nil
}

// noteFloor says in the report's notes, when the run has a udp-raw row
// with the server's CPU, each row's server CPU per input beside that
// floor.
func noteFloor(rep *Report) {
	floor, imp, ok := floorPerInput(rep.Results)
	if !ok {
		return
	}
	var parts []string
	for _, x := range rep.Results {
		us, ok := x.Extra["server_cpu_us_per_input"]
		if x.Name == TransportUDPRaw || !ok || x.Impairment != imp {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1f µs (%.1f× the floor)", x.Name, us, us/floor))
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("server CPU per input: raw-UDP floor (udp-raw relay, same workload) %.1f µs", floor)+
		strings.Join(append([]string{""}, parts...), "; "))
}

// floorPerInput is the server CPU per input of a room run's udp-raw row
// and that row's impairment label.
func floorPerInput(rs []Result) (us float64, imp string, ok bool) {
	for _, x := range rs {
		if x.Name == TransportUDPRaw {
			us, ok := x.Extra["server_cpu_us_per_input"]
			return us, x.Impairment, ok && us > 0
		}
	}
	return 0, "", false
}

func runRoomTransport(ctx context.Context, env *Env, nodes []*Env, cfg RoomConfig, t string) (Result, *ProcUsage, error) {
	name := t
	if len(nodes) > 1 {
		name += "/xnode"
	}
	res := newResult(name, t, cfg.Impairment)
	n := cfg.Rooms * cfg.Clients
	var rb [4]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return res, nil, err
	}
	rn, err := openRoomNodes(ctx, nodes, t, cfg, n, "tb"+hex.EncodeToString(rb[:])+"r")
	if err != nil {
		return res, nil, err
	}
	defer rn.close()
	res.Note = rn.note()
	clock := &roomClock{base: time.Now()}
	ps := &players{all: make([]*player, n)}
	shared := make([]*roomTicks, cfg.Rooms)
	for r := range shared {
		shared[r] = newRoomTicks()
	}
	closed := false
	closeAll := func() error {
		if closed {
			return nil
		}
		closed = true
		ps.close(cfg.JoinConcurrency)
		return rn.closeFleets()
	}
	defer func() { _ = closeAll() }() // on an error path; the run's own close reports

	// Phase 1: connect every player. Setup (connect and join) is bounded
	// on its own, so that a server that stops answering ends the run.
	setupCtx, cancelSetup := context.WithTimeout(ctx, setupTimeout)
	defer cancelSetup()
	bar := env.bar(fmt.Sprintf("room %s: connect", t), int64(n))
	err = parallel(setupCtx, n, cfg.JoinConcurrency, func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		k := rn.nodeOf(i, cfg.Clients)
		p := newPlayer(uint32(i), i/cfg.Clients, rn.group(k, rn.local[i]), clock)
		p.room, p.node = shared[p.roomIdx], k
		conn, err := rn.dial(ctx, i, p, fmt.Sprintf("r%dc%d", p.roomIdx, i%cfg.Clients))
		if err != nil {
			return fmt.Errorf("client: dial: %w", err)
		}
		p.attach(conn)
		p.shared = rn.fleets[k].shared
		ps.all[i] = p
		if err := p.handshake(ctx, p.token, "tickbench-room"); err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		ps.start(p)
		bar.Add(1)
		return nil
	})
	bar.Stop()
	if err != nil {
		return res, nil, err
	}

	// Phase 2: the first player of each room creates it, the others join.
	joinHist := NewHistogram()
	var jmu sync.Mutex // guards joinHist
	join := func(ctx context.Context, p *player, create *frame.RoomCreate, id uint64) error {
		t0 := time.Now()
		if err := p.enter(ctx, create, id); err != nil {
			return fmt.Errorf("room %d: %w", p.roomIdx, err)
		}
		d := time.Since(t0)
		jmu.Lock()
		joinHist.Record(d)
		jmu.Unlock()
		return nil
	}
	bar = env.bar(fmt.Sprintf("room %s: join", t), int64(n))
	if rn.clustered() {
		join = func(ctx context.Context, p *player, _ *frame.RoomCreate, id uint64) error {
			t0 := time.Now()
			var err error
			if id == 0 {
				err = rn.createRoom(ctx, ps, p.roomIdx, cfg)
			} else {
				err = rn.joinRoom(ctx, ps, int(p.idx), id)
			}
			if err != nil {
				return fmt.Errorf("room %d: %w", p.roomIdx, err)
			}
			d := time.Since(t0)
			jmu.Lock()
			joinHist.Record(d)
			jmu.Unlock()
			return nil
		}
	}
	err = parallel(setupCtx, cfg.Rooms, cfg.JoinConcurrency, func(ctx context.Context, r int) error {
		err := join(ctx, ps.all[r*cfg.Clients], &frame.RoomCreate{
			Type: room.RelayType, Capacity: uint16(cfg.Clients), TickRate: uint8(cfg.TickHz), Private: true,
		}, 0)
		bar.Add(1)
		return err
	})
	if err == nil {
		err = parallel(setupCtx, n, cfg.JoinConcurrency, func(ctx context.Context, i int) error {
			if i%cfg.Clients == 0 {
				return nil
			}
			p := ps.all[i]
			err := join(ctx, p, nil, ps.all[p.roomIdx*cfg.Clients].roomID)
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
	measureFrom := clock.now() + cfg.Warmup
	measureTo := measureFrom + cfg.Duration
	clock.setWindow(measureFrom, measureTo)
	bar = env.bar(fmt.Sprintf("room %s: run", t), int64((cfg.Warmup+cfg.Duration)/time.Millisecond))
	prof := newProfiler(profilePath(cfg.CPUProfile, t, len(cfg.Transports)))
	sst, sendErr := runSenders(ctx, clock, ps.all, senderConfig{
		ch: channelOf(t), size: cfg.Size, inputHz: cfg.InputHz, measureFrom: measureFrom, measureTo: measureTo,
		tick: windowTick(measureFrom, sampler, prof, bar),
	})
	sampler.stop()
	if err := prof.stop(); err != nil {
		return res, nil, err
	}
	bar.Stop()
	// Let the last ticks land: one tick, the path's delay, and slack.
	drain := 2*tickInterval + 2*(cfg.Impairment.Delay+cfg.Impairment.Jitter) + time.Second
	var expected, inputs, refused, offeredLive, live int64
	want := func() (got int64) {
		for _, p := range ps.all {
			got += p.delivered.Load()
		}
		return got
	}
	perRoom := make([]int64, cfg.Rooms)
	for _, p := range ps.all {
		s, r := p.sent.Load(), p.refused.Load()
		perRoom[p.roomIdx] += s
		inputs += s
		refused += r
		if !p.failed { // the sender is done with it
			offeredLive += s + r
			live++
		}
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

	// Close every session (and wait for the readers) before reading the
	// histograms they own.
	stats := make([]netcode.Stats, n)
	for i, p := range ps.all {
		stats[i] = p.conn.Stats()
	}
	sockets := rn.sockets()
	if err := closeAll(); err != nil {
		return res, nil, fmt.Errorf("closing client sockets: %w", err)
	}
	if sst.failed == int64(n) {
		return res, nil, sendErr
	}
	if sst.failed > 0 {
		res.SetExtra("failed_clients", float64(sst.failed))
		res.Note = strings.TrimSpace(res.Note + " " + firstLine(sendErr.Error()))
	}

	tl := roomTally{cfg: cfg, hist: NewHistogram(), joinHist: joinHist, expected: expected, received: want(),
		inputs: inputs, refused: refused, offeredLive: offeredLive, live: live, sockets: sockets, sst: sst,
		u: sampler.result(), g: sampler.generator()}
	for _, p := range ps.all {
		tl.hist.Merge(p.hist)
		tl.bad += p.badTicks.Load()
		tl.ticks += p.ticks.Load()
	}
	rn.extra(&res)
	if w, ok := rn.proxied(); ok {
		tl.wire, tl.wireSrc = w, "impair proxy (whole run)"
	} else {
		for _, s := range stats {
			tl.wire += s.BytesSent + s.BytesRecv
		}
		tl.wireSrc = "client transport stats (whole run)"
	}
	tl.fill(&res)
	return res, tl.u, nil
}

// roomTally is what a room run counted, whatever its transport; fill
// makes the row from it.
type roomTally struct {
	cfg                RoomConfig
	hist, joinHist     *Histogram
	expected, received int64 // deliveries expected (measured inputs × room size) and made
	inputs, refused    int64 // measured inputs sent, and refused by the transport
	offeredLive, live  int64 // inputs offered by the players that did not fail, and those players
	ticks, bad         int64 // broadcasts received in the measured window, and undecodable ones
	sockets            int
	sst                senderStats
	wire               uint64
	wireSrc            string
	u, g               *ProcUsage // server and generator, nil when not sampled
}

// fill sets the row's figures from the tally.
func (tl *roomTally) fill(res *Result) {
	cfg := tl.cfg
	tickInterval := time.Second / time.Duration(cfg.TickHz)
	res.Sent, res.Received = tl.expected, tl.received
	res.DurationS = cfg.Duration.Seconds()
	res.fill(tl.hist)
	res.SetExtra("tick_interval_us", float64(tickInterval.Microseconds()))
	res.SetExtra("join_p50_us", tl.joinHist.QuantileUs(50))
	res.SetExtra("join_p99_us", tl.joinHist.QuantileUs(99))
	rate := float64(tl.inputs) / cfg.Duration.Seconds()
	res.SetExtra("inputs_per_s", rate)
	res.SetExtra("broadcasts_per_s", float64(tl.ticks)/cfg.Duration.Seconds())
	res.SetExtra("client_sockets", float64(tl.sockets))
	res.SetExtra("sender_late_p99_us", tl.sst.late.QuantileUs(99))
	res.SetExtra("sender_late_max_us", tl.sst.late.MaxUs())
	if tl.sst.restarts > 0 {
		res.SetExtra("sender_restarts", float64(tl.sst.restarts))
	}
	if tl.refused > 0 {
		res.SetExtra("inputs_refused", float64(tl.refused))
		res.Note = strings.TrimSpace(res.Note + fmt.Sprintf(" %d inputs (%.1f%%) were refused by full send windows: the server did not acknowledge in time;",
			tl.refused, 100*float64(tl.refused)/float64(tl.refused+tl.inputs)))
	}
	if tl.bad > 0 {
		res.SetExtra("bad_ticks", float64(tl.bad))
	}
	res.WireBytes, res.WireSource = tl.wire, tl.wireSrc
	if res.Received > 0 {
		res.WireBytesPerMsg = float64(tl.wire) / float64(res.Received)
	}
	if u := tl.u; u != nil {
		res.SetExtra("server_cpu_pct", u.CPUPct)
		res.SetExtra("server_rss_mib", float64(u.RSSBytes)/(1<<20))
		if tl.inputs > 0 {
			res.SetExtra("server_cpu_us_per_input", u.CPUS/float64(tl.inputs)*1e6)
		}
	}
	if g := tl.g; g != nil {
		res.SetExtra("generator_cpu_pct", g.CPUPct)
		if tl.inputs > 0 {
			res.SetExtra("generator_cpu_us_per_input", g.CPUS/float64(tl.inputs)*1e6)
		}
		if tl.ticks > 0 {
			res.SetExtra("generator_cpu_us_per_broadcast", g.CPUS/float64(tl.ticks)*1e6)
		}
	}
	// The generator is judged on what it offered: inputs refused by the
	// transport were offered on time, and players that failed are out.
	sat := checkGenerator(tl.g, runtime.GOMAXPROCS(0), float64(tl.offeredLive)/cfg.Duration.Seconds(), float64(tl.live)*float64(cfg.InputHz))
	res.SetExtra("generator_saturated", boolFloat(sat != ""))
	if sat != "" {
		res.Note = strings.TrimSpace(res.Note + " " + sat)
	}
}

// Generator saturation: a run whose generator used at least
// saturatedCPUFrac of the cores it may run on, or sent fewer than
// minInputFrac of the configured inputs, measured the generator's
// queueing as much as the server's.
const (
	saturatedCPUFrac = 0.90
	minInputFrac     = 0.99
)

// checkGenerator says, when the generator was saturated, why, in a note
// for the report ("" when it was not). g is nil when the generator's CPU
// is not known apart from the server's (an in-process server); cores is
// how many cores it may use (GOMAXPROCS, which follows taskset);
// sent and want are inputs per second offered and configured.
func checkGenerator(g *ProcUsage, cores int, sent, want float64) string {
	var why []string
	if g != nil && g.CPUPct >= 100*saturatedCPUFrac*float64(cores) {
		why = append(why, fmt.Sprintf("used %.0f%% of its %d core(s)", g.CPUPct/float64(cores), cores))
	}
	if want > 0 && sent < minInputFrac*want {
		why = append(why, fmt.Sprintf("sent %.1f%% of the configured inputs", 100*sent/want))
	}
	if len(why) == 0 {
		return ""
	}
	return "the generator was saturated (it " + strings.Join(why, " and ") + "): the figures include its own queueing;"
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
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

// windowTick is a room run's tick (every millisecond of the schedule):
// it starts the usage sampler and the profiler once, when the measured
// window opens, and moves the progress bar.
func windowTick(measureFrom time.Duration, sampler *usageSampler, prof *profiler, bar *Progress) func(time.Duration) {
	var once sync.Once
	return func(now time.Duration) {
		if now >= measureFrom {
			once.Do(func() {
				sampler.start()
				prof.start()
			})
		}
		bar.Add(1)
	}
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
