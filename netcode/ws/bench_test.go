package ws

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/tcp"
)

// tcpPair is a framed-TCP pair on loopback, for the comparison.
func tcpPair(tb testing.TB) (netcode.Conn, netcode.Conn) {
	l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = l.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := tcp.Dial(ctx, l.Addr().String(), tcp.Config{})
	require.NoError(tb, err)
	s, err := l.Accept()
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
	return c, s
}

// BenchmarkEchoRTT measures one round trip (client write, server echo,
// client read) of a 64-byte message over WebSocket and over framed TCP on
// loopback in the same run, and reports the p50 and p99 round trip of
// each (the target: ws p50 ≤ 1.5 × tcp p50).
func BenchmarkEchoRTT(b *testing.B) {
	for _, tr := range []string{"tcp", "ws"} {
		b.Run(tr, func(b *testing.B) {
			var c, s netcode.Conn
			if tr == "ws" {
				c, s = startServer(b, netcode.Env{}, Config{}).pair(b, Config{})
			} else {
				c, s = tcpPair(b)
			}
			stop := conntest.Echo(s)
			defer stop()
			msg := make([]byte, 64)
			rtts := make(conntest.RTTs, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := c.WriteMessage(netcode.Reliable, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
				rtts = append(rtts, time.Since(start))
			}
			b.StopTimer()
			rtts.Report(b)
		})
	}
}

// TestRoundTripAllocs checks the steady-state allocation budget of a ws
// round trip, counted across all goroutines (the echo server's
// included).
func TestRoundTripAllocs(t *testing.T) {
	for _, size := range []int{64, 1024} {
		t.Run(fmt.Sprintf("%dB", size), func(t *testing.T) {
			c, s := startServer(t, netcode.Env{}, Config{}).pair(t, Config{})
			stop := conntest.Echo(s)
			defer stop()
			msg := make([]byte, size)
			roundTrip := func() {
				require.NoError(t, c.WriteMessage(netcode.Reliable, msg))
				_, _, err := c.ReadMessage()
				require.NoError(t, err)
			}
			for range 50 { // warm up buffers
				roundTrip()
			}
			allocs := testing.AllocsPerRun(500, roundTrip)
			require.LessOrEqual(t, allocs, 0.1, "allocations per round trip")
		})
	}
}
