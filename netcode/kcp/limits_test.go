package kcp

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kcpgo "github.com/xtaci/kcp-go/v5"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/memlink"
)

func TestOversizedReliablePrefixClosesSession(t *testing.T) {
	link := memlink.New(memlink.Config{})
	l, err := ListenPacket(link.A(), Config{MaxMessageSize: 1000})
	require.NoError(t, err)
	client, err := DialPacket(t.Context(), link.B(), link.A().LocalAddr(), Config{})
	require.NoError(t, err)
	server, err := l.AcceptKCP()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = client.Close(netcode.CodeOK, "")
		require.NoError(t, l.Shutdown(context.Background()))
		require.NoError(t, link.Close())
	})
	cin := conntest.Pump(t, client)
	sin := conntest.Pump(t, server)
	require.NoError(t, client.WriteMessage(netcode.Reliable, make([]byte, 2000)))
	r := conntest.Recv(t, sin, 5*time.Second)
	require.ErrorIs(t, r.Err, netcode.ErrMessageTooLarge)
	assert.Equal(t, uint64(1), server.Stats().Drops[netcode.DropMalformed])
	r = conntest.Recv(t, cin, 5*time.Second)
	var ce *netcode.CloseError
	require.ErrorAs(t, r.Err, &ce)
	assert.Equal(t, netcode.CodeFrameTooLarge, ce.Code)
	require.Eventually(t, func() bool { return l.SessionCount() == 0 }, 5*time.Second, 5*time.Millisecond)
}

func TestWriteTimeoutWhenPeerIsDeaf(t *testing.T) {
	cfg := Config{WriteTimeout: 200 * time.Millisecond, IdleTimeout: 20 * time.Second}
	client, _, _, link := memPair(t, memlink.Config{}, cfg)
	black := memlink.Direction{Loss: 1}
	link.SetAToB(black)
	link.SetBToA(black)
	msg := make([]byte, 1000)
	var err error
	start := time.Now()
	for i := 0; i < 2000 && err == nil; i++ { // the 256-segment window fills long before
		err = client.WriteMessage(netcode.Reliable, msg)
	}
	require.ErrorIs(t, err, netcode.ErrWriteTimeout)
	assert.Less(t, time.Since(start), 5*time.Second)
	// The conn is still open; the caller decides to close it.
	require.NoError(t, client.Close(netcode.CodeSlowConsumer, "peer deaf"))
	require.ErrorIs(t, client.WriteMessage(netcode.Reliable, msg), netcode.ErrClosed)
}

// TestProfileFECRuns: ProfileFEC is ProfileLowLatency since the event
// loops drive bare KCP cores (kcp-go's FEC lives in its UDPSession); a
// listener configured with it still serves, and asks no client for FEC.
func TestProfileFECRuns(t *testing.T) {
	link := memlink.New(memlink.Config{Seed: 8, AToB: memlink.Direction{Loss: 0.05}, BToA: memlink.Direction{Loss: 0.05}})
	l, err := ListenPacket(link.A(), Config{Profile: ProfileFEC})
	require.NoError(t, err)
	client, err := DialPacket(context.Background(), link.B(), link.A().LocalAddr(), Config{Profile: ProfileLowLatency})
	require.NoError(t, err)
	server, err := l.AcceptKCP()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = client.Close(netcode.CodeOK, "")
		require.NoError(t, l.Shutdown(context.Background()))
		require.NoError(t, link.Close())
	})
	assert.Len(t, server.acceptMsg, acceptSealedSize, "a sealed Accept (its shard bytes are checked by the client, which refuses FEC)")
	sin := conntest.Pump(t, server)
	for i := range 100 {
		require.NoError(t, client.WriteMessage(netcode.Reliable, []byte{byte(i)}))
	}
	for i := range 100 {
		r := conntest.Recv(t, sin, 10*time.Second)
		require.NoError(t, r.Err)
		require.Equal(t, []byte{byte(i)}, r.Data)
	}
}

func TestMaxSessionsPerIP(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{MaxSessionsPerIP: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	c1, err := Dial(context.Background(), l.Addr().String(), Config{})
	require.NoError(t, err)
	_, err = Dial(context.Background(), l.Addr().String(), Config{})
	require.ErrorIs(t, err, netcode.ErrHandshake)
	assert.Equal(t, netcode.CodeRateLimited, netcode.CodeOf(err))
	// Closing the first session frees the slot.
	s1, err := l.AcceptKCP()
	require.NoError(t, err)
	require.NoError(t, c1.Close(netcode.CodeOK, ""))
	require.NoError(t, s1.Close(netcode.CodeOK, ""))
	require.Eventually(t, func() bool { return l.SessionCount() == 0 }, 5*time.Second, 5*time.Millisecond)
	c2, err := Dial(context.Background(), l.Addr().String(), Config{})
	require.NoError(t, err)
	require.NoError(t, c2.Close(netcode.CodeOK, ""))
}

func TestConfigValidation(t *testing.T) {
	bad := map[string]Config{
		"profile":         {Profile: Profile(42)},
		"max_message":     {MaxMessageSize: maxMessageSizeLimit + 1},
		"idle_vs_beat":    {IdleTimeout: time.Second, HeartbeatInterval: 2 * time.Second},
		"negative":        {WriteTimeout: -1},
		"max_level":       {Redundancy: RedundancyConfig{MaxLevel: 9}},
		"thresholds":      {Redundancy: RedundancyConfig{Thresholds: []float64{0.1, 0.05}}},
		"few_thresholds":  {Redundancy: RedundancyConfig{MaxLevel: 3, Thresholds: []float64{0.1}}},
		"down_factor":     {Redundancy: RedundancyConfig{DownFactor: 2}},
		"negative_budget": {Redundancy: RedundancyConfig{BudgetBytesPerSec: -5}},
	}
	for name, cfg := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := Listen("127.0.0.1:0", cfg)
			require.ErrorIs(t, err, ErrConfig)
		})
	}
	c, err := Config{}.populate()
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, c.IdleTimeout)
	assert.Equal(t, 3, c.Redundancy.MaxLevel)
	assert.Equal(t, []float64{0.01, 0.04, 0.10, 0.30}, c.Redundancy.Thresholds)
	assert.Len(t, c.CookieSecret, 32)
}

// TestSlowReaderNeverBlocksListener: a session whose application never
// reads fills its bounded unreliable queue (oldest dropped, counted) while
// another session on the same socket keeps working.
func TestSlowReaderNeverBlocksListener(t *testing.T) {
	cfg := Config{UnreliableQueue: 8}
	l, err := Listen("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	slow, err := Dial(context.Background(), l.Addr().String(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = slow.Close(netcode.CodeOK, "") })
	slowSrv, err := l.AcceptKCP()
	require.NoError(t, err)
	fast, err := Dial(context.Background(), l.Addr().String(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fast.Close(netcode.CodeOK, "") })
	fastSrv, err := l.AcceptKCP()
	require.NoError(t, err)
	fin := conntest.Pump(t, fastSrv)

	msg := make([]byte, 100)
	for range 500 {
		require.NoError(t, slow.WriteMessage(netcode.Unreliable, msg))
	}
	require.NoError(t, fast.WriteMessage(netcode.Reliable, []byte("through")))
	r := conntest.Recv(t, fin, 5*time.Second)
	require.NoError(t, r.Err)
	assert.Equal(t, "through", string(r.Data))
	require.Eventually(t, func() bool { return slowSrv.Stats().Drops[netcode.DropQueueFull] > 0 }, 5*time.Second, 5*time.Millisecond)
	// The queue keeps the newest eight.
	n := 0
	for {
		c, b, err := slowSrv.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, netcode.Unreliable, c)
		require.Len(t, b, 100)
		if n++; n == 8 {
			break
		}
	}
	st := slowSrv.Stats()
	assert.Equal(t, uint64(8), st.MessagesRecv)
	assert.LessOrEqual(t, st.Drops[netcode.DropQueueFull]+8, uint64(500))
}

// A bare kcp-go session takes a profile's tuning through ApplyTo (the
// echo benchmarks' baseline); an unknown profile is refused.
func TestProfileApplyTo(t *testing.T) {
	require.ErrorIs(t, Profile(99).ApplyTo(nil), ErrConfig)
	l, err := kcpgo.ListenWithOptions("127.0.0.1:0", nil, 0, 0)
	require.NoError(t, err)
	defer l.Close()
	s, err := kcpgo.DialWithOptions(l.Addr().String(), nil, 0, 0)
	require.NoError(t, err)
	defer s.Close()
	for _, p := range []Profile{ProfileLowLatency, ProfileFEC, ProfileBalanced} {
		require.NoError(t, p.ApplyTo(s), p.String())
	}
}
