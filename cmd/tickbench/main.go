// Command tickbench measures the latency and capacity of a tickwire
// server: echo round trips per transport against a raw-UDP and a bare
// kcp-go baseline, room input-to-broadcast latency, connection storms and
// chat delivery, with loss, delay and jitter injected by proxies. See
// docs/TICKBENCH.md.
//
//	tickbench echo    [flags]   round trips per transport
//	tickbench room    [flags]   R rooms x C clients, input-to-broadcast latency
//	tickbench connect [flags]   a bounded storm of new sessions
//	tickbench chat    [flags]   direct and group message delivery latency
//	tickbench matrix  [--out DIR]  the standard matrix (make bench)
//	tickbench report  [--out DIR] FILE.json...  the HTML report and SVG plots again from JSON
//	tickbench serve   [flags]   a tickwire server plus the baseline servers (echo, room relay)
//
// chat and room take --nodes N (N clustered nodes in process, the clients
// spread over them: cross-node rows) or --servers (a running cluster).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tickbench:", err)
		}
		os.Exit(2)
	}
}

const usage = `usage: tickbench <command> [flags]

commands:
  echo      round trips of a payload over each transport (and the udp-raw / kcp-bare baselines)
  room      R rooms x C clients: input-to-broadcast latency, delivery, join time, server CPU/RSS
  connect   a bounded storm of new sessions: handshakes/s, time to Welcome
  chat      direct and group message delivery latency
  matrix    the standard matrix (echo at 0/1/5/15% loss, a connect storm, room runs), JSON + HTML + SVG under --out
  report    render report.html and the SVG plots again from runs' JSON (no run), targets met/missed
  serve     run a tickwire server and the baseline servers: udp-raw/kcp-bare echo, udp-raw room relay (target of --server)

Run "tickbench <command> -h" for its flags. Without --server every command
starts an in-process server on 127.0.0.1; chat and room --nodes N start N
clustered nodes (embedded NATS, one PostgreSQL) and spread the clients over them.
`

// run is main without the process: it parses args, runs one command and
// writes to stdout/stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "echo":
		return cmdEcho(ctx, rest, stdout, stderr)
	case "room":
		return cmdRoom(ctx, rest, stdout, stderr)
	case "connect":
		return cmdConnect(ctx, rest, stdout, stderr)
	case "chat":
		return cmdChat(ctx, rest, stdout, stderr)
	case "matrix":
		return cmdMatrix(ctx, rest, stdout, stderr)
	case "report":
		return cmdReport(ctx, rest, stdout, stderr)
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
