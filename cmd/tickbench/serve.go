package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/tickwire/tickwire/bench"
)

// serveBanner starts the line serve prints once it listens; envSpawn
// parses it.
const serveBanner = "tickbench-serve"

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	host := fs.String("host", "0.0.0.0", "address to listen on")
	kcpPort := fs.Int("kcp-port", bench.DefaultKCPPort, "tickwire KCP (UDP) port (0 = any free port)")
	tcpPort := fs.Int("tcp-port", bench.DefaultTCPPort, "tickwire TCP port")
	httpPort := fs.Int("http-port", bench.DefaultHTTPPort, "tickwire HTTP API port (also ws, longpoll and WebRTC offers)")
	webrtcPort := fs.Int("webrtc-port", bench.DefaultWebRTCPort, "tickwire WebRTC UDP port")
	udpEchoPort := fs.Int("udp-echo-port", bench.DefaultUDPEchoPort, "udp-raw baseline echo port")
	kcpEchoPort := fs.Int("kcp-echo-port", bench.DefaultKCPEchoPort, "kcp-bare baseline echo port")
	udpRoomPort := fs.Int("udp-room-port", bench.DefaultUDPRoomPort, "udp-raw baseline room relay port (tickbench room --transports udp-raw)")
	var ur udpRoomFlags
	ur.register(fs)
	dataDir := fs.String("data", "", "data directory (default: a temporary one, removed on exit)")
	baselinesOnly := fs.Bool("baselines-only", false, "serve only the baselines: the udp-raw and kcp-bare echo servers and the udp-raw room relay (beside a real tickwire deployment)")
	kcpBudget := fs.Int("kcp-budget", 0, "KCP redundancy budget in bytes/s per session (0 = default)")
	kcpSparse := fs.Int("kcp-sparse-rate", 0, "KCP redundancy sparse floor in datagrams/s per session (0 = default, -1 = off)")
	kcpPlain := fs.Bool("kcp-plaintext-allowed", false, "accept KCP sessions without encryption (tickbench -kcp-plaintext)")
	stdinEOF := fs.Bool("exit-on-stdin-eof", false, "stop when standard input closes (used by --spawn-server)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server, from start to exit, to this file")
	adminPort := fs.Int("admin-port", -1, "open the admin listener on 127.0.0.1 at this port (0 = any free port; -1 = off): GET /v1/stats (the server's counters: datagrams and system calls per transport), /metrics, /debug/pprof/, behind --admin-token")
	adminToken := fs.String("admin-token", "", "the admin listener's bearer token (at least 16 bytes; needs --admin-port)")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (loopback, e.g. 127.0.0.1:6060) for heap and goroutine profiles while the server runs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close() // the profiling error is the one reported
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close() // a truncated profile shows when it is read
		}()
	}
	if *pprofAddr != "" {
		stop, err := servePprof(ctx, *pprofAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	hp := func(p int) string { return net.JoinHostPort(*host, strconv.Itoa(p)) }
	var adminAddr string
	switch {
	case *adminPort >= 0 && *adminToken == "":
		return errors.New("--admin-port needs --admin-token")
	case *adminPort < 0 && *adminToken != "":
		return errors.New("--admin-token needs --admin-port (GET /v1/stats is served on the admin listener only)")
	case *adminPort >= 0:
		adminAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(*adminPort)) // loopback: it speaks plain HTTP
	}
	lc := bench.LocalConfig{
		Tickwire: startTickwire,
		DataDir:  *dataDir, NoTickwire: *baselinesOnly,
		KCPAddr: hp(*kcpPort), TCPAddr: hp(*tcpPort), HTTPAddr: hp(*httpPort), WebRTCAddr: hp(*webrtcPort),
		UDPEchoAddr: hp(*udpEchoPort), KCPEchoAddr: hp(*kcpEchoPort), UDPRoomAddr: hp(*udpRoomPort),
		UDPRoom:   ur.config(),
		AdminAddr: adminAddr, AdminToken: *adminToken,
	}
	lc.KCP.Redundancy.BudgetBytesPerSec = *kcpBudget
	lc.KCP.Redundancy.SparseRate = *kcpSparse
	lc.KCP.AllowPlaintext = *kcpPlain
	l, err := bench.StartLocal(ctx, lc)
	if err != nil {
		return err
	}
	t := l.Target()
	admin := ""
	if t.Admin != "" {
		admin = " admin=" + t.Admin
	}
	fmt.Fprintf(stdout, "%s kcp=%s tcp=%s http=%s webrtc=%s udp-echo=%s kcp-echo=%s udp-room=%s%s pid=%d\n",
		serveBanner, t.KCP, t.TCP, t.HTTP, t.WebRTC, t.UDPEcho, t.KCPEcho, t.UDPRoom, admin, os.Getpid())
	if *stdinEOF {
		ctx2, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { // ends with the process: it only watches stdin
			_, _ = io.Copy(io.Discard, os.Stdin) // EOF or a read error both mean the parent is gone
			cancel()
		}()
		ctx = ctx2
	}
	<-ctx.Done()
	if st := l.UDPRoom().Stats(); st.Joins > 0 || st.Refused() > 0 {
		fmt.Fprintf(stderr, "udp-room relay: %s\n", fmtUDPRoomStats(st))
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.Close(sctx)
}

// udpRoomFlags configure the udp-raw room relay (serve).
type udpRoomFlags struct {
	tickHz, rooms, members int
}

func (u *udpRoomFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&u.tickHz, "udp-room-tick-hz", 30, "udp-raw room relay: tick rate (a room run over udp-raw must use the same --tick-hz)")
	fs.IntVar(&u.rooms, "udp-room-rooms", bench.DefaultUDPRoomRooms, "udp-raw room relay: room ids it accepts (0 to N-1); joins beyond are refused and counted")
	fs.IntVar(&u.members, "udp-room-members", bench.DefaultUDPRoomMembers, "udp-raw room relay: member ids per room it accepts (0 to N-1); joins beyond are refused and counted")
}

func (u *udpRoomFlags) config() bench.UDPRoomConfig {
	return bench.UDPRoomConfig{TickHz: u.tickHz, Rooms: u.rooms, Members: u.members}
}

// fmtUDPRoomStats is the relay's counters on one line.
func fmtUDPRoomStats(s bench.UDPRoomStats) string {
	return fmt.Sprintf("joins %d, inputs %d, ticks %d (late %d), tick datagrams %d, left %d, expired %d; refused: room %d, member %d, taken %d, not member %d, malformed %d, too large %d, tick full %d; read errors %d, send errors %d",
		s.Joins, s.Inputs, s.Ticks, s.LateTicks, s.TickDatagrams, s.Left, s.Expired,
		s.RefusedRoom, s.RefusedMember, s.RefusedTaken, s.NotMember, s.Malformed, s.TooLarge, s.TickFull, s.ReadErrors, s.SendErrors)
}

// serverPlace is where a run's own server runs (when --server names none).
type serverPlace uint8

const (
	serverInProcess serverPlace = iota // in this process, sampled with the clients
	serverChild                        // in a child process ("tickbench serve"), sampled on its own
)

// placeFromFlag is where --spawn-server puts the server.
func placeFromFlag(spawn *bool) serverPlace {
	if *spawn {
		return serverChild
	}
	return serverInProcess
}

// envSpawn is env, but with serverChild it runs the server as a child
// process ("tickbench serve" on free loopback ports) and samples that
// process.
func (c *common) envSpawn(ctx context.Context, stderr io.Writer, place serverPlace) (*bench.Env, func() error, error) {
	if place != serverChild || c.server != "" {
		return c.env(ctx, stderr)
	}
	env, _, err := (&common{server: "127.0.0.1", quiet: c.quiet, kcpBudget: c.kcpBudget, kcpSparse: c.kcpSparse, kcpPlaintext: c.kcpPlaintext, kcpKey: c.kcpKey}).env(ctx, stderr)
	if err != nil {
		return nil, nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, "serve", "--host", "127.0.0.1", "--kcp-port", "0", "--tcp-port", "0", "--http-port", "0", "--webrtc-port", "0",
		"--udp-echo-port", "0", "--kcp-echo-port", "0", "--udp-room-port", "0", "--udp-room-tick-hz", strconv.Itoa(c.udpRoomConfig().TickHz), "--exit-on-stdin-eof", "--kcp-budget", strconv.Itoa(c.kcpBudget),
		"--kcp-sparse-rate", strconv.Itoa(c.kcpSparse), "--kcp-plaintext-allowed="+strconv.FormatBool(c.kcpPlaintext))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() error {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill() // fails only if it already exited, which <-done then reports
			return errors.Join(errors.New("spawned server did not stop; killed"), <-done)
		}
	}
	line, err := readBanner(ctx, out, spawnStartTimeout)
	if err != nil {
		// A child that never printed its banner may be stuck before it
		// watches stdin: kill it rather than wait for it to notice.
		_ = cmd.Process.Kill() // fails only if it already exited; stop() reports how it ended
		return nil, nil, errors.Join(fmt.Errorf("spawned server: %w", err), stop())
	}
	t, err := parseBanner(line)
	if err != nil {
		return nil, nil, errors.Join(err, stop())
	}
	t.ServerPID = cmd.Process.Pid
	env.Target = t
	return env, stop, nil
}

// spawnStartTimeout bounds the wait for a spawned server's banner.
const spawnStartTimeout = 30 * time.Second

// errNoBanner is returned when a spawned server did not print its banner
// in time.
var errNoBanner = errors.New("no banner in time")

// readBanner reads the first line of r, giving up when ctx ends or after
// timeout. On a give-up it closes r (when r is an io.Closer, as a
// process's stdout pipe is) to end the read, and it waits for its reading
// goroutine on every path.
func readBanner(ctx context.Context, r io.Reader, timeout time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		done <- result{line, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var why error
	select {
	case res := <-done:
		return res.line, res.err
	case <-ctx.Done():
		why = ctx.Err()
	case <-t.C:
		why = fmt.Errorf("%w (%v)", errNoBanner, timeout)
	}
	if c, ok := r.(io.Closer); ok {
		_ = c.Close() // unblocks the read
	}
	<-done
	return "", why
}

func parseBanner(line string) (bench.Target, error) {
	var t bench.Target
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != serveBanner {
		return t, fmt.Errorf("spawned server: unexpected first line %q", line)
	}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "kcp":
			t.KCP = v
		case "tcp":
			t.TCP = v
		case "http":
			t.HTTP = v
		case "webrtc":
			t.WebRTC = v
		case "udp-echo":
			t.UDPEcho = v
		case "kcp-echo":
			t.KCPEcho = v
		case "udp-room":
			t.UDPRoom = v
		case "admin":
			t.Admin = v
		}
	}
	if t.UDPEcho == "" || t.KCPEcho == "" {
		return t, fmt.Errorf("spawned server: incomplete banner %q", line)
	}
	return t, nil
}

// servePprof serves net/http/pprof's handlers on addr until stop.
func servePprof(ctx context.Context, addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() { // ends when stop closes the server
		defer close(done)
		_ = srv.Serve(ln) // ErrServerClosed once stopped
	}()
	return func() {
		_ = srv.Close() // a debugging listener: nothing to drain
		<-done
	}, nil
}
