package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tickwire/tickwire/bench"
	"github.com/tickwire/tickwire/internal/benchserver"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tlsconf"
)

// common holds the flags every scenario shares.
type common struct {
	server    string
	ports     bench.Ports
	serverPID int

	transports string
	count      int
	size       int
	interval   time.Duration
	duration   time.Duration
	timeout    time.Duration
	loss       float64
	burstLen   float64
	delay      time.Duration
	jitter     time.Duration
	seed       int64
	jsonPath   string
	htmlPath   string
	quiet      bool
	rounds     int
	kcpBudget  int
	kcpSparse  int
	tlsCA      string // --server over TLS: trust this CA file
	insecure   bool   // --server over TLS without verification
	// kcpPlaintext turns KCP encryption off on the clients and the
	// in-process or spawned server (benchmarks only; every row says it);
	// kcpKey pins the server's KCP public key (default: GET /v1/kcp).
	kcpPlaintext bool
	kcpKey       string
	// udpRoom is the udp-raw room relay an in-process or spawned server
	// starts (a room run sets its tick rate to the run's).
	udpRoom bench.UDPRoomConfig
}

// udpRoomConfig is the relay config for the local server.
func (c *common) udpRoomConfig() bench.UDPRoomConfig {
	u := c.udpRoom
	if u.TickHz == 0 {
		u.TickHz = 30
	}
	return u
}

func (c *common) register(fs *flag.FlagSet, defTransports string, defCount int) {
	fs.StringVar(&c.server, "server", "", "server host (IP or name); empty = an in-process server on 127.0.0.1")
	fs.IntVar(&c.ports.KCP, "kcp-port", bench.DefaultKCPPort, "tickwire KCP (UDP) port on --server")
	fs.IntVar(&c.ports.TCP, "tcp-port", bench.DefaultTCPPort, "tickwire TCP port on --server")
	fs.IntVar(&c.ports.HTTP, "http-port", bench.DefaultHTTPPort, "tickwire HTTP API port on --server (also ws, longpoll and WebRTC offers)")
	fs.IntVar(&c.ports.WebRTC, "webrtc-port", bench.DefaultWebRTCPort, "tickwire WebRTC UDP port on --server (needed only to impair webrtc)")
	fs.IntVar(&c.ports.UDPEcho, "udp-echo-port", bench.DefaultUDPEchoPort, "udp-raw baseline echo port on --server (tickbench serve)")
	fs.IntVar(&c.ports.KCPEcho, "kcp-echo-port", bench.DefaultKCPEchoPort, "kcp-bare baseline echo port on --server (tickbench serve)")
	fs.IntVar(&c.ports.UDPRoom, "udp-room-port", bench.DefaultUDPRoomPort, "udp-raw baseline room relay port on --server (tickbench serve; room --transports udp-raw)")
	fs.IntVar(&c.serverPID, "server-pid", 0, "pid of a server on this machine to sample CPU/RSS from /proc")
	fs.StringVar(&c.transports, "transports", defTransports, "comma-separated: "+strings.Join(bench.AllTransports, ","))
	fs.IntVar(&c.count, "count", defCount, "round trips (messages) per transport")
	fs.IntVar(&c.size, "size", 64, "payload size in bytes")
	fs.DurationVar(&c.interval, "interval", time.Millisecond, "pacing between sends; 0 = back-to-back")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "upper bound on one transport's run")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "wait for a reply (back-to-back) and for stragglers after the last send")
	fs.Float64Var(&c.loss, "loss", 0, "random packet loss in percent, each way (UDP transports; TCP cannot drop)")
	fs.Float64Var(&c.burstLen, "burst-len", 0, "with --loss: lose datagrams in bursts of this mean length (Gilbert-Elliott, long-run loss still --loss); 0 = independent losses")
	fs.DurationVar(&c.delay, "delay", 0, "added one-way delay, each way")
	fs.DurationVar(&c.jitter, "jitter", 0, "random extra one-way delay (uniform +-jitter), each way")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the impairment's random choices")
	fs.StringVar(&c.jsonPath, "json", "", "write the report as JSON to this file")
	fs.StringVar(&c.htmlPath, "html", "", "write a self-contained HTML report to this file")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress bar")
	fs.IntVar(&c.kcpBudget, "kcp-budget", 0, "what-if: KCP redundancy budget in bytes/s per session, on the clients and the in-process or spawned server (0 = the transport's default)")
	fs.IntVar(&c.kcpSparse, "kcp-sparse-rate", 0, "what-if: KCP redundancy sparse floor in datagrams/s per session (-1 = off), on the clients and the in-process or spawned server (0 = the transport's default)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "--server serves TLS (HTTPS, WSS, TCP over TLS): trust this PEM CA file (or its self-signed certificate) instead of the system roots")
	fs.BoolVar(&c.insecure, "insecure", false, "--server serves TLS: do not verify its certificate (development only)")
	fs.BoolVar(&c.kcpPlaintext, "kcp-plaintext", false, "turn KCP encryption off on the clients and the in-process or spawned server, to measure its cost (a remote server needs -kcp-plaintext-allowed); every row reports its encryption")
	fs.StringVar(&c.kcpKey, "kcp-key", "", "the server's KCP public key (base64) to pin; default: fetched from its HTTP API (GET /v1/kcp)")
	fs.IntVar(&c.rounds, "rounds", 1, "echo: interleave the transports in this many rounds (links stay open), so that load changes hit every row alike")
}

func (c *common) impairment() bench.Impairment {
	return bench.Impairment{LossPct: c.loss, BurstLen: c.burstLen, Delay: c.delay, Jitter: c.jitter}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tickbench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// env builds the environment: a remote target, or an in-process server
// that the returned stop function shuts down.
func (c *common) env(ctx context.Context, stderr io.Writer) (*bench.Env, func() error, error) {
	env, err := c.baseEnv(stderr)
	if err != nil {
		return nil, nil, err
	}
	if c.server != "" {
		env.Target = bench.RemoteTarget(c.server, c.ports)
		env.Target.ServerPID = c.serverPID
		if c.tlsCA != "" || c.insecure {
			// The server's name, also when the clients dial an impair
			// proxy in front of it.
			cfg, err := tlsconf.Client(tlsconf.ClientConfig{CAFile: c.tlsCA, InsecureSkipVerify: c.insecure, ServerName: c.server})
			if err != nil {
				return nil, nil, err
			}
			env.Target = env.Target.WithTLS(cfg)
		}
		return env, func() error { return nil }, nil
	}
	if c.tlsCA != "" || c.insecure {
		return nil, nil, errors.New("--tls-ca and --insecure are for a --server that serves TLS")
	}
	lc := bench.LocalConfig{Tickwire: startTickwire, UDPRoom: c.udpRoomConfig()}
	lc.KCP.Redundancy.BudgetBytesPerSec = c.kcpBudget
	lc.KCP.Redundancy.SparseRate = c.kcpSparse
	lc.KCP.AllowPlaintext = c.kcpPlaintext
	l, err := bench.StartLocal(ctx, lc)
	if err != nil {
		return nil, nil, fmt.Errorf("starting in-process server: %w", err)
	}
	env.Target = l.Target()
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return l.Close(ctx)
	}
	return env, stop, nil
}

// baseEnv is the environment without its target: the clients' KCP
// settings and the progress bars.
func (c *common) baseEnv(stderr io.Writer) (*bench.Env, error) {
	env := &bench.Env{}
	env.KCP.Redundancy.BudgetBytesPerSec = c.kcpBudget
	env.KCP.Redundancy.SparseRate = c.kcpSparse
	env.KCP.Plaintext = c.kcpPlaintext
	if c.kcpKey != "" {
		k, err := kcp.ParsePublicKey(c.kcpKey)
		if err != nil {
			return nil, fmt.Errorf("-kcp-key: %w", err)
		}
		env.KCP.ServerKey = k
	}
	if !c.quiet {
		if f, ok := stderr.(*os.File); ok {
			env.Progress = bench.Bar(f)
		}
	}
	return env, nil
}

// output prints the table and writes the requested files.
func (c *common) output(rep *bench.Report, stdout io.Writer) error {
	c.annotate(rep)
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	for _, g := range bench.CheckGoals([]*bench.Report{rep}) {
		if g.Status != bench.GoalNotMeasured {
			fmt.Fprintf(stdout, "target %s\n", g)
		}
	}
	if c.jsonPath != "" {
		if err := rep.WriteJSONFile(c.jsonPath); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", c.jsonPath)
	}
	if c.htmlPath != "" {
		if err := bench.WriteHTMLFile(c.htmlPath, "tickbench "+rep.Scenario, []*bench.Report{rep}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", c.htmlPath)
	}
	return nil
}

// parse parses args and rejects positional leftovers.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return nil
}

// parse parses args, then the --transports list.
func (c *common) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return bench.ParseTransports(c.transports)
}

// finish stops the environment, then prints and writes the report of a
// run that ended with err.
func (c *common) finish(rep *bench.Report, err error, stop func() error, stdout io.Writer) error {
	if err = errors.Join(err, stop()); err != nil {
		return err
	}
	return c.output(rep, stdout)
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// annotate records run-wide settings that are not part of a scenario's
// config.
func (c *common) annotate(rep *bench.Report) {
	if c.kcpBudget != 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("what-if: KCP redundancy budget %d B/s per session on the clients and the local server (default 1 MiB/s)", c.kcpBudget))
	}
	if c.kcpSparse != 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("what-if: KCP redundancy sparse floor %d datagrams/s per session on the clients and the local server (default 20; -1 = off)", c.kcpSparse))
	}
}

// startTickwire is benchserver.Start as bench.LocalConfig.Tickwire takes it.
func startTickwire(ctx context.Context, spec bench.TickwireSpec) (bench.TickwireServer, error) {
	srv, err := benchserver.Start(ctx, benchserver.Config(spec))
	if err != nil {
		return nil, err
	}
	return srv, nil
}
