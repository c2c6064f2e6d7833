package kcp

// Issue 11 prototype: server CPU per input of today's per-session path
// (kcp-go UDPSession under our Listener) against kcp-go's sans-IO KCP
// cores driven by one goroutine with batched socket I/O
// (internal/loop). docs/DECISIONS.md, "KCP event loops (issue 11)".
//
// The server runs in a child process (this test binary, re-executed with
// TICKWIRE_LOOPBENCH_SERVER set), so that its CPU time (getrusage) and
// system calls (perf, when installed) are its own; the clients run in
// the benchmark's process. With TICKWIRE_LOOPBENCH_SERVER_CPU=0 the
// child is pinned to CPU 0 (taskset); pin the benchmark itself to
// another CPU. docs/PERFORMANCE.md has the commands.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp/internal/loop"
)

// The relay shape, scaled down: every client sends one small reliable
// input per tick and gets one broadcast of 8 small messages per tick.
const (
	lbTick       = time.Second / 30
	lbInputSize  = 40
	lbPerTick    = 8 // messages in a broadcast
	lbRoomSize   = 8
	lbWarmup     = 2 * time.Second
	lbWindow     = 5 * time.Second
	lbEnvServer  = "TICKWIRE_LOOPBENCH_SERVER"
	lbEnvCPU     = "TICKWIRE_LOOPBENCH_SERVER_CPU"
	lbEnvProfile = "TICKWIRE_LOOPBENCH_CPUPROFILE"
	lbDialers    = 16 // concurrent handshakes while connecting
	lbSendPhases = 8  // clients send in 8 groups spread over the tick
)

// lbConfig is the Config of both ends: redundancy off (the loop
// prototype has none), everything else the default.
func lbConfig() Config {
	return Config{Redundancy: RedundancyConfig{Disabled: true}, MaxSessions: 100000, AcceptBacklog: 4096, AllowPlaintext: true, Plaintext: true,
		IdleTimeout: time.Minute} // idle clients (the Idle benchmark) send nothing for seconds
}

// lbResult is what the server child reports for the measured window.
type lbResult struct {
	CPUNanos   int64  // user + system
	Inputs     uint64 // reliable messages received
	Broadcasts uint64 // broadcasts queued (one per session per tick)
	VolCS      int64  // voluntary context switches
	InvolCS    int64
	// loop modes only: exact socket counts
	DgramsIn, DgramsOut     uint64
	ReadCalls, WriteCalls   uint64
	LoopPasses, Flushes     uint64
	Refused, SessionsServed uint64
	RSSBytes                uint64 // resident set at the end of the window
}

// BenchmarkLoopVsSession runs each server shape for one fixed window
// (use -benchtime 1x): the figures are per input, not per b.N.
//
//	session: today's path: Listener, a kcp-go UDPSession per session,
//	  one reader goroutine per session, one tick goroutine writing each
//	  session's broadcast with WriteMessages.
//	engine: as session, plus a writer goroutine per session woken by
//	  the tick (the engine's hand-off shape).
//	loop: one goroutine: recvmmsg, KCP cores (internal/loop), the tick,
//	  one sendmmsg batch per pass.
//	loop-handoff: as loop, but the engine's goroutines stay: the loop
//	  hands each input to the session's reader goroutine (a bounded
//	  channel), a tick goroutine wakes each session's writer, and the
//	  writer queues the broadcast for the loop and wakes it (a past read
//	  deadline on the socket).
func BenchmarkLoopVsSession(b *testing.B) {
	if testing.Short() {
		b.Skip("runs a server process for several seconds")
	}
	for _, n := range []int{100, 1000} {
		for _, mode := range []string{"session", "engine", "loop", "loop-handoff"} {
			b.Run(fmt.Sprintf("server=%s/sessions=%d", mode, n), func(b *testing.B) {
				runLoopBench(b, mode, n, false)
			})
		}
	}
}

// BenchmarkLoopVsSessionIdle: 1,000 sessions that send nothing after the
// handshake. Today each costs kcp-go's 10 ms update timer, our tick
// loop's pass every 50 ms and a heartbeat a second; on the loop an idle
// session is in no queue (the prototype sends no heartbeats).
func BenchmarkLoopVsSessionIdle(b *testing.B) {
	if testing.Short() {
		b.Skip("runs a server process for several seconds")
	}
	for _, mode := range []string{"session", "loop"} {
		b.Run(fmt.Sprintf("server=%s/sessions=1000", mode), func(b *testing.B) {
			runLoopBench(b, mode, 1000, true)
		})
	}
}

func runLoopBench(b *testing.B, mode string, n int, idle bool) {
	exe, err := os.Executable()
	require.NoError(b, err)
	args := []string{exe, "-test.run=^TestLoopBenchServer$", "-test.count=1"}
	if cpu := os.Getenv(lbEnvCPU); cpu != "" {
		args = append([]string{"taskset", "-c", cpu}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	spec := mode + ":" + strconv.Itoa(n)
	if idle {
		spec += ":idle"
	}
	cmd.Env = append(os.Environ(), lbEnvServer+"="+spec)
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	cmd.Stderr = os.Stderr
	require.NoError(b, cmd.Start())
	defer func() {
		_ = stdin.Close()                  // the child ends when its stdin closes
		_, _ = io.Copy(io.Discard, stdout) // its test output, until it exits
		if err := cmd.Wait(); err != nil {
			b.Errorf("server child: %v", err)
		}
	}()
	lines := bufio.NewScanner(stdout)
	expect := func(prefix string) string {
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return rest
			}
		}
		b.Fatalf("server child ended before %q: %v", prefix, lines.Err())
		return ""
	}
	addr := expect("ADDR ")

	g, err := newLoopBenchClients(b, addr, n, idle)
	require.NoError(b, err)
	defer g.close()
	time.Sleep(lbWarmup) // warm-up: the load runs, nothing is measured (not a synchronisation)

	_, err = io.WriteString(stdin, "start\n")
	require.NoError(b, err)
	expect("STARTED")
	in0, out0, got0 := g.dgramsIn.Load(), g.dgramsOut.Load(), g.received.Load()
	var gen0, gen1 syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &gen0))
	perf := startPerf(cmd.Process.Pid, lbWindow)
	time.Sleep(lbWindow) // the measured window (a duration, not a synchronisation)
	_, err = io.WriteString(stdin, "stop\n")
	require.NoError(b, err)
	var r lbResult
	require.NoError(b, json.Unmarshal([]byte(expect("RESULT ")), &r))
	in1, out1, got1 := g.dgramsIn.Load(), g.dgramsOut.Load(), g.received.Load()
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &gen1))
	genCPU := (gen1.Utime.Nano() + gen1.Stime.Nano()) - (gen0.Utime.Nano() + gen0.Stime.Nano())
	syscalls := perf.wait()
	b.StopTimer()

	b.ReportMetric(float64(r.RSSBytes)/float64(n)/1024, "server-rss-KiB/session")
	if idle {
		perSessionSecond := float64(n) * lbWindow.Seconds()
		b.ReportMetric(float64(r.CPUNanos)/lbWindow.Seconds()/1e9*100, "server-%cpu")
		b.ReportMetric(float64(r.CPUNanos)/perSessionSecond/1e3, "server-us/session-s")
		b.ReportMetric(float64(in1-in0)/perSessionSecond, "server-out-dgrams/session-s")
		if syscalls >= 0 {
			b.ReportMetric(float64(syscalls)/lbWindow.Seconds(), "syscalls/s")
		}
		b.Logf("%s idle n=%d: %+v", mode, n, r)
		return
	}
	require.Positive(b, r.Inputs, "the server received no input")
	inputs := float64(r.Inputs)
	b.ReportMetric(float64(r.CPUNanos)/inputs, "server-ns/input")
	b.ReportMetric(float64(r.CPUNanos)/lbWindow.Seconds()/1e9*100, "server-%cpu")
	b.ReportMetric(inputs/lbWindow.Seconds(), "inputs/s")
	b.ReportMetric(float64((in1-in0)+(out1-out0))/inputs, "dgrams/input")
	b.ReportMetric(float64(in1-in0)/inputs, "server-out-dgrams/input")
	b.ReportMetric(float64(got1-got0)/inputs/lbPerTick, "delivered-broadcasts/input")
	b.ReportMetric(float64(r.VolCS+r.InvolCS)/inputs, "ctxsw/input")
	b.ReportMetric(float64(genCPU)/lbWindow.Seconds()/1e9*100, "generator-%cpu")
	if syscalls >= 0 {
		b.ReportMetric(float64(syscalls)/inputs, "syscalls/input")
	}
	if strings.HasPrefix(mode, "loop") {
		b.ReportMetric(float64(r.ReadCalls+r.WriteCalls)/inputs, "socket-calls/input")
		b.ReportMetric(float64(r.DgramsOut)/float64(max(r.WriteCalls, 1)), "dgrams/sendmmsg")
		b.ReportMetric(float64(r.DgramsIn)/float64(max(r.ReadCalls, 1)), "dgrams/recvmmsg")
	}
	b.Logf("%s n=%d: inputs %d (%.0f/s of %.0f configured), server CPU %.1f%%, %.0f ns/input, client datagrams in %d out %d, syscalls %d, ctxsw %d+%d, %+v",
		mode, n, r.Inputs, inputs/lbWindow.Seconds(), float64(n)/lbTick.Seconds(), float64(r.CPUNanos)/lbWindow.Seconds()/1e7,
		float64(r.CPUNanos)/inputs, in1-in0, out1-out0, syscalls, r.VolCS, r.InvolCS, r)
}

// perfCount counts the child's system calls over the window with perf
// (raw_syscalls tracepoint, counted in the kernel); -1 when perf is not
// available.
type perfCount struct {
	cmd *exec.Cmd
	out strings.Builder
}

func startPerf(pid int, d time.Duration) *perfCount {
	p := &perfCount{}
	path, err := exec.LookPath("perf")
	if err != nil {
		return p
	}
	p.cmd = exec.Command(path, "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p", strconv.Itoa(pid),
		"--", "sleep", strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
	p.cmd.Stderr = &p.out
	if p.cmd.Start() != nil {
		p.cmd = nil
	}
	return p
}

func (p *perfCount) wait() int64 {
	if p.cmd == nil || p.cmd.Wait() != nil {
		return -1
	}
	for _, line := range strings.Split(p.out.String(), "\n") {
		f := strings.Split(line, ",")
		if len(f) > 2 && strings.Contains(line, "raw_syscalls:sys_enter") {
			if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return v
			}
		}
	}
	return -1
}

// The load generator: n clients, each on its own UDP socket (the server
// knows a session by its token and address), all driven by one goroutine
// with epoll and the same KCP cores as the loop server (internal/loop),
// so that 1,000 clients fit one core and the generator is not what is
// measured. It speaks the real handshake and session header.
type loopBenchClients struct {
	epfd     int
	fds      []int
	lp       *loop.Loop
	sess     []*loop.Session
	tokens   []uint64
	pns      []uint32
	nonces   [][8]byte
	accepted int
	idle     bool // send nothing after the handshake

	dgramsIn, dgramsOut atomic.Uint64
	received            atomic.Uint64 // broadcast messages
	sendErrs            atomic.Uint64
	stop                chan struct{}
	done                chan struct{}
}

func newLoopBenchClients(b *testing.B, addr string, n int, idle bool) (*loopBenchClients, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	cfg, err := lbConfig().populate()
	if err != nil {
		return nil, err
	}
	tn := cfg.tune
	lp, err := loop.New(loop.Config{
		Interval: time.Duration(tn.interval) * time.Millisecond, FastResend: tn.resend,
		SendWindow: tn.sndWnd, RecvWindow: tn.rcvWnd,
		MTU: tn.mtu - sessionHeaderSize, Headroom: sessionHeaderSize,
	})
	if err != nil {
		return nil, err
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	g := &loopBenchClients{epfd: epfd, lp: lp, sess: make([]*loop.Session, n), tokens: make([]uint64, n),
		pns: make([]uint32, n), nonces: make([][8]byte, n), stop: make(chan struct{}), done: make(chan struct{}), idle: idle}
	srv := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	for i := range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			g.closeFDs()
			return nil, err
		}
		g.fds = append(g.fds, fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			g.closeFDs()
			return nil, err
		}
		if err := unix.Connect(fd, srv); err != nil {
			g.closeFDs()
			return nil, err
		}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
			g.closeFDs()
			return nil, err
		}
		_, _ = rand.Read(g.nonces[i][:]) // crypto/rand.Read never fails on supported platforms
	}
	connected := make(chan struct{})
	go g.run(b, connected) // owned by g: close waits for done
	select {
	case <-connected:
		return g, nil
	case <-time.After(30 * time.Second):
		g.close()
		return nil, fmt.Errorf("loop bench: %d of %d clients connected in 30 s", g.accepted, n)
	}
}

func (g *loopBenchClients) closeFDs() {
	for _, fd := range g.fds {
		_ = unix.Close(fd) // a benchmark's own sockets: nothing to report
	}
	_ = unix.Close(g.epfd)
}

func (g *loopBenchClients) close() {
	close(g.stop)
	<-g.done
	g.closeFDs()
}

func (g *loopBenchClients) write(i int, b []byte) {
	g.dgramsOut.Add(1)
	if _, err := unix.Write(g.fds[i], b); err != nil {
		g.sendErrs.Add(1)
	}
}

// run is the generator's one goroutine: handshakes (resent every 200 ms
// until accepted), then one input per client per tick in 8 phases, and
// every datagram the server sends.
func (g *loopBenchClients) run(b *testing.B, connected chan<- struct{}) {
	defer close(g.done)
	n := len(g.fds)
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, maxDatagram)
	rbuf := make([]byte, 64<<10)
	var input []byte
	input = append(appendPrefix(input, lbInputSize), make([]byte, lbInputSize)...)
	lastHello := time.Time{}
	phase := 0
	nextPhase := time.Now()
	for {
		select {
		case <-g.stop:
			return
		default:
		}
		now := time.Now()
		if g.accepted < n && now.Sub(lastHello) > 200*time.Millisecond {
			lastHello = now
			for i := range n {
				if g.sess[i] == nil {
					var hb [helloSize]byte
					g.write(i, appendHandshake(hb[:0], handshake{Type: typeHello, Nonce: g.nonces[i], Mode: modePlaintext}))
				}
			}
		}
		if g.accepted == n && !g.idle && !now.Before(nextPhase) {
			for i := phase; i < n; i += lbSendPhases {
				if g.lp.Send(g.sess[i], input) != nil {
					g.sendErrs.Add(1)
				}
			}
			phase = (phase + 1) % lbSendPhases
			nextPhase = nextPhase.Add(lbTick / lbSendPhases)
			if nextPhase.Before(now) {
				nextPhase = now.Add(lbTick / lbSendPhases)
			}
		}
		for _, d := range g.lp.Flush(now) {
			i := int(d.Session.ID)
			g.pns[i]++
			putSessionHeader(d.B, sessionHeader{Type: typeKCP, Token: g.tokens[i], PN: g.pns[i]})
			g.write(i, d.B)
		}
		wait := 5 * time.Millisecond
		if g.accepted == n {
			wait = min(wait, time.Until(nextPhase))
		}
		if due, ok := g.lp.NextDue(); ok {
			wait = min(wait, time.Until(due))
		}
		ms := max(int((wait+time.Millisecond-1)/time.Millisecond), 0)
		k, err := unix.EpollWait(g.epfd, events, ms)
		if err != nil && !errors.Is(err, unix.EINTR) {
			b.Errorf("epoll: %v", err)
			return
		}
		now = time.Now()
		for _, ev := range events[:max(k, 0)] {
			i := int(ev.Fd)
			for {
				m, err := unix.Read(g.fds[i], buf)
				if err != nil {
					break // EAGAIN: drained
				}
				g.dgramsIn.Add(1)
				g.handle(i, buf[:m], rbuf, now, connected)
			}
		}
	}
}

func (g *loopBenchClients) handle(i int, b, rbuf []byte, now time.Time, connected chan<- struct{}) {
	if len(b) == 0 {
		return
	}
	if isHandshake(b[0]) {
		h, err := decodeHandshake(b)
		if err != nil || h.Nonce != g.nonces[i] {
			return
		}
		switch h.Type {
		case typeCookie:
			var cb [connectSize]byte
			g.write(i, appendHandshake(cb[:0], handshake{Type: typeConnect, Nonce: h.Nonce, Bucket: h.Bucket, MAC: h.MAC, Mode: modePlaintext}))
		case typeAccept:
			if g.sess[i] != nil {
				return
			}
			g.tokens[i] = h.Token
			g.sess[i] = g.lp.Add(uint64(i), h.Conv, netip.AddrPort{})
			if g.accepted++; g.accepted == len(g.fds) {
				close(connected)
			}
		}
		return
	}
	h, payload, err := decodeSessionHeader(b)
	if err != nil || g.sess[i] == nil || h.Token != g.tokens[i] || h.Type != typeKCP {
		return // heartbeats and reports: nothing to do
	}
	if g.lp.Input(g.sess[i], payload, now) != nil {
		return
	}
	for {
		k, err := g.lp.Recv(g.sess[i], rbuf)
		if err != nil || k == 0 {
			return
		}
		for p := rbuf[:k]; len(p) > 0; {
			_, used, err := nextMessage(p, 1<<20)
			if err != nil || used == 0 {
				break
			}
			g.received.Add(1)
			p = p[used:]
		}
	}
}

// TestLoopBenchServer is the server child of BenchmarkLoopVsSession; it
// skips unless started by it.
func TestLoopBenchServer(t *testing.T) {
	spec := os.Getenv(lbEnvServer)
	if spec == "" {
		t.Skip("the server process of BenchmarkLoopVsSession")
	}
	mode, _, _ := strings.Cut(spec, ":")
	idle := strings.HasSuffix(spec, ":idle")
	ctl := make(chan string)
	go func() { // owned: ends with stdin, which ends the test
		defer close(ctl)
		sc := bufio.NewScanner(os.Stdin)
		var prof *os.File
		for sc.Scan() {
			cmd := sc.Text()
			// With TICKWIRE_LOOPBENCH_CPUPROFILE=DIR the measured window
			// is profiled into DIR/MODE-N.pprof.
			if dir := os.Getenv(lbEnvProfile); dir != "" && cmd == "start" {
				f, err := os.Create(fmt.Sprintf("%s/%s.pprof", dir, strings.ReplaceAll(spec, ":", "-")))
				if err == nil && pprof.StartCPUProfile(f) == nil {
					prof = f
				}
			}
			if cmd == "stop" && prof != nil {
				pprof.StopCPUProfile()
				_ = prof.Close() // a benchmark's profile: a failed close shows as a bad file
				prof = nil
			}
			ctl <- cmd
		}
	}()
	switch mode {
	case "session", "engine":
		serveSessions(t, mode == "engine", idle, ctl)
	case "loop", "loop-handoff":
		serveLoop(t, ctl, mode == "loop-handoff", idle)
	default:
		t.Fatalf("unknown mode %q", mode)
	}
}

type rusageSnap struct {
	cpu      int64
	vol, inv int64
}

func takeRusage(t *testing.T) rusageSnap {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return rusageSnap{cpu: ru.Utime.Nano() + ru.Stime.Nano(), vol: ru.Nvcsw, inv: ru.Nivcsw}
}

// lbBroadcast is the payload of one tick to one session: 8 prefixed
// 40-byte messages in one buffer (one KCP segment), as WriteMessages
// makes it.
func lbBroadcast() (msgs [][]byte, joined []byte) {
	for i := range lbPerTick {
		m := make([]byte, lbInputSize)
		m[0] = byte(i)
		msgs = append(msgs, m)
		joined = append(appendPrefix(joined, len(m)), m...)
	}
	return msgs, joined
}

// serveSessions is today's path.
func serveSessions(t *testing.T, writers, idle bool, ctl <-chan string) {
	l, err := Listen("127.0.0.1:0", lbConfig())
	require.NoError(t, err)
	defer l.Shutdown(context.Background())
	fmt.Printf("ADDR %s\n", l.Addr())

	type sess struct {
		c     *Conn
		wake  chan struct{}
		room  []byte // the session's slot in its room
		owner *sync.Mutex
	}
	var (
		mu       sync.Mutex // guards sessions
		sessions []*sess
		inputs   atomic.Uint64
		sent     atomic.Uint64
		wg       sync.WaitGroup
		rooms    []*sync.Mutex
	)
	msgs, _ := lbBroadcast()
	wg.Add(1)
	go func() { // owned: the acceptor; ends when the listener closes
		defer wg.Done()
		for {
			c, err := l.AcceptKCP()
			if err != nil {
				return
			}
			mu.Lock()
			if len(sessions)%lbRoomSize == 0 {
				rooms = append(rooms, &sync.Mutex{})
			}
			s := &sess{c: c, wake: make(chan struct{}, 1), room: make([]byte, lbInputSize), owner: rooms[len(rooms)-1]}
			sessions = append(sessions, s)
			mu.Unlock()
			wg.Add(1)
			go func() { // owned: the session's reader
				defer wg.Done()
				for {
					_, m, err := c.ReadMessage()
					if err != nil {
						return
					}
					s.owner.Lock()
					copy(s.room, m)
					s.owner.Unlock()
					inputs.Add(1)
				}
			}()
			if writers {
				wg.Add(1)
				go func() { // owned: the session's writer (the engine's shape)
					defer wg.Done()
					for {
						select {
						case <-s.wake:
						case <-c.done:
							return
						}
						if c.WriteMessages(netcode.Reliable, msgs) != nil {
							return
						}
					}
				}()
			}
		}
	}()
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // owned: the tick
		defer wg.Done()
		tk := time.NewTicker(lbTick)
		defer tk.Stop()
		var snap []*sess
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			if idle {
				continue
			}
			mu.Lock()
			snap = append(snap[:0], sessions...)
			mu.Unlock()
			for _, s := range snap {
				sent.Add(1)
				if writers {
					select {
					case s.wake <- struct{}{}:
					default:
					}
					continue
				}
				_ = s.c.WriteMessages(netcode.Reliable, msgs) // a full window is the client's problem in this benchmark
			}
		}
	}()
	var r0 rusageSnap
	var in0, sent0 uint64
	for cmd := range ctl {
		switch cmd {
		case "start":
			r0, in0, sent0 = takeRusage(t), inputs.Load(), sent.Load()
			fmt.Println("STARTED")
		case "stop":
			r1 := takeRusage(t)
			printResult(t, lbResult{CPUNanos: r1.cpu - r0.cpu, VolCS: r1.vol - r0.vol, InvolCS: r1.inv - r0.inv,
				Inputs: inputs.Load() - in0, Broadcasts: sent.Load() - sent0, SessionsServed: uint64(l.SessionCount()),
				RSSBytes: readRSS()})
		}
	}
	close(stop)
	require.NoError(t, l.Shutdown(context.Background()))
	wg.Wait()
}

// readRSS is this process's resident set (VmRSS), 0 if unknown.
func readRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func printResult(t *testing.T, r lbResult) {
	j, err := json.Marshal(r)
	require.NoError(t, err)
	fmt.Printf("RESULT %s\n", j)
}

// lbSession is one session of the loop server.
type lbSession struct {
	s     *loop.Session
	addr  *net.UDPAddr
	token uint64
	pn    uint32
	nonce [8]byte
	conv  uint32
	room  []byte
	in    chan [lbInputSize]byte // loop-handoff: to the reader goroutine
	wake  chan struct{}          // loop-handoff: the tick wakes the writer
}

// serveLoop is the prototype: one goroutine owns the socket, every KCP
// core, the rooms and the tick.
func serveLoop(t *testing.T, ctl <-chan string, handoff, idle bool) {
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer uc.Close()
	cfg, err := lbConfig().populate()
	require.NoError(t, err)
	setBuffers(uc, cfg)
	pc := ipv4.NewPacketConn(uc)
	fmt.Printf("ADDR %s\n", uc.LocalAddr())

	tn := cfg.tune
	lp, err := loop.New(loop.Config{
		Interval:   time.Duration(tn.interval) * time.Millisecond,
		FastResend: tn.resend,
		SendWindow: tn.sndWnd, RecvWindow: tn.rcvWnd,
		MTU:      tn.mtu - sessionHeaderSize,
		Headroom: sessionHeaderSize,
	})
	require.NoError(t, err)
	jar := cookieJar{secret: cfg.CookieSecret}
	// loop-handoff: the engine's goroutines around the loop.
	var (
		quit    = make(chan struct{})
		wg      sync.WaitGroup
		outMu   sync.Mutex // guards outbox
		outbox  []*lbSession
		spare   []*lbSession
		roomMu  sync.Mutex // the rooms' lock (one for all: the inputs are tiny)
		handMu  sync.Mutex // guards handed
		handed  []*lbSession
		dropped atomic.Uint64
	)
	defer func() { close(quit); wg.Wait() }()
	if handoff {
		wg.Add(1)
		go func() { // owned: the tick worker
			defer wg.Done()
			tk := time.NewTicker(lbTick)
			defer tk.Stop()
			var snap []*lbSession
			for {
				select {
				case <-quit:
					return
				case <-tk.C:
				}
				handMu.Lock()
				snap = append(snap[:0], handed...)
				handMu.Unlock()
				for _, ls := range snap {
					select {
					case ls.wake <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	startHandoff := func(ls *lbSession) {
		ls.in = make(chan [lbInputSize]byte, 64)
		ls.wake = make(chan struct{}, 1)
		wg.Add(2)
		go func() { // owned: the session's reader
			defer wg.Done()
			for {
				select {
				case <-quit:
					return
				case m := <-ls.in:
					roomMu.Lock()
					copy(ls.room, m[:])
					roomMu.Unlock()
				}
			}
		}()
		go func() { // owned: the session's writer
			defer wg.Done()
			for {
				select {
				case <-quit:
					return
				case <-ls.wake:
				}
				outMu.Lock()
				outbox = append(outbox, ls)
				first := len(outbox) == 1
				outMu.Unlock()
				if first {
					_ = uc.SetReadDeadline(time.Now()) // wake the loop; cannot fail on an open socket
				}
			}
		}()
		handMu.Lock()
		handed = append(handed, ls)
		handMu.Unlock()
	}
	var (
		byToken = map[uint64]*lbSession{}
		byAddr  = map[netip.AddrPort]*lbSession{}
		all     []*lbSession
		res     lbResult
	)
	_, bcast := lbBroadcast()
	const batch = 64
	rmsgs := make([]ipv4.Message, batch)
	rbufs := make([]byte, batch*maxDatagram)
	for i := range rmsgs {
		rmsgs[i].Buffers = [][]byte{rbufs[i*maxDatagram : (i+1)*maxDatagram]}
	}
	wmsgs := make([]ipv4.Message, 0, 1024)
	wbufs := make([][1][]byte, 1024)
	rbuf := make([]byte, 64<<10)
	reply := func(h handshake, addr net.Addr) {
		var buf [helloSize]byte
		_, _ = uc.WriteTo(appendHandshake(buf[:0], h), addr) // a lost reply is a lost datagram: the client retries
	}
	handle := func(b []byte, addr *net.UDPAddr, now time.Time) {
		if len(b) == 0 {
			return
		}
		if isHandshake(b[0]) {
			h, err := decodeHandshake(b)
			if err != nil {
				return
			}
			switch h.Type {
			case typeHello:
				bucket, mac := jar.mint(now, addr, &h)
				reply(handshake{Type: typeCookie, Nonce: h.Nonce, Bucket: bucket, MAC: mac}, addr)
			case typeConnect:
				if !jar.verify(now, addr, &h) {
					return
				}
				ap := addr.AddrPort()
				if old := byAddr[ap]; old != nil {
					if old.nonce == h.Nonce {
						reply(handshake{Type: typeAccept, Nonce: h.Nonce, Conv: old.conv, Token: old.token}, addr)
					}
					return
				}
				var ids [12]byte
				_, _ = rand.Read(ids[:]) // crypto/rand.Read never fails on supported platforms
				ls := &lbSession{addr: addr, nonce: h.Nonce, conv: binary.BigEndian.Uint32(ids[:4]),
					token: binary.BigEndian.Uint64(ids[4:]) | 1, room: make([]byte, lbInputSize)}
				ls.s = lp.Add(ls.token, ls.conv, ap)
				byToken[ls.token], byAddr[ap] = ls, ls
				all = append(all, ls)
				if handoff {
					startHandoff(ls)
				}
				reply(handshake{Type: typeAccept, Nonce: h.Nonce, Conv: ls.conv, Token: ls.token}, addr)
			}
			return
		}
		h, payload, err := decodeSessionHeader(b)
		if err != nil {
			return
		}
		ls := byToken[h.Token]
		if ls == nil || !sameAddr(ls.addr, addr) || h.Type != typeKCP {
			return // heartbeats and reports need no answer here
		}
		if lp.Input(ls.s, payload, now) != nil {
			return
		}
		for {
			k, err := lp.Recv(ls.s, rbuf)
			if err != nil || k == 0 {
				return
			}
			for p := rbuf[:k]; len(p) > 0; {
				m, used, err := nextMessage(p, cfg.MaxMessageSize)
				if err != nil || used == 0 {
					break
				}
				res.Inputs++
				if handoff {
					var a [lbInputSize]byte
					copy(a[:], m)
					select {
					case ls.in <- a:
					default:
						dropped.Add(1)
					}
				} else {
					copy(ls.room, m)
				}
				p = p[used:]
			}
		}
	}
	write := func(out []loop.Datagram) {
		for len(out) > 0 {
			k := min(len(out), cap(wmsgs))
			wmsgs = wmsgs[:k]
			for i, d := range out[:k] {
				ls := byToken[d.Session.ID]
				ls.pn++
				putSessionHeader(d.B, sessionHeader{Type: typeKCP, Token: ls.token, PN: ls.pn})
				wbufs[i][0] = d.B
				wmsgs[i] = ipv4.Message{Buffers: wbufs[i][:], Addr: ls.addr}
			}
			for sent := 0; sent < k; {
				m, err := pc.WriteBatch(wmsgs[sent:k], 0)
				res.WriteCalls++
				if err != nil {
					break // loopback: only on shutdown
				}
				sent += m
			}
			res.DgramsOut += uint64(k)
			out = out[k:]
		}
	}

	var r0 rusageSnap
	var s0 lbResult
	nextTick := time.Now().Add(lbTick)
	for {
		select {
		case cmd, ok := <-ctl:
			if !ok {
				return
			}
			switch cmd {
			case "start":
				r0, s0 = takeRusage(t), res
				s0.Flushes = lp.Stats().Flushes
				fmt.Println("STARTED")
			case "stop":
				r1 := takeRusage(t)
				d := res
				d.CPUNanos, d.VolCS, d.InvolCS = r1.cpu-r0.cpu, r1.vol-r0.vol, r1.inv-r0.inv
				d.Inputs -= s0.Inputs
				d.Broadcasts -= s0.Broadcasts
				d.DgramsIn -= s0.DgramsIn
				d.DgramsOut -= s0.DgramsOut
				d.ReadCalls -= s0.ReadCalls
				d.WriteCalls -= s0.WriteCalls
				d.LoopPasses -= s0.LoopPasses
				d.Flushes = lp.Stats().Flushes - s0.Flushes
				d.Refused = lp.Stats().Refused
				d.SessionsServed = uint64(len(all))
				d.Refused += dropped.Load()
				d.RSSBytes = readRSS()
				printResult(t, d)
			}
		default:
		}
		res.LoopPasses++
		if handoff {
			nextTick = time.Now().Add(lbTick) // the tick is the worker's
			outMu.Lock()
			outbox, spare = spare[:0], outbox
			outMu.Unlock()
			for i, ls := range spare {
				res.Broadcasts++
				_ = lp.Send(ls.s, bcast) // a full window refuses (counted in the loop's stats)
				spare[i] = nil
			}
		}
		deadline := nextTick
		if due, ok := lp.NextDue(); ok && due.Before(deadline) {
			deadline = due
		}
		// Wake for the control channel at least every tick.
		if time.Until(deadline) > 0 {
			_ = uc.SetReadDeadline(deadline) // cannot fail on an open socket
			if handoff {
				outMu.Lock()
				queued := len(outbox)
				outMu.Unlock()
				if queued > 0 { // a writer queued after the drain: its wake may be overwritten
					_ = uc.SetReadDeadline(time.Now()) // cannot fail on an open socket
				}
			}
			k, err := pc.ReadBatch(rmsgs, 0)
			res.ReadCalls++
			now := time.Now()
			if err == nil {
				res.DgramsIn += uint64(k)
				for i := range rmsgs[:k] {
					m := &rmsgs[i]
					ua, _ := m.Addr.(*net.UDPAddr)
					handle(m.Buffers[0][:m.N], ua, now)
					m.Addr = nil
				}
			} else if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
				return // the socket closed
			}
		}
		now := time.Now()
		if !handoff && !now.Before(nextTick) {
			for _, ls := range all {
				if idle {
					break
				}
				res.Broadcasts++
				_ = lp.Send(ls.s, bcast) // a full window refuses (counted in the loop's stats)
			}
			nextTick = nextTick.Add(lbTick)
			if nextTick.Before(now) { // late: skip, never replay
				nextTick = now.Add(lbTick)
			}
		}
		write(lp.Flush(now))
	}
}
