package benchserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tickwire/tickwire/engine/cluster"
	"github.com/tickwire/tickwire/server"
)

// ClusterConfig says how to start a cluster of benchmark servers in this
// process (tickbench chat/room --nodes N).
type ClusterConfig struct {
	// Nodes is the number of tickwire nodes (at least 2).
	Nodes int
	// StoreDSN is the PostgreSQL database every node shares (users,
	// tokens, friends, groups, messages): required, since cross-node
	// social needs one store.
	StoreDSN string
	// DataDir holds a directory per node ("n0", "n1"...) and the embedded
	// NATS server's ("nats"); required.
	DataDir string
	// Node is every node's configuration; its listen addresses and
	// DataDir are ignored (each node takes free loopback ports and its
	// own directory).
	Node Config
	// Heartbeat is the nodes' heartbeat interval (default: the cluster
	// package's).
	Heartbeat time.Duration
}

// Cluster is an embedded NATS server and the tickwire nodes joined
// through it, all in this process.
type Cluster struct {
	NATS  *cluster.Embedded
	Nodes []*server.Server
}

// clusterReady bounds the wait for the nodes to see each other.
const clusterReady = 15 * time.Second

// StartCluster starts an embedded NATS server on a free loopback port and
// cfg.Nodes servers ("n0", "n1"...) joined through it, sharing
// cfg.StoreDSN, one after the other (the first migrates the database),
// and waits until every node sees all the others. Shutdown stops them.
func StartCluster(ctx context.Context, cfg ClusterConfig) (_ *Cluster, err error) {
	if cfg.Nodes < 2 || cfg.StoreDSN == "" || cfg.DataDir == "" {
		return nil, fmt.Errorf("benchserver: a cluster needs at least 2 nodes (have %d), a StoreDSN and a DataDir", cfg.Nodes)
	}
	c := &Cluster{}
	defer func() {
		if err != nil {
			_ = c.Shutdown(context.Background()) // the start error is the one reported
		}
	}()
	c.NATS, err = cluster.StartEmbedded(cluster.EmbeddedConfig{Addr: "127.0.0.1:0", StoreDir: filepath.Join(cfg.DataDir, "nats")})
	if err != nil {
		return nil, fmt.Errorf("benchserver: embedded NATS: %w", err)
	}
	for i := range cfg.Nodes {
		spec := cfg.Node
		spec.KCPAddr, spec.TCPAddr, spec.HTTPAddr, spec.WebRTCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		if spec.AdminAddr != "" {
			spec.AdminAddr = "127.0.0.1:0"
		}
		spec.DataDir = filepath.Join(cfg.DataDir, fmt.Sprintf("n%d", i))
		if err := os.MkdirAll(spec.DataDir, 0o700); err != nil {
			return nil, err
		}
		sc := serverConfig(spec)
		sc.StoreDSN = cfg.StoreDSN
		sc.Cluster = server.ClusterConfig{NATS: []string{c.NATS.URL()}, NodeID: fmt.Sprintf("n%d", i)}
		sc.Cluster.Node.HeartbeatInterval = cfg.Heartbeat
		srv, err := server.Start(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("benchserver: node n%d: %w", i, err)
		}
		c.Nodes = append(c.Nodes, srv)
	}
	ctx, cancel := context.WithTimeout(ctx, clusterReady)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !c.allLive() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("benchserver: the %d nodes do not all see each other after %v", cfg.Nodes, clusterReady)
		case <-t.C:
		}
	}
	return c, nil
}

func (c *Cluster) allLive() bool {
	for _, n := range c.Nodes {
		if len(n.ClusterNode().Live()) != len(c.Nodes)-1 {
			return false
		}
	}
	return true
}

// Shutdown stops the nodes, then NATS. It is idempotent.
func (c *Cluster) Shutdown(ctx context.Context) error {
	var errs []error
	for _, n := range c.Nodes {
		errs = append(errs, n.Shutdown(ctx))
	}
	if c.NATS != nil {
		c.NATS.Close()
	}
	return errors.Join(errs...)
}
