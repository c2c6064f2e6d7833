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
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			c, s := pair(b, Config{})
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
	c, s := pair(t, Config{})
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
	require.LessOrEqual(t, allocs, 0.1, "allocations per round trip")
}
