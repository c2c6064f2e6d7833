package tcp

import (
	"context"
	"crypto/tls"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// BenchmarkRoundTrip is one WriteMessage on the client, an echo by the
// server and one ReadMessage on the client, over loopback TCP.
func BenchmarkRoundTrip(b *testing.B) {
	benchRoundTrip(b, func(b *testing.B) (*Conn, *Conn) { return pair(b, Config{}) })
}

// BenchmarkRoundTripTLS is BenchmarkRoundTrip inside TLS 1.3.
func BenchmarkRoundTripTLS(b *testing.B) {
	benchRoundTrip(b, func(b *testing.B) (*Conn, *Conn) {
		c, s, _ := tlsPair(b, Config{})
		return c, s
	})
}

func benchRoundTrip(b *testing.B, mk func(b *testing.B) (*Conn, *Conn)) {
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			c, s := mk(b)
			stop := conntest.Echo(s)
			defer stop()
			msg := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.WriteMessage(netcode.Unreliable, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRoundTripAllocs checks the steady-state allocation budget: no
// allocation per message on either side (counted across all goroutines,
// the echo server's included).
func TestRoundTripAllocs(t *testing.T) {
	t.Run("Plain", func(t *testing.T) {
		c, s := pair(t, Config{})
		roundTripAllocs(t, c, s, 0)
	})
	// crypto/tls allocates one small reader (24 B, its atLeastReader) per
	// record it reads: one on each side of a round trip, nothing of ours.
	// Under the race detector sync.Pool drops items at random, and
	// crypto/tls's pooled output buffers are allocated again now and then.
	t.Run("TLS", func(t *testing.T) {
		c, s, _ := tlsPair(t, Config{})
		budget := 2.0
		if raceEnabled {
			budget = 4
		}
		roundTripAllocs(t, c, s, budget)
	})
}

func roundTripAllocs(t *testing.T, c, s *Conn, budget float64) {
	stop := conntest.Echo(s)
	defer stop()
	msg := make([]byte, 256)
	roundTrip := func() {
		require.NoError(t, c.WriteMessage(netcode.Reliable, msg))
		_, _, err := c.ReadMessage()
		require.NoError(t, err)
	}
	for i := 0; i < 50; i++ { // warm up buffers
		roundTrip()
	}
	allocs := testing.AllocsPerRun(500, roundTrip)
	require.LessOrEqual(t, allocs, budget+0.1, "allocations per round trip")
}

// BenchmarkConnMemory reports the heap held per connection pair (the
// client's and the server's Conn on one listener, after one message each
// way), plain and inside TLS.
func BenchmarkConnMemory(b *testing.B) {
	const pairs = 100
	srvTLS, cliTLS := selfSigned(b)
	for name, tc := range map[string]struct{ srv, cli *tls.Config }{"Plain": {}, "TLS": {srvTLS, cliTLS}} {
		b.Run(name, func(b *testing.B) {
			ln := listen(b, Config{TLS: tc.srv})
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				conns := make([]*Conn, 0, 2*pairs)
				for range pairs {
					acc := acceptAsync(ln)
					ctx, cancel := context.WithTimeout(context.Background(), waitFor)
					c, err := Dial(ctx, ln.Addr().String(), Config{TLS: tc.cli})
					cancel()
					require.NoError(b, err)
					s := <-acc
					require.NotNil(b, s)
					require.NoError(b, c.WriteMessage(netcode.Reliable, []byte("hi")))
					_, _, err = s.ReadMessage()
					require.NoError(b, err)
					require.NoError(b, s.WriteMessage(netcode.Reliable, []byte("hi")))
					_, _, err = c.ReadMessage()
					require.NoError(b, err)
					conns = append(conns, c, s)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/pairs, "B/pair")
				for _, c := range conns {
					_ = c.Close(netcode.CodeOK, "")
				}
			}
		})
	}
}

// BenchmarkStatsRTT compares what a metrics scrape pays per session
// (Stats: atomic loads) with what an RTT read pays (RTT: one getsockopt
// of TCP_INFO).
func BenchmarkStatsRTT(b *testing.B) {
	c, _ := pair(b, Config{})
	b.Run("Stats", func(b *testing.B) {
		for b.Loop() {
			_ = c.Stats()
		}
	})
	b.Run("RTT", func(b *testing.B) {
		for b.Loop() {
			_ = c.RTT()
		}
	})
}
