package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode/kcp"
)

func kcpTransport(t *testing.T, o options) *kcp.Transport {
	t.Helper()
	for _, tr := range o.srv.Transports {
		if k, ok := tr.(*kcp.Transport); ok {
			return k
		}
	}
	require.FailNow(t, "no kcp transport")
	return nil
}

func TestParseKCPKeyFlags(t *testing.T) {
	o, err := parse([]string{"-data", "/srv/tw"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	k := kcpTransport(t, o)
	assert.Equal(t, "/srv/tw/kcp.key", k.KeyFile, "kept in the data directory by default")
	assert.False(t, k.Config.AllowPlaintext, "plaintext is refused unless asked for")

	o, err = parse([]string{"-kcp-key", "/etc/tw/kcp.key", "-kcp-plaintext-allowed"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	k = kcpTransport(t, o)
	assert.Equal(t, "/etc/tw/kcp.key", k.KeyFile)
	assert.True(t, k.Config.AllowPlaintext)
}

// TestKCPKeyKeptAcrossRestarts: the binary keeps its KCP key in the data
// directory (mode 0600), publishes it at GET /v1/kcp, and serves the
// same one after a restart, so that a client pinning it (the SDK's
// DialerFromHTTP) gets a sealed session both times.
func TestKCPKeyKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	var keys []string
	for range 2 {
		logs := logLines{ch: make(chan map[string]any, 100)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		args := []string{"-kcp", "127.0.0.1:0", "-tcp", "off", "-http", "127.0.0.1:0", "-webrtc", "off", "-data", dir, "-log-format", "json"}
		go func() { done <- run(ctx, args, envOf(nil), logs) }()
		var listening map[string]any
		for listening == nil {
			select {
			case m := <-logs.ch:
				if m["msg"] == "tickwire listening" {
					listening = m
				}
			case err := <-done:
				cancel()
				t.Fatalf("run ended early: %v", err)
			case <-time.After(10 * time.Second):
				cancel()
				t.Fatal("server did not start")
			}
		}
		httpBase := "http://" + listening["http"].(string)
		info, err := kcp.FetchInfo(ctx, nil, httpBase)
		require.NoError(t, err)
		assert.Equal(t, 2, info.Version)
		assert.False(t, info.PlaintextAllowed)
		keys = append(keys, info.PublicKey)
		d, err := kcp.DialerFromHTTP(ctx, nil, httpBase, "", kcp.Config{})
		require.NoError(t, err)
		assert.Equal(t, listening["kcp"].(string), d.Addr)
		tok, err := client.GuestToken(ctx, httpBase, "pinned")
		require.NoError(t, err)
		c, err := client.Dial(ctx, client.Options{Dial: d.Dial, Token: tok})
		require.NoError(t, err)
		require.NoError(t, c.Close())
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Fatal("run did not return after cancel")
		}
	}
	assert.Equal(t, keys[0], keys[1], "the same key after a restart")
	st, err := os.Stat(filepath.Join(dir, "kcp.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
