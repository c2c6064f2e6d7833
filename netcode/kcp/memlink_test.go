package kcp

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/memlink"
)

// memPair runs a Listener on link endpoint A and dials it from B.
func memPair(t *testing.T, lc memlink.Config, cfg Config) (client, server *Conn, l *Listener, link *memlink.Link) {
	t.Helper()
	return memPairOf(t, lc, cfg, cfg)
}

// memPairOf is memPair with the server's own Config.
func memPairOf(t *testing.T, lc memlink.Config, cfg, scfg Config) (client, server *Conn, l *Listener, link *memlink.Link) {
	t.Helper()
	link = memlink.New(lc)
	l, err := ListenPacket(link.A(), scfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err = DialPacket(ctx, link.B(), link.A().LocalAddr(), cfg)
	require.NoError(t, err)
	server, err = l.AcceptKCP()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = client.Close(netcode.CodeOK, "")
		_ = server.Close(netcode.CodeOK, "")
		require.NoError(t, l.Shutdown(context.Background()))
		require.NoError(t, link.Close())
	})
	return client, server, l, link
}

func TestReliableOrderingOverLossyLink(t *testing.T) {
	lossy := memlink.Direction{Loss: 0.10, Delay: 2 * time.Millisecond, Jitter: 3 * time.Millisecond, Reorder: 0.05, Duplicate: 0.05}
	cases := map[string]Config{
		"low_latency": {},
		"fec":         {Profile: ProfileFEC},
		"balanced":    {Profile: ProfileBalanced},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			cfg.IdleTimeout = 30 * time.Second
			client, server, _, link := memPair(t, memlink.Config{Seed: 11, AToB: lossy, BToA: lossy}, cfg)
			sin := conntest.Pump(t, server)
			const n = 400
			sizes := []int{8, 300, 1500, 5000}
			errc := make(chan error, 1)
			go func() {
				for i := range n {
					b := make([]byte, sizes[i%len(sizes)])
					binary.BigEndian.PutUint32(b, uint32(i))
					for j := 4; j < len(b); j++ {
						b[j] = byte(i + j)
					}
					if err := client.WriteMessage(netcode.Reliable, b); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i := range n {
				r := conntest.Recv(t, sin, 20*time.Second)
				require.NoError(t, r.Err)
				require.Equal(t, netcode.Reliable, r.Ch)
				require.Len(t, r.Data, sizes[i%len(sizes)])
				require.Equal(t, uint32(i), binary.BigEndian.Uint32(r.Data), "out of order")
				for j := 4; j < len(r.Data); j++ {
					require.Equal(t, byte(i+j), r.Data[j])
				}
			}
			require.NoError(t, <-errc)
			st := link.Stats()
			assert.Positive(t, st.BToA.Lost)
			assert.Positive(t, st.AToB.Lost)
			assert.Positive(t, client.Stats().Retransmits+client.Stats().RedundantBytes, "loss was repaired somehow")
		})
	}
}

func TestUnreliableOverLossyLinkNeverStale(t *testing.T) {
	lossy := memlink.Direction{Loss: 0.10, Jitter: 3 * time.Millisecond, Reorder: 0.2, Duplicate: 0.1}
	client, server, _, _ := memPair(t, memlink.Config{Seed: 5, BToA: lossy}, Config{})
	sin := conntest.Pump(t, server)
	const n = 300
	for i := 1; i <= n; i++ {
		var b [8]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		require.NoError(t, client.WriteMessage(netcode.Unreliable, b[:]))
	}
	require.NoError(t, client.WriteMessage(netcode.Reliable, []byte{0xFF, 0xFF, 0xFF, 0xFF}))
	last, got := uint32(0), 0
	for {
		r := conntest.Recv(t, sin, 10*time.Second)
		require.NoError(t, r.Err)
		seq := binary.BigEndian.Uint32(r.Data)
		if r.Ch == netcode.Reliable {
			break
		}
		require.Greater(t, seq, last, "stale unreliable message delivered")
		last = seq
		got++
	}
	assert.Positive(t, got)
	// kcp-go runs its timers on process-wide goroutines outside any synctest bubble: wall clock
	require.Eventually(t, func() bool { return server.Stats().Drops[netcode.DropStale] > 0 }, 5*time.Second, 10*time.Millisecond,
		"reordered and duplicated datagrams are dropped as stale")
}
