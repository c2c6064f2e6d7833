package benchserver

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/internal/pgtest"
)

func TestStartServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, prod := range []bool{false, true} {
		srv, err := Start(ctx, Config{
			KCPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			DataDir: t.TempDir(), FastPasswords: true, ProductionLimits: prod,
		})
		require.NoError(t, err)
		require.NotEmpty(t, srv.Addr("kcp"))
		require.NotEmpty(t, srv.Addr("tcp"))
		for _, name := range []string{"ws", "longpoll", "webrtc"} {
			require.NotEmpty(t, srv.Addr(name), "%s is served", name)
		}
		require.Contains(t, srv.Addr("webrtc"), "127.0.0.1:", "WebRTC's UDP port defaults to a free loopback port")
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+srv.HTTPAddr()+"/v1/auth/guest", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Less(t, resp.StatusCode, 500)
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, srv.Shutdown(ctx), "idempotent")
	}
}

func TestStartRejectsABadAddress(t *testing.T) {
	_, err := Start(context.Background(), Config{KCPAddr: "127.0.0.1:-1", DataDir: t.TempDir()})
	require.Error(t, err)
}

func TestStartClusterRefusesBadConfig(t *testing.T) {
	for name, c := range map[string]ClusterConfig{
		"one node":   {Nodes: 1, StoreDSN: "postgres://x", DataDir: t.TempDir()},
		"no store":   {Nodes: 2, DataDir: t.TempDir()},
		"no datadir": {Nodes: 2, StoreDSN: "postgres://x"},
	} {
		_, err := StartCluster(context.Background(), c)
		require.ErrorContains(t, err, "a cluster needs", name)
	}
}

// Two nodes on one database see each other, and Shutdown stops them and
// NATS (twice is fine).
func TestStartClusterJoinsAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := StartCluster(ctx, ClusterConfig{Nodes: 2, StoreDSN: pgtest.New(t).NewDatabase(t), DataDir: t.TempDir(),
		Node: Config{FastPasswords: true}})
	require.NoError(t, err)
	require.Len(t, cl.Nodes, 2)
	for _, n := range cl.Nodes {
		require.Len(t, n.ClusterNode().Live(), 1, "each node sees the other")
	}
	require.NotEqual(t, cl.Nodes[0].HTTPAddr(), cl.Nodes[1].HTTPAddr())
	require.NoError(t, cl.Shutdown(ctx))
	require.NoError(t, cl.Shutdown(ctx), "idempotent")
}
