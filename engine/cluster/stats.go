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

// DirectoryStats is a snapshot of the directory's counters.
type DirectoryStats struct {
	// OwnRooms are this node's rooms as published; RemoteRooms the
	// other live nodes' rooms in the replica.
	OwnRooms    int `json:"own_rooms"`
	RemoteRooms int `json:"remote_rooms"`
	// Published counts the events this node published, PublishErrors the
	// ones NATS refused (the others then resync).
	Published     uint64 `json:"events_published"`
	PublishErrors uint64 `json:"publish_errors"`
	// Applied counts the other nodes' events applied; Gaps the sequence
	// gaps found; Syncs the snapshots fetched and SyncErrors those that
	// failed; BadPayloads the messages that did not decode.
	Applied     uint64 `json:"events_applied"`
	Gaps        uint64 `json:"gaps"`
	Syncs       uint64 `json:"syncs"`
	SyncErrors  uint64 `json:"sync_errors"`
	BadPayloads uint64 `json:"bad_payloads"`
	// RoomsDropped counts remote rooms forgotten because their node died.
	RoomsDropped uint64 `json:"rooms_dropped"`
	// Lookups (join by id), Matches (join-or-create) and Lists (RoomList)
	// asked of the directory; NotFound the lookups no live node answered;
	// Unavailable those refused because NATS was unreachable.
	Lookups uint64 `json:"lookups"`
	Matches uint64 `json:"matches"`
	Lists   uint64 `json:"lists"`
	// ListsReused are the wide lists (no label) answered from a recent
	// walk of the replica (Directory.ListRooms).
	ListsReused uint64 `json:"lists_reused"`
	NotFound    uint64 `json:"not_found"`
	Unavailable uint64 `json:"unavailable"`
	// Redirects counts the redirects issued; Tickets the tickets
	// redeemed here (redirects followed) and refused, by reason.
	Redirects uint64      `json:"redirects_issued"`
	Tickets   TicketStats `json:"tickets"`
}

// Stats returns a snapshot of the directory's counters.
func (d *Directory) Stats() DirectoryStats {
	d.ownMu.Lock()
	own := len(d.own)
	d.ownMu.Unlock()
	d.mu.Lock()
	remote := len(d.byID)
	d.mu.Unlock()
	s := &d.stats
	return DirectoryStats{
		OwnRooms: own, RemoteRooms: remote,
		Published: s.published.Load(), PublishErrors: s.publishErrors.Load(), Applied: s.applied.Load(),
		Gaps: s.gaps.Load(), Syncs: s.syncs.Load(), SyncErrors: s.syncErrors.Load(), BadPayloads: s.bad.Load(),
		RoomsDropped: s.dropped.Load(), Lookups: s.lookups.Load(), Matches: s.matches.Load(), Lists: s.lists.Load(), ListsReused: s.listsReused.Load(),
		NotFound: s.notFound.Load(), Unavailable: s.unavailable.Load(), Redirects: s.redirects.Load(),
		Tickets: d.tickets.Stats(),
	}
}

// Collector returns a prometheus.Collector of the directory's counters.
func (d *Directory) Collector() prometheus.Collector {
	var (
		rooms     = promx.Desc("cluster_directory_rooms", "Rooms in the directory, by owner (own: this node's, remote: the others').", "owner")
		ops       = promx.Desc("cluster_directory_operations_total", "Directory operations, by op.", "op")
		errs      = promx.Desc("cluster_directory_errors_total", "Directory operations that failed, by reason.", "reason")
		dropped   = promx.Desc("cluster_directory_rooms_dropped_total", "Remote rooms forgotten because their node died.")
		redirects = promx.Desc("cluster_redirects_total", "Redirects issued by this node and followed to it (tickets redeemed here).", "event")
		refused   = promx.Desc("cluster_tickets_refused_total", "Redirect tickets refused here, by reason.", "reason")
	)
	return &promx.Collector{
		Descs: []*prometheus.Desc{rooms, ops, errs, dropped, redirects, refused},
		Read: func(ch chan<- prometheus.Metric) {
			st := d.Stats()
			promx.Gauge(ch, rooms, st.OwnRooms, "own")
			promx.Gauge(ch, rooms, st.RemoteRooms, "remote")
			promx.CounterMap(ch, ops, map[string]uint64{"publish": st.Published, "apply": st.Applied,
				"sync": st.Syncs, "lookup": st.Lookups, "match": st.Matches, "list": st.Lists})
			promx.CounterMap(ch, errs, map[string]uint64{"publish": st.PublishErrors, "gap": st.Gaps,
				"sync": st.SyncErrors, "bad_payload": st.BadPayloads, "not_found": st.NotFound,
				"unavailable": st.Unavailable})
			promx.Counter(ch, dropped, st.RoomsDropped)
			promx.CounterMap(ch, redirects, map[string]uint64{"issued": st.Redirects, "followed": st.Tickets.Redeemed})
			promx.CounterMap(ch, refused, map[string]uint64{"bad": st.Tickets.RefusedBad, "expired": st.Tickets.RefusedExpired,
				"reused": st.Tickets.RefusedReused, "busy": st.Tickets.RefusedBusy})
		},
	}
}
