package bench

// A room run over the nodes of a cluster (Env.Nodes): players are spread
// over the nodes, every room is created on one node and its members on
// other nodes reach it by a redirect, as docs/CLUSTER.md describes.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// joinLookupMax bounds how long a member retries a join by id that its
// node answers with room_not_found: the room directory reaches the other
// nodes asynchronously (one NATS publish), so a join right after the
// creation can come before it.
const joinLookupMax = 5 * time.Second

// joinLookupStep is the pause between those retries.
const joinLookupStep = 10 * time.Millisecond

// roomNodes is the nodes a room run spreads its players over (one entry
// on a single server) and what their redirects cost.
type roomNodes struct {
	envs   []*Env
	routes []route
	fleets []*fleet
	local  []int          // player i's index among its node's players
	byURL  map[string]int // a node's advertised HTTP base -> its index
	n      int            // players
	label  string         // this run's room labels: label + room index

	redirects atomic.Int64 // redirects followed
	retries   atomic.Int64 // joins retried after room_not_found
	mu        sync.Mutex   // guards redirected
	// redirected is the time of a redirected join: from the request the
	// node answered with a redirect to RoomJoined from the owner (a
	// session dialled there, its handshake and the ticket's join).
	redirected *Histogram
}

// openRoomNodes opens a route and a fleet per node and places n players,
// clients per room, over the nodes: player j of room r is on node
// (r + j) mod N, so that the rooms' creators are spread over the nodes
// and the other members of a room over all of them.
func openRoomNodes(ctx context.Context, nodes []*Env, t string, cfg RoomConfig, n int, label string) (*roomNodes, error) {
	rn := &roomNodes{envs: nodes, n: n, label: label, local: make([]int, n), byURL: map[string]int{}, redirected: NewHistogram()}
	counts := make([]int, len(nodes))
	for i := range n {
		k := rn.nodeOf(i, cfg.Clients)
		rn.local[i] = counts[k]
		counts[k]++
	}
	for k, ne := range nodes {
		rn.byURL[ne.Target.httpBase()] = k
		rt, err := openRoute(ctx, ne, t, cfg.Impairment, cfg.Seed)
		if err != nil {
			rn.close()
			return nil, err
		}
		rn.routes = append(rn.routes, rt)
		fl, err := openFleet(ne, t, rt.addr, cfg.SessionsPerSocket)
		if err != nil {
			rn.close()
			return nil, err
		}
		rn.fleets = append(rn.fleets, fl)
	}
	return rn, nil
}

func (rn *roomNodes) clustered() bool { return len(rn.envs) > 1 }

// nodeOf is the node player i dials first.
func (rn *roomNodes) nodeOf(i, clients int) int {
	return (i/clients + i%clients) % len(rn.envs)
}

// group is the flush group of the session with index local on node k's
// fleet, unique over the nodes.
func (rn *roomNodes) group(k, local int) int {
	return k*(2*rn.n+1) + rn.fleets[k].group(local)
}

// dial opens player i's first session, on its node, with a guest token
// from that node.
func (rn *roomNodes) dial(ctx context.Context, i int, p *player, name string) (netcode.Conn, error) {
	k := p.node
	tok, err := rn.envs[k].Target.api().GuestToken(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("guest token: %w", err)
	}
	p.token = tok
	return rn.fleets[k].dial(ctx, rn.local[i], tok)
}

func (rn *roomNodes) sockets() int {
	s := 0
	for _, f := range rn.fleets {
		s += f.numSockets()
	}
	return s
}

func (rn *roomNodes) closeFleets() error {
	var errs []error
	for _, f := range rn.fleets {
		errs = append(errs, f.close())
	}
	return errors.Join(errs...)
}

func (rn *roomNodes) close() {
	_ = rn.closeFleets() // on an error path
	for _, rt := range rn.routes {
		rt.close()
	}
}

func (rn *roomNodes) note() string {
	if len(rn.routes) == 0 {
		return ""
	}
	return rn.routes[0].note
}

// proxied is what the impairment proxies counted; false without them.
func (rn *roomNodes) proxied() (uint64, bool) {
	var w uint64
	for _, rt := range rn.routes {
		if rt.px == nil {
			return 0, false
		}
		w += rt.px.WireBytes()
	}
	return w, true
}

// createRoom has the first player of room r create it by join-or-create
// on its node, with a label of this run's.
func (rn *roomNodes) createRoom(ctx context.Context, ps *players, r int, cfg RoomConfig) error {
	i := r * cfg.Clients
	req := &frame.RoomJoinOrCreate{Type: room.RelayType, Label: rn.label + strconv.Itoa(r), Capacity: uint16(cfg.Clients),
		TickRate: uint8(cfg.TickHz)}
	t0 := time.Now()
	rd, err := ps.all[i].request(ctx, req)
	if err == nil && rd != nil {
		// Another node has a room with this run's label: join it there.
		err = rn.follow(ctx, ps, i, rd, t0)
	}
	return err
}

// joinRoom has player i join room id by id on its node, retrying while
// its node has not heard of the room yet, and following the redirect to
// the owner node.
func (rn *roomNodes) joinRoom(ctx context.Context, ps *players, i int, id uint64) error {
	ctx, cancel := context.WithTimeout(ctx, joinLookupMax)
	defer cancel()
	for {
		t0 := time.Now()
		rd, err := ps.all[i].request(ctx, &frame.RoomJoin{RoomID: id})
		if errors.Is(err, netcode.CodeRoomNotFound) {
			rn.retries.Add(1)
			select {
			case <-ctx.Done():
				return fmt.Errorf("room %d not known on node %d after %v: %w", id, ps.all[i].node, joinLookupMax, err)
			case <-time.After(joinLookupStep):
			}
			continue
		}
		if err != nil || rd == nil {
			return err
		}
		return rn.follow(ctx, ps, i, rd, t0)
	}
}

// follow moves player i to the node a redirect names: a session dialled
// there with the same token joins with the ticket, replaces the player
// and the first session is closed (a client that only plays in the room,
// where the Go SDK keeps it for its other services). t0 is when the
// redirected request was sent.
func (rn *roomNodes) follow(ctx context.Context, ps *players, i int, rd *frame.RoomRedirect, t0 time.Time) error {
	old := ps.all[i]
	k, ok := rn.byURL[rd.URL]
	if !ok {
		return fmt.Errorf("redirected to node %s at %s, which is not one of the nodes given (list them all; each must advertise the HTTP address given)", rd.NodeID, rd.URL)
	}
	idx := rn.n + i // an index past the first sessions of every fleet
	np := newPlayer(old.idx, old.roomIdx, rn.group(k, idx), old.clock)
	np.room, np.shared, np.token, np.node = old.room, rn.fleets[k].shared, old.token, k
	conn, err := rn.fleets[k].dial(ctx, idx, old.token)
	if err != nil {
		return fmt.Errorf("redirect to node %s: dial: %w", rd.NodeID, err)
	}
	np.attach(conn)
	if err := np.handshake(ctx, old.token, "tickbench-room"); err != nil {
		_ = conn.Close(netcode.CodeOK, "handshake failed") // the handshake's error is the one reported
		return fmt.Errorf("redirect to node %s: %w", rd.NodeID, err)
	}
	ps.start(np)
	ps.all[i] = np
	_ = old.conn.Close(netcode.CodeOK, "moved to the room's node") // best effort: the player lives on the owner now
	again, err := np.request(ctx, &frame.RoomJoinTicket{RoomID: rd.RoomID, Ticket: rd.Ticket})
	if err != nil {
		return fmt.Errorf("join with ticket on node %s: %w", rd.NodeID, err)
	}
	if again != nil {
		return fmt.Errorf("redirected again, to node %s", again.NodeID)
	}
	d := time.Since(t0)
	rn.redirects.Add(1)
	rn.mu.Lock()
	rn.redirected.Record(d)
	rn.mu.Unlock()
	return nil
}

// extra adds the cluster's figures to a room row.
func (rn *roomNodes) extra(res *Result) {
	if !rn.clustered() {
		return
	}
	res.SetExtra("nodes", float64(len(rn.envs)))
	res.SetExtra("redirects", float64(rn.redirects.Load()))
	res.SetExtra("join_retries", float64(rn.retries.Load()))
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.redirected.Count() > 0 {
		res.SetExtra("redirect_join_p50_us", rn.redirected.QuantileUs(50))
		res.SetExtra("redirect_join_p99_us", rn.redirected.QuantileUs(99))
	}
}
