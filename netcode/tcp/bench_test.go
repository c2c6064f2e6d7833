package tcp

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// echo runs a server loop that writes every message back; the returned
// func stops it by closing the server Conn and waits.
func echo(tb testing.TB, s *Conn) func() {
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

// BenchmarkRoundTrip is one WriteMessage on the client, an echo by the
// server and one ReadMessage on the client, over loopback TCP.
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			c, s := pair(b, Config{})
			stop := echo(b, s)
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
	stop := echo(t, s)
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
