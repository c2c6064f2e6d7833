package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/server"
)

func TestParseCluster(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.False(t, o.srv.Cluster.Enabled(), "a single node by default")

	o, err = parse([]string{"-nats", "nats://a:4222, nats://b:4222", "-node-id", "eu1", "-advertise", "https://eu1.example.com"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, server.ClusterConfig{NATS: []string{"nats://a:4222", "nats://b:4222"}, NodeID: "eu1", Advertise: "https://eu1.example.com"}, o.srv.Cluster)

	o, err = parse(nil, envOf(map[string]string{"TICKWIRE_NATS_EMBEDDED": "on", "TICKWIRE_NODE_ID": "dev"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, server.ClusterConfig{EmbeddedNATS: true, EmbeddedAddr: "127.0.0.1:4222", NodeID: "dev"}, o.srv.Cluster)

	o, err = parse([]string{"-nats-embedded", "127.0.0.1:0"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.NotEmpty(t, o.srv.Cluster.NodeID, "the host name")

	_, err = parse([]string{"-node-id", "x"}, envOf(nil), io.Discard)
	assert.ErrorContains(t, err, "-nats")
}

// -nats-embedded: a node with its own NATS, ready once connected, its
// cluster counters in /v1/stats.
func TestRunEmbeddedNATS(t *testing.T) {
	logs := logLines{ch: make(chan map[string]any, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	args := []string{"-kcp", "127.0.0.1:0", "-tcp", "off", "-webrtc", "off", "-http", "127.0.0.1:0", "-data", t.TempDir(),
		"-log-format", "json", "-nats-embedded", "127.0.0.1:0", "-node-id", "solo", "-admin-token", "0123456789abcdef0123", "-admin-addr", "127.0.0.1:0"}
	go func() { done <- run(ctx, args, envOf(nil), logs) }()
	var listening map[string]any
	for listening == nil {
		select {
		case m := <-logs.ch:
			if m["msg"] == "tickwire listening" {
				listening = m
			}
		case err := <-done:
			t.Fatalf("run ended early: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("server did not start")
		}
	}
	base := "http://" + listening["http"].(string)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)
	req, err := http.NewRequest(http.MethodGet, "http://"+listening["admin"].(string)+"/v1/stats", nil) // the admin listener's

	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer 0123456789abcdef0123")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var st struct {
		Services struct {
			Cluster struct {
				Node struct {
					NodeID    string `json:"node_id"`
					Connected bool   `json:"connected"`
				} `json:"node"`
			} `json:"cluster"`
		} `json:"services"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	assert.Equal(t, "solo", st.Services.Cluster.Node.NodeID)
	assert.True(t, st.Services.Cluster.Node.Connected)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return")
	}
}
