package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Node is this tickwire node's membership of the cluster: its NATS
// connection, its heartbeats, and the table of the other live nodes.
//
// One goroutine (the membership loop) owns the table: it reads the
// heartbeats and goodbyes of the other nodes from a bounded channel,
// publishes this node's heartbeat, and declares gone the nodes not heard
// for MissedHeartbeats intervals. Callbacks (OnNodeGone, OnNodeUp) run
// in that goroutine, in the order the changes happened; they must not
// block.
type Node struct {
	cfg  Config
	nc   *nats.Conn
	boot int64
	subs []*nats.Subscription

	in          chan *nats.Msg // heartbeats and goodbyes, to the loop
	reconnected chan struct{}  // capacity 1: NATS is back (coalesced)
	stop        chan struct{}
	wg          sync.WaitGroup

	// dirSeq is the last directory event this node published; its
	// heartbeat carries it (Directory).
	dirSeq atomic.Uint64
	stats  nodeCounters

	mu       sync.Mutex // guards the fields below
	mem      *members
	onGone   []func(nodeID string)
	onUp     []func(NodeInfo)
	watchers []watcher
	closed   bool
}

// watcher is told of every membership change and heartbeat, in the
// membership loop (the directory is one).
type watcher interface {
	nodeUp(NodeInfo)
	nodeGone(NodeInfo)
	heard(info NodeInfo, seq uint64)
	reconnected()
}

type nodeCounters struct {
	disconnects, reconnects, publishDropped, badPayloads, slowConsumer atomic.Uint64
	up, gone, goodbyes                                                 atomic.Uint64
}

// Start connects to NATS and joins the cluster. When NATS is unreachable
// Start still succeeds: the node keeps trying in the background
// (Connected reports false meanwhile) and announces itself once it is
// connected.
func Start(cfg Config) (*Node, error) {
	if err := cfg.populate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:         cfg,
		boot:        cfg.Clock().UnixNano(),
		in:          make(chan *nats.Msg, 1024),
		reconnected: make(chan struct{}, 1),
		stop:        make(chan struct{}),
		mem:         newMembers(cfg.NodeID, time.Duration(cfg.MissedHeartbeats)*cfg.HeartbeatInterval),
	}
	opts := []nats.Option{
		nats.Name("tickwire " + cfg.NodeID),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(cfg.ReconnectBuffer),
		nats.CustomReconnectDelay(n.backoff),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.stats.disconnects.Add(1)
			n.cfg.Logger.Warn("cluster: NATS disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) { n.connected(true) }),
		nats.ConnectHandler(func(*nats.Conn) { n.connected(false) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				n.stats.slowConsumer.Add(1)
				return
			}
			n.cfg.Logger.Warn("cluster: NATS error", "err", err)
		}),
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), append(opts, cfg.Options...)...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect: %w", err)
	}
	n.nc = nc
	for _, subj := range []string{n.subject("node.hb"), n.subject("node.bye")} {
		sub, err := nc.ChanSubscribe(subj, n.in)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("cluster: subscribe %s: %w", subj, err)
		}
		n.subs = append(n.subs, sub)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.loop()
	}()
	return n, nil
}

// backoff is the reconnection delay: exponential from ReconnectMin to
// ReconnectMax, ±25 % jitter.
func (n *Node) backoff(attempts int) time.Duration {
	d := n.cfg.ReconnectMin << min(attempts, 16)
	d = min(d, n.cfg.ReconnectMax)
	return d*3/4 + rand.N(d/2+1)
}

func (n *Node) connected(again bool) {
	if again {
		n.stats.reconnects.Add(1)
		n.cfg.Logger.Info("cluster: NATS reconnected", "server", n.nc.ConnectedUrlRedacted())
	}
	select {
	case n.reconnected <- struct{}{}:
	default:
	}
}

func (n *Node) subject(s string) string { return n.cfg.SubjectPrefix + "." + s }

// ID is this node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Info is this node as the others see it.
func (n *Node) Info() NodeInfo {
	return NodeInfo{ID: n.cfg.NodeID, Boot: n.boot, URL: n.cfg.Advertise}
}

// Conn is the node's NATS connection, for services that route their own
// subjects over it (engine/social). It reconnects by itself; do not
// close it.
func (n *Node) Conn() *nats.Conn { return n.nc }

// SubjectPrefix is the first token of the cluster's subjects.
func (n *Node) SubjectPrefix() string { return n.cfg.SubjectPrefix }

// Connected reports whether the node is connected to NATS now.
func (n *Node) Connected() bool { return n.nc.IsConnected() }

// DeathBound is how long after a node stops (without a goodbye) every
// other node has declared it gone (Config.DeathBound).
func (n *Node) DeathBound() time.Duration { return n.cfg.DeathBound() }

// Live lists the other live nodes, by id.
func (n *Node) Live() []NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mem.live()
}

// Lookup returns a live node by id (this node included).
func (n *Node) Lookup(id string) (NodeInfo, bool) {
	if id == n.cfg.NodeID {
		return n.Info(), true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.mem.nodes[id]
	if m == nil {
		return NodeInfo{}, false
	}
	return m.info, true
}

// OnNodeGone registers f to be called with the id of every node that
// leaves the cluster: it said goodbye (Close), or was not heard for
// MissedHeartbeats intervals (DeathBound), or came back as a new
// incarnation (a restart; f runs before the OnNodeUp of the new one).
// f runs in the membership goroutine, in order, and must not block.
// While this node itself cannot reach NATS, nobody is declared gone: it
// keeps its last view until it is back.
func (n *Node) OnNodeGone(f func(nodeID string)) {
	n.mu.Lock()
	n.onGone = append(n.onGone, f)
	n.mu.Unlock()
}

// OnNodeUp registers f to be called when a node joins the cluster (or
// comes back after it was declared gone). Same contract as OnNodeGone.
func (n *Node) OnNodeUp(f func(NodeInfo)) {
	n.mu.Lock()
	n.onUp = append(n.onUp, f)
	n.mu.Unlock()
}

func (n *Node) watch(w watcher) {
	n.mu.Lock()
	n.watchers = append(n.watchers, w)
	n.mu.Unlock()
}

// loop is the membership goroutine.
func (n *Node) loop() {
	sweep := time.NewTicker(n.cfg.HeartbeatInterval / 4)
	defer sweep.Stop()
	var nextBeat time.Time
	down := false // the connection was seen down by a sweep
	for {
		select {
		case <-n.stop:
			return
		case m := <-n.in:
			n.receive(m)
		case <-n.reconnected:
			now := n.cfg.Clock()
			n.mu.Lock()
			n.mem.grace(now)
			ws := n.watchers
			n.mu.Unlock()
			for _, w := range ws {
				w.reconnected()
			}
			n.beat()
			nextBeat = now.Add(n.cfg.HeartbeatInterval)
		case <-sweep.C:
			if !n.nc.IsConnected() {
				down = true
				continue // we hear nobody: that says nothing about them
			}
			now := n.cfg.Clock()
			if down {
				// Back before the reconnect callback ran: the silence
				// was ours.
				down = false
				n.mu.Lock()
				n.mem.grace(now)
				n.mu.Unlock()
			}
			if !now.Before(nextBeat) {
				n.beat()
				nextBeat = now.Add(n.cfg.HeartbeatInterval)
			}
			n.mu.Lock()
			evs := n.mem.expire(now)
			n.mu.Unlock()
			n.dispatch(evs)
		}
	}
}

func (n *Node) receive(m *nats.Msg) {
	hb, err := decodeHeartbeat(m.Data)
	if err != nil {
		n.stats.badPayloads.Add(1)
		return
	}
	if hb.ID == n.cfg.NodeID {
		if hb.Boot != n.boot && strings.HasSuffix(m.Subject, ".hb") {
			n.cfg.Logger.Error("cluster: another node announces this node's id", "node", hb.ID, "url", hb.URL)
		}
		return
	}
	var evs []memberEvent
	n.mu.Lock()
	if strings.HasSuffix(m.Subject, ".bye") {
		evs = n.mem.left(hb.ID, hb.Boot)
		if len(evs) > 0 {
			n.stats.goodbyes.Add(1)
		}
	} else {
		evs = n.mem.heard(n.cfg.Clock(), hb.NodeInfo, hb.Seq)
	}
	ws := n.watchers
	n.mu.Unlock()
	n.dispatch(evs)
	if !strings.HasSuffix(m.Subject, ".bye") {
		for _, w := range ws {
			w.heard(hb.NodeInfo, hb.Seq)
		}
	}
}

// dispatch runs the callbacks of membership events, in order.
func (n *Node) dispatch(evs []memberEvent) {
	if len(evs) == 0 {
		return
	}
	n.mu.Lock()
	ws, gone, up := n.watchers, n.onGone, n.onUp
	n.mu.Unlock()
	for _, e := range evs {
		if e.up {
			n.stats.up.Add(1)
			n.cfg.Logger.Info("cluster: node up", "node", e.info.ID, "url", e.info.URL)
			for _, w := range ws {
				w.nodeUp(e.info)
			}
			for _, f := range up {
				f(e.info)
			}
			continue
		}
		n.stats.gone.Add(1)
		n.cfg.Logger.Warn("cluster: node gone", "node", e.info.ID)
		for _, w := range ws {
			w.nodeGone(e.info)
		}
		for _, f := range gone {
			f(e.info.ID)
		}
	}
}

func (n *Node) beat() {
	n.publishJSON(n.subject("node.hb"), heartbeat{NodeInfo: n.Info(), Seq: n.dirSeq.Load()})
}

// publishJSON publishes v, counting a publish the reconnect buffer
// refused.
func (n *Node) publishJSON(subj string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		n.cfg.Logger.Error("cluster: encode", "subject", subj, "err", err)
		return
	}
	n.publish(subj, b)
}

func (n *Node) publish(subj string, b []byte) bool {
	if err := n.nc.Publish(subj, b); err != nil {
		n.stats.publishDropped.Add(1)
		return false
	}
	return true
}

// Close says goodbye (the other nodes drop this one at once instead of
// after the death bound), stops the membership loop and closes the NATS
// connection. It is idempotent.
func (n *Node) Close(ctx context.Context) error {
	return n.close(ctx, true)
}

// Abort leaves without a goodbye, as a crash would: the NATS connection
// is cut and the other nodes declare this one gone after the death
// bound. For tests and for a process that must stop at once.
func (n *Node) Abort() {
	_ = n.close(context.Background(), false) // nothing to report: no goodbye, no flush
}

func (n *Node) close(ctx context.Context, goodbye bool) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	close(n.stop)
	n.wg.Wait()
	var err error
	if goodbye && n.nc.IsConnected() {
		n.publishJSON(n.subject("node.bye"), heartbeat{NodeInfo: n.Info(), Seq: n.dirSeq.Load()})
		if _, ok := ctx.Deadline(); !ok {
			err = n.nc.FlushTimeout(time.Second)
		} else {
			err = n.nc.FlushWithContext(ctx)
		}
	}
	n.nc.Close()
	return err
}
