package cluster

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// The room directory: every node keeps a replica of which rooms every
// live node owns, fed by the owners' events, so that a join for a room
// elsewhere is answered from memory (no round trip on the session's
// reader) with a redirect to the owner. docs/CLUSTER.md, "Room
// directory", has the subjects and the reasons.
//
//	<prefix>.dir.ev.<node>    the owner's changes: {node, boot, seq, set: [entry], gone: [room id]}
//	<prefix>.dir.snap.<node>  request/reply: {after: room id} → {boot, seq, rooms: [entry], more}
//
// Events carry a room's whole state, so applying one twice or late only
// delays a member count; seq (one per event, per node incarnation) finds
// the gaps, and a gap (or a heartbeat announcing a seq not reached within
// a heartbeat) is repaired with a paged snapshot of the owner's rooms.

// Directory limits.
const (
	// MaxDirPayload bounds a directory event or snapshot page.
	MaxDirPayload = 512 << 10
	// dirBatch is the most room changes in one event or snapshot page.
	dirBatch = 256
	// maxBuffered bounds the events kept for a node while its snapshot
	// is fetched; past it they are dropped and the sync repeats.
	maxBuffered = 1024
)

// ErrRoomNotFound: no live node has the room.
var ErrRoomNotFound = &netcode.CodedError{Code: netcode.CodeRoomNotFound, Msg: "no open room with that id in the cluster"}

// Entry is one room in the directory.
type Entry struct {
	Room     uint64 `json:"room"`
	Type     string `json:"type"`
	Label    string `json:"label,omitempty"`
	Members  int    `json:"members"`
	Capacity int    `json:"cap"`
	Private  bool   `json:"priv,omitempty"`
	// Rate is the room's tick rate (listed by RoomList); 0 from a node
	// that does not send it.
	Rate int `json:"rate,omitempty"`
	// Creator is the user a client-created room counts against (the
	// rooms-per-user limit is global); empty for the embedder's rooms.
	Creator string `json:"creator,omitempty"`
}

type dirEvent struct {
	Node string   `json:"node"`
	Boot int64    `json:"boot"`
	Seq  uint64   `json:"seq"`
	Set  []Entry  `json:"set,omitempty"`
	Gone []uint64 `json:"gone,omitempty"`
}

type snapRequest struct {
	After uint64 `json:"after"`
}

type snapPage struct {
	Boot  int64   `json:"boot"`
	Seq   uint64  `json:"seq"`
	Rooms []Entry `json:"rooms"`
	More  bool    `json:"more"`
}

func decodeJSON(b []byte, v any) error {
	if len(b) > MaxDirPayload {
		return fmt.Errorf("%w: %d bytes", errBadPayload, len(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", errBadPayload, err)
	}
	return nil
}

func (e *Entry) valid() bool {
	return e.Room != 0 && e.Type != "" && len(e.Type) <= frame.MaxNameLen && len(e.Label) <= frame.MaxNameLen &&
		len(e.Creator) <= frame.MaxIDLen && e.Members >= 0 && e.Capacity >= 0 && e.Capacity <= 1<<16 && e.Rate >= 0 && e.Rate <= frame.MaxRoomTickRate
}

func decodeEvent(b []byte) (dirEvent, error) {
	var ev dirEvent
	if err := decodeJSON(b, &ev); err != nil {
		return ev, err
	}
	if !validNodeID(ev.Node) || ev.Seq == 0 || len(ev.Set) > dirBatch || len(ev.Gone) > dirBatch {
		return ev, fmt.Errorf("%w: directory event fields", errBadPayload)
	}
	for i := range ev.Set {
		if !ev.Set[i].valid() {
			return ev, fmt.Errorf("%w: directory entry", errBadPayload)
		}
	}
	return ev, nil
}

func decodePage(b []byte) (snapPage, error) {
	var p snapPage
	if err := decodeJSON(b, &p); err != nil {
		return p, err
	}
	if len(p.Rooms) > dirBatch {
		return p, fmt.Errorf("%w: snapshot page of %d rooms", errBadPayload, len(p.Rooms))
	}
	for i := range p.Rooms {
		if !p.Rooms[i].valid() {
			return p, fmt.Errorf("%w: directory entry", errBadPayload)
		}
	}
	return p, nil
}

// DirectoryConfig configures a Directory.
type DirectoryConfig struct {
	// TokenKey is the nodes' shared key (the engine's token key): the
	// redirect tickets are signed with a key derived from it.
	TokenKey []byte
	// TicketTTL is a redirect ticket's lifetime (default 10s).
	TicketTTL time.Duration
}

// Directory is the cluster's room directory as seen from this node: it
// publishes this node's rooms and keeps a replica of every other live
// node's. It implements the hub's rooms.Directory.
type Directory struct {
	node    *Node
	tickets *Tickets
	subs    []*nats.Subscription

	wake     chan struct{} // capacity 1: pending changes to publish
	syncWake chan struct{} // capacity 1: nodes to sync
	stop     chan struct{}
	wg       sync.WaitGroup
	stats    dirCounters

	// ownMu guards this node's rooms. Publish and Unpublish, called on
	// every seat change with rooms.Hub.mu held, take only it, so they
	// never wait behind a walk of the replica (RoomList, a snapshot
	// applied). Never held with mu.
	ownMu   sync.Mutex
	own     map[uint64]Entry
	pending map[uint64]*Entry // changes not yet published: nil means closed

	mu      sync.Mutex // guards the fields below; taken after rooms.Hub.mu, never before
	remote  map[string]*remoteNode
	byID    map[uint64]*remoteNode              // remote room → its owner
	byKey   map[matchKey]map[uint64]*remoteNode // public remote rooms by type and label
	byType  map[string]map[string]struct{}      // the labels of byKey's keys, by type
	byLabel map[string]map[string]struct{}      // the types of byKey's keys, by label
	wide    map[string]wideList                 // recent wide RoomList answers, by type ("" any)
	created map[string]int                      // remote client-created rooms by creator
	toSync  map[string]struct{}
	closed  bool
}

type matchKey struct{ typ, label string }

// wideTTL is how long the answer to a wide RoomList (any label: a walk
// of every public room of a type, or of all of them) is served again
// instead of walking the replica anew. Member counts in the replica are
// a publish behind the owners anyway; the reuse bounds what a flood of
// wide lists from many sessions costs a node to one walk per type per
// wideTTL. Only types with rooms in the replica are kept, so the map is
// bounded by the registered room types.
const wideTTL = 250 * time.Millisecond

// wideList is one wide RoomList answer: the lowest room ids, at most
// limit of them.
type wideList struct {
	at    time.Time
	limit int
	rooms []Entry
}

type remoteNode struct {
	info      NodeInfo
	seq       uint64 // last event applied
	announced uint64 // the seq its previous heartbeat announced
	rooms     map[uint64]Entry
	syncing   bool
	buffered  []dirEvent
}

type dirCounters struct {
	published, publishErrors, applied, gaps, bad           atomic.Uint64
	syncs, syncErrors, dropped, lookups, matches, notFound atomic.Uint64
	redirects, unavailable, lists, listsReused             atomic.Uint64
}

// NewDirectory starts the directory on node. Close it before the node.
func NewDirectory(node *Node, cfg DirectoryConfig) (*Directory, error) {
	tk, err := NewTickets(TicketConfig{Key: cfg.TokenKey, NodeID: node.ID(), Boot: node.boot, TTL: cfg.TicketTTL, Clock: node.cfg.Clock})
	if err != nil {
		return nil, err
	}
	d := &Directory{
		node: node, tickets: tk,
		wake: make(chan struct{}, 1), syncWake: make(chan struct{}, 1), stop: make(chan struct{}),
		own: map[uint64]Entry{}, pending: map[uint64]*Entry{}, remote: map[string]*remoteNode{},
		byID: map[uint64]*remoteNode{}, byKey: map[matchKey]map[uint64]*remoteNode{},
		byType: map[string]map[string]struct{}{}, byLabel: map[string]map[string]struct{}{}, wide: map[string]wideList{},
		created: map[string]int{}, toSync: map[string]struct{}{},
	}
	nc := node.Conn()
	for subj, h := range map[string]nats.MsgHandler{
		node.subject("dir.ev.*"):              d.onEvent,
		node.subject("dir.snap." + node.ID()): d.onSnapshot,
	} {
		sub, err := nc.Subscribe(subj, h)
		if err != nil {
			d.unsubscribe()
			return nil, fmt.Errorf("cluster: subscribe %s: %w", subj, err)
		}
		d.subs = append(d.subs, sub)
	}
	for _, f := range []func(){d.publishLoop, d.syncLoop} {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			f()
		}()
	}
	node.watch(d)
	// Nodes already live when the directory starts.
	for _, info := range node.Live() {
		d.nodeUp(info)
	}
	return d, nil
}

func (d *Directory) unsubscribe() {
	for _, s := range d.subs {
		_ = s.Unsubscribe() // the connection may be closed already: nothing left to stop
	}
}

// Close stops publishing and following the other nodes. It is
// idempotent.
func (d *Directory) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	d.unsubscribe()
	close(d.stop)
	d.wg.Wait()
}

// Tickets is the directory's ticket issuer and redeemer.
func (d *Directory) Tickets() *Tickets { return d.tickets }

// ---- this node's rooms ----------------------------------------------------

// Publish announces the state of a room this node owns (opened or
// changed). It never blocks: the change is published by the directory's
// own goroutine, coalesced with later changes of the same room.
func (d *Directory) Publish(id uint64, info frame.RoomInfo, private bool, creator string) {
	e := Entry{Room: id, Type: info.Type, Label: info.Label, Members: int(info.Members), Capacity: int(info.Capacity),
		Private: private, Creator: creator, Rate: int(info.TickRate)}
	d.ownMu.Lock()
	d.own[id] = e
	d.pending[id] = &e
	d.ownMu.Unlock()
	d.signal()
}

// Unpublish announces that a room this node owned closed.
func (d *Directory) Unpublish(id uint64) {
	d.ownMu.Lock()
	delete(d.own, id)
	d.pending[id] = nil
	d.ownMu.Unlock()
	d.signal()
}

func (d *Directory) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// publishLoop publishes the pending changes in events of at most
// dirBatch rooms, and forgets expired tickets.
func (d *Directory) publishLoop() {
	sweep := time.NewTicker(d.tickets.TTL())
	defer sweep.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-sweep.C:
			d.tickets.sweep()
		case <-d.wake:
			d.ownMu.Lock()
			pending := d.pending
			d.pending = map[uint64]*Entry{}
			d.ownMu.Unlock()
			ids := slices.Sorted(maps.Keys(pending))
			for len(ids) > 0 {
				n := min(len(ids), dirBatch)
				ev := dirEvent{Node: d.node.ID(), Boot: d.node.boot}
				for _, id := range ids[:n] {
					if e := pending[id]; e != nil {
						ev.Set = append(ev.Set, *e)
					} else {
						ev.Gone = append(ev.Gone, id)
					}
				}
				ids = ids[n:]
				ev.Seq = d.node.dirSeq.Add(1)
				b, err := json.Marshal(ev)
				if err == nil && d.node.publish(d.node.subject("dir.ev."+d.node.ID()), b) {
					d.stats.published.Add(1)
				} else {
					// The others see the gap (the seq in the heartbeat) and
					// fetch a snapshot.
					d.stats.publishErrors.Add(1)
				}
			}
		}
	}
}

// onSnapshot answers another node's snapshot request with a page of this
// node's rooms, in room id order, after the requested id.
func (d *Directory) onSnapshot(m *nats.Msg) {
	var req snapRequest
	if err := decodeJSON(m.Data, &req); err != nil || m.Reply == "" {
		d.stats.bad.Add(1)
		return
	}
	d.ownMu.Lock()
	ids := slices.Sorted(maps.Keys(d.own))
	i, _ := slices.BinarySearch(ids, req.After+1)
	if req.After == ^uint64(0) {
		i = len(ids)
	}
	page := snapPage{Boot: d.node.boot, Seq: d.node.dirSeq.Load(), Rooms: []Entry{}}
	for _, id := range ids[i:min(len(ids), i+dirBatch)] {
		page.Rooms = append(page.Rooms, d.own[id])
	}
	page.More = i+dirBatch < len(ids)
	d.ownMu.Unlock()
	b, err := json.Marshal(page)
	if err != nil {
		return
	}
	if err := m.Respond(b); err != nil {
		d.stats.publishErrors.Add(1)
	}
}

// ---- the other nodes' rooms ------------------------------------------------

func (d *Directory) nodeUp(info NodeInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.remote[info.ID] == nil {
		d.remote[info.ID] = &remoteNode{info: info, rooms: map[uint64]Entry{}}
	}
}

func (d *Directory) nodeGone(info NodeInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rn := d.remote[info.ID]
	if rn == nil || rn.info.Boot != info.Boot {
		return
	}
	for id := range rn.rooms {
		d.dropLocked(rn, id)
		d.stats.dropped.Add(1)
	}
	delete(d.remote, info.ID)
	delete(d.toSync, info.ID)
	clear(d.wide) // a dead node's rooms are never listed again
}

// heard checks a heartbeat's seq against what was applied: a node that
// is behind by more than one heartbeat's worth (or just came up with
// rooms) is synced.
func (d *Directory) heard(info NodeInfo, seq uint64) {
	d.mu.Lock()
	rn := d.remote[info.ID]
	if rn == nil || rn.info.Boot != info.Boot {
		d.mu.Unlock()
		return
	}
	rn.info.URL = info.URL
	fresh := rn.announced == 0 && rn.seq == 0
	behind := rn.seq < rn.announced || (fresh && seq > 0)
	rn.announced = seq
	want := behind && !rn.syncing
	if want {
		d.requestSyncLocked(rn)
	}
	d.mu.Unlock()
}

func (d *Directory) reconnected() {}

func (d *Directory) requestSyncLocked(rn *remoteNode) {
	rn.syncing = true
	rn.buffered = rn.buffered[:0]
	d.toSync[rn.info.ID] = struct{}{}
	select {
	case d.syncWake <- struct{}{}:
	default:
	}
}

func (d *Directory) onEvent(m *nats.Msg) {
	ev, err := decodeEvent(m.Data)
	if err != nil {
		d.stats.bad.Add(1)
		return
	}
	if ev.Node == d.node.ID() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	rn := d.remote[ev.Node]
	if rn == nil || rn.info.Boot != ev.Boot {
		return // not live (yet): its heartbeat brings it up, then a sync
	}
	if rn.syncing {
		if len(rn.buffered) < maxBuffered {
			rn.buffered = append(rn.buffered, ev)
		}
		return
	}
	switch {
	case ev.Seq <= rn.seq:
		return // a duplicate or older than a snapshot
	case ev.Seq > rn.seq+1:
		d.stats.gaps.Add(1)
		d.applyLocked(rn, ev)
		d.requestSyncLocked(rn)
		return
	}
	d.applyLocked(rn, ev)
}

func (d *Directory) applyLocked(rn *remoteNode, ev dirEvent) {
	for _, e := range ev.Set {
		d.setLocked(rn, e)
	}
	for _, id := range ev.Gone {
		d.dropLocked(rn, id)
	}
	rn.seq = max(rn.seq, ev.Seq)
	d.stats.applied.Add(1)
}

func (d *Directory) setLocked(rn *remoteNode, e Entry) {
	if other := d.byID[e.Room]; other != nil && other != rn {
		return // the same id claimed by two nodes: keep the first (docs/CLUSTER.md)
	}
	if _, ok := rn.rooms[e.Room]; ok {
		d.dropLocked(rn, e.Room)
	}
	rn.rooms[e.Room] = e
	d.byID[e.Room] = rn
	if !e.Private {
		k := matchKey{e.Type, e.Label}
		set := d.byKey[k]
		if set == nil {
			set = map[uint64]*remoteNode{}
			d.byKey[k] = set
			addPair(d.byType, e.Type, e.Label)
			addPair(d.byLabel, e.Label, e.Type)
		}
		set[e.Room] = rn
	}
	if e.Creator != "" {
		d.created[e.Creator]++
	}
}

func (d *Directory) dropLocked(rn *remoteNode, id uint64) {
	e, ok := rn.rooms[id]
	if !ok {
		return
	}
	delete(rn.rooms, id)
	delete(d.byID, id)
	k := matchKey{e.Type, e.Label}
	if set := d.byKey[k]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(d.byKey, k)
			dropPair(d.byType, e.Type, e.Label)
			dropPair(d.byLabel, e.Label, e.Type)
		}
	}
	if e.Creator != "" {
		if d.created[e.Creator]--; d.created[e.Creator] <= 0 {
			delete(d.created, e.Creator)
		}
	}
}

// syncLoop fetches the snapshots of the nodes marked behind, one at a
// time.
func (d *Directory) syncLoop() {
	for {
		select {
		case <-d.stop:
			return
		case <-d.syncWake:
		}
		for {
			d.mu.Lock()
			var id string
			for id = range d.toSync {
				break
			}
			if id != "" {
				delete(d.toSync, id)
			}
			rn := d.remote[id]
			var info NodeInfo
			if rn != nil {
				info = rn.info
			}
			d.mu.Unlock()
			if id == "" {
				break
			}
			if rn == nil {
				continue
			}
			d.sync(info)
		}
	}
}

// sync fetches a node's rooms page by page, then replaces the replica's
// view of it and applies the events that arrived meanwhile.
func (d *Directory) sync(info NodeInfo) {
	d.stats.syncs.Add(1)
	rooms := map[uint64]Entry{}
	var first uint64
	after := uint64(0)
	ok := true
	for page := 0; ; page++ {
		req, _ := json.Marshal(snapRequest{After: after})
		m, err := d.node.Conn().Request(d.node.subject("dir.snap."+info.ID), req, d.node.cfg.RequestTimeout)
		var p snapPage
		if err == nil {
			p, err = decodePage(m.Data)
		}
		if err != nil || p.Boot != info.Boot {
			ok = false
			break
		}
		if page == 0 {
			first = p.Seq
		}
		for _, e := range p.Rooms {
			rooms[e.Room] = e
			after = max(after, e.Room)
		}
		if !p.More || len(p.Rooms) == 0 {
			break
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	rn := d.remote[info.ID]
	if rn == nil || rn.info.Boot != info.Boot {
		return
	}
	rn.syncing = false
	if !ok {
		// Tried again when the next heartbeat finds it still behind.
		d.stats.syncErrors.Add(1)
		rn.buffered = rn.buffered[:0]
		return
	}
	for id := range rn.rooms {
		d.dropLocked(rn, id)
	}
	for _, e := range rooms {
		d.setLocked(rn, e)
	}
	rn.seq = first
	for _, ev := range rn.buffered {
		if ev.Seq > first {
			d.applyLocked(rn, ev)
		}
	}
	rn.buffered = rn.buffered[:0]
}

// ---- what the hub asks ----------------------------------------------------

// RedirectByID answers a join by id of a room this node does not have:
// a redirect to its owner with a ticket for user, ErrRoomNotFound when
// no live node has it, ErrUnavailable when this node cannot reach NATS
// and does not know it.
func (d *Directory) RedirectByID(user string, id uint64) (*frame.RoomRedirect, error) {
	d.stats.lookups.Add(1)
	d.mu.Lock()
	rn := d.byID[id]
	var info NodeInfo
	if rn != nil {
		info = rn.info
	}
	d.mu.Unlock()
	if rn == nil {
		if !d.node.Connected() {
			d.stats.unavailable.Add(1)
			return nil, ErrUnavailable
		}
		d.stats.notFound.Add(1)
		return nil, ErrRoomNotFound
	}
	return d.redirect(user, id, info)
}

// RedirectMatch finds the emptiest public room of typ and label with a
// free seat on another live node (skip excludes rooms), and returns a
// redirect to it; nil when there is none.
func (d *Directory) RedirectMatch(user, typ, label string, skip func(id uint64) bool) (*frame.RoomRedirect, error) {
	d.stats.matches.Add(1)
	type candidate struct {
		e    Entry
		node NodeInfo
	}
	d.mu.Lock()
	var found []candidate
	for id, rn := range d.byKey[matchKey{typ, label}] {
		if e := rn.rooms[id]; e.Members < e.Capacity {
			found = append(found, candidate{e, rn.info})
		}
	}
	d.mu.Unlock()
	// skip takes the hub's session lock: called without d.mu.
	var best *candidate
	for i := range found {
		c := &found[i]
		if skip != nil && skip(c.e.Room) {
			continue
		}
		if best == nil || c.e.Members < best.e.Members || (c.e.Members == best.e.Members && c.e.Room < best.e.Room) {
			best = c
		}
	}
	if best == nil {
		return nil, nil
	}
	return d.redirect(user, best.e.Room, best.node)
}

// ListRooms lists the public rooms of the other live nodes whose type
// is typ and label is label ("" matches any), at most limit (at least
// 1), in room id order: the cluster's part of a RoomList. Full rooms are
// listed, as the hub lists its own. The work is bounded by the matching
// rooms (found through the type and label indexes) and keeps at most
// limit of them; a dead node's rooms left the replica with it. A wide
// list (no label) walks every public room of its type, so its answer is
// reused for wideTTL (Stats.ListsReused): a flood of them costs one walk
// per type per wideTTL.
func (d *Directory) ListRooms(typ, label string, limit int) []frame.RoomInfo {
	limit = max(limit, 1)
	d.stats.lists.Add(1)
	d.mu.Lock()
	var best []Entry
	if label == "" {
		best = d.wideLocked(typ, limit)
	} else {
		best = make([]Entry, 0, limit)
		if typ != "" {
			keepLowest(&best, limit, d.byKey[matchKey{typ, label}])
		} else {
			for t := range d.byLabel[label] {
				keepLowest(&best, limit, d.byKey[matchKey{t, label}])
			}
		}
	}
	out := make([]frame.RoomInfo, len(best))
	for i, e := range best {
		out[i] = frame.RoomInfo{RoomID: e.Room, Type: e.Type, Label: e.Label,
			Members: uint16(min(e.Members, 1<<16-1)), Capacity: uint16(min(e.Capacity, 1<<16-1)), TickRate: uint8(e.Rate)}
	}
	d.mu.Unlock()
	return out
}

// wideLocked is ListRooms without a label: every public room of typ (""
// any), from a recent answer if one covers limit.
func (d *Directory) wideLocked(typ string, limit int) []Entry {
	if typ != "" && d.byType[typ] == nil {
		delete(d.wide, typ)
		return nil // no room of that type: nothing to walk, nothing kept
	}
	now := d.node.cfg.Clock()
	if w, ok := d.wide[typ]; ok && now.Sub(w.at) < wideTTL && (w.limit >= limit || len(w.rooms) < w.limit) {
		d.stats.listsReused.Add(1)
		return w.rooms[:min(limit, len(w.rooms))]
	}
	best := make([]Entry, 0, limit)
	for k, set := range d.byKey {
		if typ == "" || k.typ == typ {
			keepLowest(&best, limit, set)
		}
	}
	d.wide[typ] = wideList{at: now, limit: limit, rooms: best}
	return best
}

// keepLowest keeps in best, sorted, the limit lowest room ids of best
// and set.
func keepLowest(best *[]Entry, limit int, set map[uint64]*remoteNode) {
	b := *best
	for id, rn := range set {
		if len(b) == limit && id > b[limit-1].Room {
			continue
		}
		i, _ := slices.BinarySearchFunc(b, id, func(e Entry, id uint64) int { return cmp.Compare(e.Room, id) })
		if len(b) == limit {
			b = b[:limit-1]
		}
		b = slices.Insert(b, i, rn.rooms[id])
	}
	*best = b
}

// addPair and dropPair keep an index of a's b values.
func addPair(idx map[string]map[string]struct{}, a, b string) {
	set := idx[a]
	if set == nil {
		set = map[string]struct{}{}
		idx[a] = set
	}
	set[b] = struct{}{}
}

func dropPair(idx map[string]map[string]struct{}, a, b string) {
	if set := idx[a]; set != nil {
		delete(set, b)
		if len(set) == 0 {
			delete(idx, a)
		}
	}
}

func (d *Directory) redirect(user string, id uint64, owner NodeInfo) (*frame.RoomRedirect, error) {
	tk, err := d.tickets.Issue(user, id, owner.ID, owner.Boot)
	if err != nil {
		return nil, &netcode.CodedError{Code: netcode.CodeInternal, Msg: "redirect ticket", Err: err}
	}
	d.stats.redirects.Add(1)
	return &frame.RoomRedirect{RoomID: id, NodeID: owner.ID, URL: owner.URL, Ticket: tk,
		TTLMs: uint32(d.tickets.TTL().Milliseconds())}, nil
}

// CreatedElsewhere counts the open rooms creator created on the other
// live nodes (the rooms-per-user limit is the sum over the cluster).
func (d *Directory) CreatedElsewhere(creator string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.created[creator]
}

// Known reports whether another live node has a room with this id (room
// ids are drawn at random; the hub draws again on a known one).
func (d *Directory) Known(id uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byID[id] != nil
}

// Redeem checks a redirect ticket user presents to join room id here.
func (d *Directory) Redeem(user string, id uint64, ticket []byte) error {
	return d.tickets.Redeem(user, id, ticket)
}

// Remote lists the rooms known on other nodes, by owner (for tests and
// the admin API).
func (d *Directory) Remote() map[string][]Entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string][]Entry{}
	for id, rn := range d.remote {
		list := slices.Collect(maps.Values(rn.rooms))
		slices.SortFunc(list, func(a, b Entry) int { return cmp.Compare(a.Room, b.Room) })
		out[id] = list
	}
	return out
}
