package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/cluster"
	"github.com/tickwire/tickwire/server"
)

// A node with an embedded NATS: /readyz follows the NATS connection, the
// cluster's metrics are on /metrics, and a second node joins through the
// first one's NATS.
func TestClusterAssembly(t *testing.T) {
	fast := cluster.Config{HeartbeatInterval: 50 * time.Millisecond}
	a := startAdmin(t, server.Config{Cluster: server.ClusterConfig{EmbeddedNATS: true, EmbeddedAddr: "127.0.0.1:0", NodeID: "a", Node: fast}})
	require.NotEmpty(t, a.EmbeddedNATSURL())
	assert.Equal(t, a.HTTPURL(), a.ClusterNode().Info().URL, "advertised: the HTTP listener by default")
	b := startAdmin(t, server.Config{Cluster: server.ClusterConfig{NATS: []string{a.EmbeddedNATSURL()}, NodeID: "b",
		Advertise: "https://b.example.com:7780", Node: fast}})
	require.Eventually(t, func() bool { return len(a.ClusterNode().Live()) == 1 && len(b.ClusterNode().Live()) == 1 },
		10*time.Second, 5*time.Millisecond)
	info, ok := a.ClusterNode().Lookup("b")
	require.True(t, ok)
	assert.Equal(t, "https://b.example.com:7780", info.URL)

	ready := func(srv *server.Server) int {
		resp, err := http.Get(srv.HTTPURL() + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, ready(b))
	m := scrape(t, a)
	assert.Equal(t, 1.0, m.value("tickwire_cluster_nodes_live"))
	assert.Equal(t, 1.0, m.value("tickwire_cluster_nats_connected"))
	assert.Equal(t, 0.0, m.value("tickwire_cluster_redirects_total", "event", "issued"))

	// a's embedded NATS goes with a: b is cut off and says so.
	require.NoError(t, a.Shutdown(ctxT(t)))
	require.Eventually(t, func() bool { return ready(b) == http.StatusServiceUnavailable }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 0.0, scrape(t, b).value("tickwire_cluster_nats_connected"))
	assert.Empty(t, b.ClusterNode().Live(), "a said goodbye before its NATS stopped")
}

// A single node (the default) has no cluster parts.
func TestSingleNodeHasNoCluster(t *testing.T) {
	srv := startAdmin(t, server.Config{})
	assert.Nil(t, srv.ClusterNode())
	assert.Nil(t, srv.ClusterDirectory())
	assert.Empty(t, srv.EmbeddedNATSURL())
}
