package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/internal/benchserver"
	"github.com/tickwire/tickwire/internal/pgtest"
)

// tickbench chat --nodes 2 --store DSN: two in-process nodes on the given
// database; the rows cross nodes and the cross-node target is checked.
func TestChatNodesWithStore(t *testing.T) {
	dsn := pgtest.New(t).NewDatabase(t)
	js := filepath.Join(t.TempDir(), "chat.json")
	out := runCmd(t, "chat", "--nodes", "2", "--store", dsn, "--pairs", "2", "--group-size", "2", "--count", "10",
		"--interval", "1ms", "--quiet", "--json", js)
	require.Contains(t, out, "kcp/direct-xnode")
	require.Contains(t, out, "kcp/group-xnode")
	require.Contains(t, out, "target ", "the cross-node target says met or missed")
	r := readReport(t, js)
	require.EqualValues(t, 2, r.Config["nodes"])
	for _, x := range r.Results {
		require.Equal(t, x.Sent, x.Received, x.Name)
	}
}

// tickbench room --nodes 2 without --store starts its own PostgreSQL.
func TestRoomNodesStartsPostgres(t *testing.T) {
	js := filepath.Join(t.TempDir(), "room.json")
	out := runCmd(t, "room", "--nodes", "2", "--rooms", "2", "--clients", "2", "--tick-hz", "30", "--input-hz", "10",
		"--warmup", "100ms", "--duration", "500ms", "--quiet", "--json", js)
	require.Contains(t, out, "kcp/xnode")
	require.Contains(t, out, "redirects=2", "one member of each room starts on the other node")
	r := readReport(t, js)
	require.EqualValues(t, 2, r.Config["nodes"])
	require.Equal(t, r.Results[0].Sent, r.Results[0].Received)
}

// tickbench chat and room --servers host:httpport,...: running nodes
// known by their HTTP addresses (the KCP ports from their APIs).
func TestServersByHTTPAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := benchserver.StartCluster(ctx, benchserver.ClusterConfig{
		Nodes: 2, StoreDSN: pgtest.New(t).NewDatabase(t), DataDir: t.TempDir(), Node: benchserver.Config{FastPasswords: true},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, cl.Shutdown(ctx))
	})
	servers := cl.Nodes[0].HTTPAddr() + "," + cl.Nodes[1].HTTPAddr()
	out := runCmd(t, "chat", "--servers", servers, "--pairs", "1", "--group-size", "2", "--count", "10", "--interval", "1ms", "--quiet")
	require.Contains(t, out, "kcp/direct-xnode")
	require.Contains(t, out, "cross_node_deliveries=10")
	out = runCmd(t, "room", "--servers", servers, "--rooms", "2", "--clients", "2", "--input-hz", "10",
		"--warmup", "100ms", "--duration", "300ms", "--quiet")
	require.Contains(t, out, "redirects=2")
}

func TestClusterFlagsRefused(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"store without nodes":   {[]string{"chat", "--store", "postgres://x"}, "--store is for --nodes"},
		"servers and server":    {[]string{"chat", "--servers", "a,b", "--server", "c"}, "not with --server or --nodes"},
		"servers and nodes":     {[]string{"room", "--servers", "a,b", "--nodes", "2"}, "not with --server or --nodes"},
		"one server in servers": {[]string{"chat", "--servers", "a"}, "want at least 2 nodes"},
		"no nodes":              {[]string{"chat", "--nodes", "0"}, "want at least 1"},
		"spawn with nodes":      {[]string{"room", "--nodes", "2", "--spawn-server"}, "--spawn-server runs one server"},
		"one key for a cluster": {[]string{"chat", "--nodes", "2", "--kcp-key", "x"}, "fetches each node's"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var out, errb bytes.Buffer
		err := run(ctx, c.args, &out, &errb)
		cancel()
		require.ErrorContains(t, err, c.want, name)
	}
}
