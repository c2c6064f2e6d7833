package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tickwire/tickwire/bench"
	"github.com/tickwire/tickwire/internal/benchserver"
	"github.com/tickwire/tickwire/internal/pgserver"
)

// clusterFlags are the flags of a run against the nodes of a cluster
// (chat and room): --nodes N in-process nodes, or --servers naming
// running ones.
type clusterFlags struct {
	nodes   int
	store   string
	servers string
}

func (f *clusterFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.nodes, "nodes", 1, "start this many tickwire nodes in this process, clustered over an embedded NATS server and sharing one PostgreSQL database (--store), and spread the clients over them round-robin (docs/CLUSTER.md)")
	fs.StringVar(&f.store, "store", "", "with --nodes: the PostgreSQL database the nodes share (postgres://...); default: a temporary PostgreSQL server started for the run (needs Debian's postgresql package)")
	fs.StringVar(&f.servers, "servers", "", "comma-separated running nodes of one cluster, each a host serving the --*-port ports, or host:httpport (the KCP port then from its GET /v1/kcp; TCP still --tcp-port); the clients are spread over them round-robin (instead of --server)")
}

// clustered reports whether the run targets several nodes.
func (f *clusterFlags) clustered() bool { return f.nodes > 1 || f.servers != "" }

func (f *clusterFlags) check(c *common) error {
	switch {
	case f.nodes < 1:
		return fmt.Errorf("--nodes %d: want at least 1", f.nodes)
	case f.servers != "" && (c.server != "" || f.nodes > 1):
		return errors.New("--servers names running nodes: not with --server or --nodes")
	case f.store != "" && f.nodes < 2:
		return errors.New("--store is for --nodes N (N >= 2)")
	case f.clustered() && c.kcpKey != "":
		return errors.New("--kcp-key pins one server's key: a cluster run fetches each node's")
	}
	return nil
}

// env builds the environment of a cluster run: the remote nodes of
// --servers, or --nodes in-process nodes that stop shuts down (then the
// PostgreSQL server it started, if any); without either, c.env's.
func (f *clusterFlags) env(ctx context.Context, c *common, stderr io.Writer) (*bench.Env, func() error, error) {
	if !f.clustered() {
		return c.env(ctx, stderr)
	}
	if f.servers != "" {
		var nodes []bench.Target
		for _, h := range strings.Split(f.servers, ",") {
			if h = strings.TrimSpace(h); h == "" {
				continue
			}
			cc := *c
			cc.server = h
			host, port, err := net.SplitHostPort(h)
			withPort := err == nil
			if withPort {
				// host:httpport: the KCP port from its HTTP API.
				if cc.ports.HTTP, err = strconv.Atoi(port); err != nil {
					return nil, nil, fmt.Errorf("--servers %q: bad port", h)
				}
				cc.server = host
			}
			env, _, err := cc.env(ctx, stderr)
			if err != nil {
				return nil, nil, err
			}
			t := env.Target
			if withPort {
				if t, err = t.WithKCPFromHTTP(ctx); err != nil {
					return nil, nil, err
				}
			}
			nodes = append(nodes, t)
		}
		if len(nodes) < 2 {
			return nil, nil, fmt.Errorf("--servers %q: want at least 2 nodes", f.servers)
		}
		env, err := c.baseEnv(stderr)
		if err != nil {
			return nil, nil, err
		}
		env.Target, env.Nodes = nodes[0], nodes
		return env, func() error { return nil }, nil
	}
	env, err := c.baseEnv(stderr)
	if err != nil {
		return nil, nil, err
	}
	var stops []func() error
	stopAll := func() error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i]())
		}
		return errors.Join(errs...)
	}
	dir, err := os.MkdirTemp("", "tickbench-cluster-")
	if err != nil {
		return nil, nil, err
	}
	stops = append(stops, func() error { return os.RemoveAll(dir) })
	dsn := f.store
	if dsn == "" {
		pg, err := pgserver.Start(pgserver.Options{})
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("--nodes needs a PostgreSQL database (--store postgres://...) or PostgreSQL installed to start one: %w", err), stopAll())
		}
		stops = append(stops, pg.Stop)
		dsn = pg.DSN()
		fmt.Fprintf(stderr, "tickbench: temporary PostgreSQL on 127.0.0.1:%d\n", pg.Port())
	}
	spec := benchserver.Config{}
	spec.KCP.Redundancy.BudgetBytesPerSec = c.kcpBudget
	spec.KCP.Redundancy.SparseRate = c.kcpSparse
	spec.KCP.AllowPlaintext = c.kcpPlaintext
	cl, err := benchserver.StartCluster(ctx, benchserver.ClusterConfig{Nodes: f.nodes, StoreDSN: dsn, DataDir: dir, Node: spec})
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("starting %d in-process nodes: %w", f.nodes, err), stopAll())
	}
	stops = append(stops, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cl.Shutdown(ctx)
	})
	env.Nodes = clusterTargets(cl)
	env.Target = env.Nodes[0]
	return env, stopAll, nil
}

// clusterTargets are the addresses of an in-process cluster's nodes.
func clusterTargets(cl *benchserver.Cluster) []bench.Target {
	out := make([]bench.Target, len(cl.Nodes))
	for i, n := range cl.Nodes {
		out[i] = bench.NodeTarget(n)
	}
	return out
}
