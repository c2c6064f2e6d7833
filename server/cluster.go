package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/engine/cluster"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// ClusterConfig makes the server one node of a cluster (docs/CLUSTER.md).
// The zero value is a single node with no external service.
type ClusterConfig struct {
	// NATS lists the NATS servers of the cluster ("nats://host:4222").
	NATS []string
	// EmbeddedNATS runs a NATS server in this process (JetStream in
	// DataDir/nats) on EmbeddedAddr (default 127.0.0.1:4222; port 0 picks
	// one), and joins the cluster through it: a single node, a
	// development setup, or the first node others list in their NATS.
	EmbeddedNATS bool
	EmbeddedAddr string
	// NodeID names this node (cluster.Config.NodeID); required when
	// clustered.
	NodeID string
	// Advertise is the base URL of this node's HTTP API as clients reach
	// it, where redirects send them (default: the HTTP listener's URL,
	// right only when clients reach it at that address).
	Advertise string
	// Node carries the finer settings (heartbeats, reconnection, subject
	// prefix, NATS options); its NodeID, URLs, Advertise and Logger are
	// filled from the fields above and the server's.
	Node cluster.Config
	// TicketTTL is a redirect ticket's lifetime (default 10s).
	TicketTTL time.Duration
}

// Enabled reports whether the server joins a cluster.
func (c ClusterConfig) Enabled() bool { return len(c.NATS) > 0 || c.EmbeddedNATS }

// DefaultEmbeddedNATSAddr is where the embedded NATS server listens by
// default.
const DefaultEmbeddedNATSAddr = "127.0.0.1:4222"

// clusterParts is what a clustered server runs.
type clusterParts struct {
	embedded *cluster.Embedded // nil with external NATS
	node     *cluster.Node
	dir      *cluster.Directory
}

// startCluster joins the cluster when cfg.Cluster says so and hands the
// room hub its directory. Everything it starts is closed with the server
// (s.closer: the directory, then the node, which says goodbye, then the
// embedded NATS).
func (s *Server) startCluster(cfg Config, roomsCfg *rooms.Config) error {
	cc := cfg.Cluster
	if !cc.Enabled() {
		return nil
	}
	p := &clusterParts{}
	ncfg := cc.Node
	ncfg.NodeID, ncfg.URLs = cc.NodeID, append([]string(nil), cc.NATS...)
	ncfg.Advertise = cc.Advertise
	if ncfg.Advertise == "" {
		ncfg.Advertise = s.HTTPURL()
		if s.httpL != nil {
			if a, ok := s.httpL.Addr().(*net.TCPAddr); ok && a.IP.IsUnspecified() {
				cfg.Logger.Warn("cluster: no advertised URL: other nodes will redirect clients to "+ncfg.Advertise+
					", which they cannot reach; set -advertise (ClusterConfig.Advertise)", "node", cc.NodeID)
			}
		}
	}
	if ncfg.Logger == nil {
		ncfg.Logger = cfg.Logger.With("component", "cluster")
	}
	if cc.EmbeddedNATS {
		addr := cc.EmbeddedAddr
		if addr == "" {
			addr = DefaultEmbeddedNATSAddr
		}
		e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{Addr: addr, StoreDir: filepath.Join(cfg.DataDir, "nats")})
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		p.embedded = e
		s.closer = append(s.closer, func() error { e.Close(); return nil })
		ncfg.URLs = append([]string{e.URL()}, ncfg.URLs...)
	}
	node, err := cluster.Start(ncfg)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	p.node = node
	s.closer = append(s.closer, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return node.Close(ctx)
	})
	dir, err := cluster.NewDirectory(node, cluster.DirectoryConfig{TokenKey: cfg.Engine.TokenKey, TicketTTL: cc.TicketTTL})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	p.dir = dir
	s.closer = append(s.closer, func() error { dir.Close(); return nil })
	roomsCfg.Directory = dir
	s.cluster = p
	return nil
}

// ClusterNode is the server's cluster membership (nil on a single node):
// engine/social and an embedder subscribe to OnNodeGone there.
func (s *Server) ClusterNode() *cluster.Node {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.node
}

// ClusterDirectory is the server's room directory (nil on a single node).
func (s *Server) ClusterDirectory() *cluster.Directory {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.dir
}

// EmbeddedNATSURL is the URL of the embedded NATS server ("" without
// one): other nodes list it in their Cluster.NATS.
func (s *Server) EmbeddedNATSURL() string {
	if s.cluster == nil || s.cluster.embedded == nil {
		return ""
	}
	return s.cluster.embedded.URL()
}

// handleReady is GET /readyz: the engine's answer, and on a clustered
// node 503 {"status":"cluster_unavailable"} while NATS is unreachable
// (the node still serves its sessions and rooms, but cannot redirect
// reliably or be found by the others).
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.cluster != nil && !s.cluster.node.Connected() {
		httpapi.WriteJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": "cluster_unavailable"})
		return
	}
	s.eng.HandleReady(w, r)
}

// clusterService shows the cluster's counters in GET /v1/stats (under
// "services"."cluster"); it handles no frames.
type clusterService struct{ p *clusterParts }

var (
	_ service.Service       = clusterService{}
	_ service.StatsReporter = clusterService{}
)

func (clusterService) Name() string            { return "cluster" }
func (clusterService) Handles(frame.Kind) bool { return false }
func (clusterService) PeerOpened(service.Peer) {}
func (clusterService) PeerClosed(service.Peer) {}
func (c clusterService) ServiceStats() any {
	return map[string]any{"node": c.p.node.Stats(), "directory": c.p.dir.Stats(), "live": c.p.node.Live()}
}
func (clusterService) HandleFrame(time.Time, service.Peer, netcode.Channel, frame.Kind, []byte) (uint32, error) {
	return 0, nil
}

// registerCluster adds the cluster's collectors to the server's registry.
func (s *Server) registerCluster() error {
	if s.cluster == nil {
		return nil
	}
	for _, c := range []interface{ Collector() prometheus.Collector }{s.cluster.node, s.cluster.dir} {
		if err := s.reg.Register(c.Collector()); err != nil {
			return fmt.Errorf("server: metrics: %w", err)
		}
	}
	return nil
}
