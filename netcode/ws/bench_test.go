package ws

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/tcp"
)

// echo runs a server loop that writes every message back; the returned
// func stops it by closing the server Conn and waits.
func echo(s netcode.Conn) func() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			ch, b, err := s.ReadMessage()
			if err != nil {
				return
			}
			if err := s.WriteMessage(ch, b); err != nil {
				return
			}
		}
	}()
	return func() {
		_ = s.Close(netcode.CodeOK, "")
		wg.Wait()
	}
}

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
			stop := echo(s)
			defer stop()
			msg := make([]byte, 64)
			rtts := make([]time.Duration, 0, b.N)
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
			slices.Sort(rtts)
			b.ReportMetric(float64(rtts[len(rtts)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(rtts[len(rtts)*99/100].Nanoseconds())/1e3, "p99-µs")
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
			stop := echo(s)
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
