package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/cluster"
	"github.com/tickwire/tickwire/internal/natstest"
)

// fast is a heartbeat setting that keeps the tests short: 100 ms
// heartbeats, gone after 3 missed.
const fastBeat = 100 * time.Millisecond

func startNode(t *testing.T, url, id string) *cluster.Node {
	t.Helper()
	n, err := cluster.Start(cluster.Config{
		NodeID: id, URLs: []string{url}, Advertise: "http://" + id + ".test:7780",
		HeartbeatInterval: fastBeat, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close(context.Background()) }) // closed already in most tests
	return n
}

// goneLog records OnNodeGone calls with when they came.
type goneLog struct {
	mu   sync.Mutex
	gone map[string]time.Time
}

func watchGone(n *cluster.Node) *goneLog {
	g := &goneLog{gone: map[string]time.Time{}}
	n.OnNodeGone(func(id string) {
		g.mu.Lock()
		g.gone[id] = time.Now()
		g.mu.Unlock()
	})
	return g
}

func (g *goneLog) at(id string) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.gone[id]
	return at, ok
}

func liveIDs(n *cluster.Node) []string {
	var ids []string
	for _, i := range n.Live() {
		ids = append(ids, i.ID)
	}
	return ids
}

func TestMembershipOverNATS(t *testing.T) {
	ns := natstest.Start(t)
	a, b, c := startNode(t, ns.URL(), "a"), startNode(t, ns.URL(), "b"), startNode(t, ns.URL(), "c")
	goneAtA := watchGone(a)
	require.Eventually(t, func() bool { return len(a.Live()) == 2 && len(b.Live()) == 2 && len(c.Live()) == 2 },
		5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"b", "c"}, liveIDs(a))
	info, ok := a.Lookup("b")
	require.True(t, ok)
	assert.Equal(t, "http://b.test:7780", info.URL)

	// A goodbye: gone at once (well within one heartbeat).
	start := time.Now()
	require.NoError(t, b.Close(context.Background()))
	require.Eventually(t, func() bool { _, ok := goneAtA.at("b"); return ok }, time.Second, 5*time.Millisecond)
	at, _ := goneAtA.at("b")
	assert.Less(t, at.Sub(start), fastBeat, "a goodbye is seen within a heartbeat")

	// A crash (no goodbye): gone within the death bound, not before
	// MissedHeartbeats-1 intervals.
	start = time.Now()
	c.Abort()
	bound := cluster.Config{HeartbeatInterval: fastBeat}.DeathBound()
	require.Eventually(t, func() bool { _, ok := goneAtA.at("c"); return ok }, 2*bound, 5*time.Millisecond)
	at, _ = goneAtA.at("c")
	took := at.Sub(start)
	t.Logf("crash detected after %v (bound %v)", took, bound)
	assert.LessOrEqual(t, took, bound+20*time.Millisecond)
	assert.GreaterOrEqual(t, took, 2*fastBeat)
	assert.Empty(t, a.Live())
	st := a.Stats()
	assert.Equal(t, uint64(2), st.NodesGone)
	assert.Equal(t, uint64(1), st.Goodbyes)
}

// NATS restarting: the nodes reconnect by themselves, count it, and
// nobody is declared gone by a node that could not hear anyone.
func TestMembershipSurvivesNATSRestart(t *testing.T) {
	ns := natstest.Start(t)
	a, b := startNode(t, ns.URL(), "a"), startNode(t, ns.URL(), "b")
	goneAtA := watchGone(a)
	require.Eventually(t, func() bool { return len(a.Live()) == 1 && len(b.Live()) == 1 }, 5*time.Second, 10*time.Millisecond)

	ns.Stop()
	require.Eventually(t, func() bool { return !a.Connected() && !b.Connected() }, 5*time.Second, 5*time.Millisecond)
	// Longer than the death bound: without the freeze, b would be gone.
	require.Never(t, func() bool { _, ok := goneAtA.at("b"); return ok },
		2*cluster.Config{HeartbeatInterval: fastBeat}.DeathBound(), 20*time.Millisecond)
	ns.Start()
	require.Eventually(t, func() bool { return a.Connected() && b.Connected() }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return a.Stats().Reconnects >= 1 }, time.Second, 5*time.Millisecond)
	assert.Equal(t, []string{"b"}, liveIDs(a))
	_, gone := goneAtA.at("b")
	assert.False(t, gone)
	assert.GreaterOrEqual(t, a.Stats().Disconnects, uint64(1))
}

// Start succeeds while NATS is down; the node joins once it is up.
func TestStartBeforeNATS(t *testing.T) {
	ns := natstest.Start(t)
	url := ns.URL()
	ns.Stop()
	a := startNode(t, url, "a")
	assert.False(t, a.Connected())
	ns.Start()
	b := startNode(t, url, "b")
	require.Eventually(t, func() bool { return a.Connected() && len(a.Live()) == 1 && len(b.Live()) == 1 },
		5*time.Second, 10*time.Millisecond)
}

// A restart under the same id: the old incarnation is reported gone,
// then the new one up.
func TestRestartIsNewIncarnation(t *testing.T) {
	ns := natstest.Start(t)
	a := startNode(t, ns.URL(), "a")
	var mu sync.Mutex
	var log []string
	a.OnNodeGone(func(id string) { mu.Lock(); log = append(log, "gone "+id); mu.Unlock() })
	a.OnNodeUp(func(i cluster.NodeInfo) { mu.Lock(); log = append(log, fmt.Sprint("up ", i.ID)); mu.Unlock() })
	b := startNode(t, ns.URL(), "b")
	require.Eventually(t, func() bool { return len(a.Live()) == 1 }, 5*time.Second, 10*time.Millisecond)
	b.Abort()
	startNode(t, ns.URL(), "b")
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(log) == 3 }, 5*time.Second, 5*time.Millisecond)
	mu.Lock()
	assert.Equal(t, []string{"up b", "gone b", "up b"}, log)
	mu.Unlock()
}
