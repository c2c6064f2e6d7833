package bench

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/internal/benchserver"
	"github.com/tickwire/tickwire/internal/pgtest"
)

// startCluster starts n in-process nodes over an embedded NATS server,
// sharing a database on a PostgreSQL server of the test's own.
func startCluster(t *testing.T, n int) (*benchserver.Cluster, *Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := pgtest.New(t).NewDatabase(t)
	cl, err := benchserver.StartCluster(ctx, benchserver.ClusterConfig{
		Nodes: n, StoreDSN: dsn, DataDir: t.TempDir(), Node: benchserver.Config{FastPasswords: true},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, cl.Shutdown(ctx))
	})
	env := &Env{}
	for _, s := range cl.Nodes {
		env.Nodes = append(env.Nodes, NodeTarget(s))
	}
	env.Target = env.Nodes[0]
	return cl, env
}

// The chat and room scenarios against three nodes: every message and
// every input is delivered, the direct messages all crossed nodes (the
// recipients' nodes counted them from their broker), and every member of
// a room on another node than its owner followed a redirect there.
func TestClusterChatAndRoom(t *testing.T) {
	cl, env := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	const count = 30
	rep, err := RunChat(ctx, env, ChatConfig{Pairs: 3, GroupSize: 4, Count: count, Interval: time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, 3, rep.Config.(map[string]any)["nodes"])
	require.Len(t, rep.Results, 2)
	direct, group := rep.Results[0], rep.Results[1]
	require.Equal(t, "kcp/direct-xnode", direct.Name)
	require.Equal(t, "kcp/group-xnode", group.Name)
	for _, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, r.Sent, r.Received, "%s: every message delivered once: %s", r.Name, r.Note)
		require.Equal(t, 3.0, r.Extra["nodes"], r.Name)
		require.Positive(t, r.Extra["ack_p50_us"], r.Name)
	}
	require.Equal(t, int64(count), direct.Sent)
	require.Equal(t, float64(count), direct.Extra["cross_node_deliveries"], "every pair is on two nodes")
	require.Zero(t, direct.Extra["same_node_deliveries"])
	require.Equal(t, int64(count*3), group.Sent, "a group of 4: 3 recipients per message")
	require.Equal(t, float64(group.Sent), group.Extra["cross_node_deliveries"]+group.Extra["same_node_deliveries"])
	// 4 members on 3 nodes: a message from the node with two of them
	// reaches one member there, every other delivery crosses.
	require.Greater(t, group.Extra["cross_node_deliveries"], group.Extra["same_node_deliveries"])
	var brokered uint64
	for _, s := range cl.Nodes {
		brokered += s.Social().Stats().Cluster.Received
	}
	require.GreaterOrEqual(t, brokered, uint64(count), "each direct message reached its recipient's node over NATS")

	rrep, err := RunRoom(ctx, env, RoomConfig{
		Rooms: 3, Clients: 3, TickHz: 30, InputHz: 20, Warmup: 200 * time.Millisecond, Duration: time.Second,
	})
	require.NoError(t, err)
	require.Len(t, rrep.Results, 1)
	r := rrep.Results[0]
	checkShape(t, r)
	require.Equal(t, "kcp/xnode", r.Name)
	require.Equal(t, r.Sent, r.Received, "every input reaches every member: %s", r.Note)
	// Room r is created on node r mod 3 and its members 1 and 2 start on
	// the two other nodes: 6 redirects, 2 tickets redeemed per owner.
	require.Equal(t, 6.0, r.Extra["redirects"])
	require.Positive(t, r.Extra["redirect_join_p50_us"])
	require.LessOrEqual(t, r.Extra["redirect_join_p50_us"], r.Extra["redirect_join_p99_us"])
	var issued uint64
	for i, s := range cl.Nodes {
		st := s.ClusterDirectory().Stats()
		issued += st.Redirects
		require.Equal(t, uint64(2), st.Tickets.Redeemed, "node %d owns one room and let its two remote members in", i)
	}
	require.Equal(t, uint64(6), issued)

	// A redirect to a node the generator was not given (node 1's HTTP
	// address spelled otherwise than it advertises) ends the run and
	// says so.
	other := *env
	other.Nodes = append([]Target(nil), env.Nodes...)
	_, port, err := net.SplitHostPort(other.Nodes[1].HTTP)
	require.NoError(t, err)
	other.Nodes[1].HTTP = net.JoinHostPort("localhost", port)
	_, err = RunRoom(ctx, &other, RoomConfig{Rooms: 2, Clients: 2, Warmup: 100 * time.Millisecond, Duration: 200 * time.Millisecond})
	require.ErrorContains(t, err, "not one of the nodes given")
}
