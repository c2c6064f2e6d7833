// Package clustertest runs a cluster of complete tickwire nodes in one
// test process: an embedded NATS server (internal/natstest), N servers
// started by servertest (KCP and TCP on loopback port 0, their own data
// directory) sharing one token key, each a cluster node with fast
// heartbeats, and helpers to reach them as clients and to kill them.
//
//	c := clustertest.Start(t, 3, clustertest.Options{})
//	ann := c.Dial(t, 0, "ann") // a guest on node 0, over KCP
//
// Everything is shut down in t.Cleanup.
package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/cluster"
	"github.com/tickwire/tickwire/internal/natstest"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// Heartbeat is the nodes' heartbeat interval in tests (100 ms: a dead
// node is declared gone within DeathBound, 325 ms).
const Heartbeat = 100 * time.Millisecond

// DeathBound is how long the other nodes take, at most, to declare a
// crashed node gone with Heartbeat.
var DeathBound = cluster.Config{HeartbeatInterval: Heartbeat}.DeathBound()

// Options configure a test cluster.
type Options struct {
	// Configure, if set, edits node i's server.Config before it starts
	// (a store DSN, room types, limits). Its Cluster and Engine.TokenKey
	// are already set.
	Configure func(i int, cfg *server.Config)
	// NoSharedKey leaves Engine.TokenKey unset: with a shared PostgreSQL
	// store (Configure sets StoreDSN) the nodes share the key kept in the
	// database, as a deployment does.
	NoSharedKey bool
}

// Cluster is a running test cluster.
type Cluster struct {
	NATS *natstest.Server
	// Key is the token key every node shares: a token from any node is
	// good on all of them.
	Key   []byte
	opts  Options
	mu    sync.Mutex // guards nodes
	nodes []*Node
}

// Node is one tickwire node of the cluster.
type Node struct {
	ID  string
	Srv *server.Server
	Cfg server.Config
	// stopped is set once the node was stopped or killed.
	stopped bool
}

// Start starts NATS and n nodes ("n0", "n1"...) and waits until each
// sees all the others.
func Start(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{NATS: natstest.Start(t), Key: bytes.Repeat([]byte{0x5a}, 32), opts: opts}
	for i := range n {
		c.StartNode(t, i)
	}
	c.WaitLive(t)
	return c
}

// StartNode starts node i (again, after Stop or Kill: a new incarnation
// with a fresh data directory).
func (c *Cluster) StartNode(t testing.TB, i int) *Node {
	t.Helper()
	id := fmt.Sprintf("n%d", i)
	cfg := server.Config{
		Cluster: server.ClusterConfig{
			NATS:   []string{c.NATS.URL()},
			NodeID: id,
			Node: cluster.Config{HeartbeatInterval: Heartbeat,
				ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond},
		},
	}
	if !c.opts.NoSharedKey {
		cfg.Engine.TokenKey = c.Key
	}
	if c.opts.Configure != nil {
		c.opts.Configure(i, &cfg)
	}
	srv := servertest.Start(t, cfg)
	nd := &Node{ID: id, Srv: srv, Cfg: cfg}
	c.mu.Lock()
	for len(c.nodes) <= i {
		c.nodes = append(c.nodes, nil)
	}
	c.nodes[i] = nd
	c.mu.Unlock()
	return nd
}

// Node returns node i.
func (c *Cluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Running lists the nodes not stopped.
func (c *Cluster) Running() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Node
	for _, n := range c.nodes {
		if n != nil && !n.stopped {
			out = append(out, n)
		}
	}
	return out
}

// WaitLive waits until every running node sees every other running node
// as live, and nothing else.
func (c *Cluster) WaitLive(t testing.TB) {
	t.Helper()
	require.Eventually(t, func() bool {
		run := c.Running()
		for _, n := range run {
			live := n.Srv.ClusterNode().Live()
			if len(live) != len(run)-1 {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond, "nodes do not all see each other")
}

// Stop shuts node i down cleanly (it says goodbye).
func (c *Cluster) Stop(t testing.TB, i int) {
	t.Helper()
	nd := c.Node(i)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, nd.Srv.Shutdown(ctx))
	c.mu.Lock()
	nd.stopped = true
	c.mu.Unlock()
}

// Kill stops node i as a crash would look to the cluster: its NATS
// connection is cut without a goodbye (the others notice by missed
// heartbeats), then the server is shut down.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	nd := c.Node(i)
	nd.Srv.ClusterNode().Abort()
	c.Stop(t, i)
}

// Token gets a guest token on node i (good on every node).
func (c *Cluster) Token(t testing.TB, i int, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok, err := client.GuestToken(ctx, c.Node(i).Srv.HTTPURL(), name)
	require.NoError(t, err)
	return tok
}

// Dial connects a new guest to node i over KCP (the key pinned from its
// HTTP API, as redirects do too). Its pushes go to Messages(). Closed in
// t.Cleanup.
func (c *Cluster) Dial(t testing.TB, i int, name string) *client.Client {
	t.Helper()
	return c.DialToken(t, i, c.Token(t, i, name), client.Options{})
}

// DialToken connects with tok to node i; o's Dial, Dials and Token are
// set here.
func (c *Cluster) DialToken(t testing.TB, i int, tok string, o client.Options) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dials, err := client.KCPFromHTTP(ctx, c.Node(i).Srv.HTTPURL())
	require.NoError(t, err)
	o.Dials, o.Token = dials, tok
	cl, err := client.Dial(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}
