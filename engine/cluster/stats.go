package cluster

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/internal/promx"
)

// Stats is a snapshot of the node's counters.
type Stats struct {
	NodeID    string `json:"node_id"`
	Connected bool   `json:"connected"`
	// NodesLive counts the other live nodes.
	NodesLive int `json:"nodes_live"`
	// NodesUp and NodesGone count membership changes seen; Goodbyes the
	// departures announced (the rest were missed heartbeats).
	NodesUp   uint64 `json:"nodes_up"`
	NodesGone uint64 `json:"nodes_gone"`
	Goodbyes  uint64 `json:"goodbyes"`
	// Disconnects and Reconnects count the NATS connection's losses and
	// recoveries.
	Disconnects uint64 `json:"nats_disconnects"`
	Reconnects  uint64 `json:"nats_reconnects"`
	// PublishDropped counts publishes refused (reconnect buffer full,
	// connection closed).
	PublishDropped uint64 `json:"publish_dropped"`
	// BadPayloads counts messages from other nodes that did not decode;
	// SlowConsumer the times a subscription's buffer overflowed.
	BadPayloads  uint64 `json:"bad_payloads"`
	SlowConsumer uint64 `json:"slow_consumer"`
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	live := len(n.mem.nodes)
	n.mu.Unlock()
	return Stats{
		NodeID: n.cfg.NodeID, Connected: n.Connected(), NodesLive: live,
		NodesUp: n.stats.up.Load(), NodesGone: n.stats.gone.Load(), Goodbyes: n.stats.goodbyes.Load(),
		Disconnects: n.stats.disconnects.Load(), Reconnects: n.stats.reconnects.Load(),
		PublishDropped: n.stats.publishDropped.Load(), BadPayloads: n.stats.badPayloads.Load(),
		SlowConsumer: n.stats.slowConsumer.Load(),
	}
}

// Collector returns a prometheus.Collector of the node's counters.
func (n *Node) Collector() prometheus.Collector {
	var (
		live      = promx.Desc("cluster_nodes_live", "Other cluster nodes live now, as this node sees them.")
		connected = promx.Desc("cluster_nats_connected", "1 while the node is connected to NATS.")
		changes   = promx.Desc("cluster_node_changes_total", "Membership changes seen, by kind (up, gone, goodbye).", "kind")
		conn      = promx.Desc("cluster_nats_connection_events_total", "NATS connection losses and recoveries.", "event")
		dropped   = promx.Desc("cluster_publish_dropped_total", "Publishes refused (reconnect buffer full or connection closed).")
		bad       = promx.Desc("cluster_bad_payloads_total", "Messages from other nodes that did not decode.")
		slow      = promx.Desc("cluster_slow_consumer_total", "Times a cluster subscription's buffer overflowed.")
	)
	return &promx.Collector{
		Descs: []*prometheus.Desc{live, connected, changes, conn, dropped, bad, slow},
		Read: func(ch chan<- prometheus.Metric) {
			st := n.Stats()
			promx.Gauge(ch, live, st.NodesLive)
			c := 0
			if st.Connected {
				c = 1
			}
			promx.Gauge(ch, connected, c)
			promx.CounterMap(ch, changes, map[string]uint64{"up": st.NodesUp, "gone": st.NodesGone, "goodbye": st.Goodbyes})
			promx.CounterMap(ch, conn, map[string]uint64{"disconnect": st.Disconnects, "reconnect": st.Reconnects})
			promx.Counter(ch, dropped, st.PublishDropped)
			promx.Counter(ch, bad, st.BadPayloads)
			promx.Counter(ch, slow, st.SlowConsumer)
		},
	}
}
