package tcp

import (
	"fmt"
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
