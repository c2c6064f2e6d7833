package cluster

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// NodeInfo is one node as the cluster sees it.
type NodeInfo struct {
	// ID is the node's configured id (Config.NodeID), unique in the
	// cluster.
	ID string `json:"id"`
	// Boot tells two runs of the same node id apart (the start time in
	// Unix nanoseconds): a node that restarts within the death bound
	// is a new incarnation, and the old one is reported gone.
	Boot int64 `json:"boot"`
	// URL is the base URL of the node's HTTP API (Config.Advertise): a
	// client redirected there learns the node's transports from it.
	URL string `json:"url"`
}

// memberEvent is what a membership change tells the node's callbacks.
type memberEvent struct {
	info NodeInfo
	up   bool // false: gone
}

// members is the membership table: the live nodes other than this one,
// by id, with when each was last heard. It is sans-IO (the caller passes
// the time and acts on the events returned) and owned by the node's
// membership goroutine.
type members struct {
	self      string
	deadAfter time.Duration
	nodes     map[string]*member
}

type member struct {
	info  NodeInfo
	heard time.Time
	seq   uint64 // the directory sequence the node last announced
}

func newMembers(self string, deadAfter time.Duration) *members {
	return &members{self: self, deadAfter: deadAfter, nodes: map[string]*member{}}
}

// heard records a heartbeat of info at now. It returns the events it
// causes: up for a node not known, gone then up for a known id with a
// new boot (a restart within the death bound).
func (m *members) heard(now time.Time, info NodeInfo, seq uint64) []memberEvent {
	if info.ID == m.self {
		return nil
	}
	cur := m.nodes[info.ID]
	switch {
	case cur == nil:
		m.nodes[info.ID] = &member{info: info, heard: now, seq: seq}
		return []memberEvent{{info: info, up: true}}
	case info.Boot < cur.info.Boot:
		return nil // a late heartbeat of an incarnation already replaced
	case info.Boot > cur.info.Boot:
		old := cur.info
		*cur = member{info: info, heard: now, seq: seq}
		return []memberEvent{{info: old}, {info: info, up: true}}
	}
	cur.heard, cur.seq = now, seq
	cur.info.URL = info.URL
	return nil
}

// left removes a node that said goodbye (the boot must match the
// incarnation known).
func (m *members) left(id string, boot int64) []memberEvent {
	cur := m.nodes[id]
	if cur == nil || cur.info.Boot != boot {
		return nil
	}
	delete(m.nodes, id)
	return []memberEvent{{info: cur.info}}
}

// expire removes the nodes not heard for deadAfter as of now.
func (m *members) expire(now time.Time) []memberEvent {
	var out []memberEvent
	for _, id := range slices.Sorted(maps.Keys(m.nodes)) {
		if cur := m.nodes[id]; now.Sub(cur.heard) >= m.deadAfter {
			delete(m.nodes, id)
			out = append(out, memberEvent{info: cur.info})
		}
	}
	return out
}

// grace marks every node heard at now: after this node's own link to
// NATS was down it heard nobody, which says nothing about the others.
func (m *members) grace(now time.Time) {
	for _, cur := range m.nodes {
		cur.heard = now
	}
}

// live lists the live nodes by id.
func (m *members) live() []NodeInfo {
	out := make([]NodeInfo, 0, len(m.nodes))
	for _, cur := range m.nodes {
		out = append(out, cur.info)
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
