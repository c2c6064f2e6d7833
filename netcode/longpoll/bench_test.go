package longpoll

import (
	"testing"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// BenchmarkEchoRTT measures one round trip over long-poll on loopback: the
// client posts a 64-byte frame, the server's reader echoes it, and the
// held recv carries it back. It reports the median and p99 in µs (issue
// target: p50 ≤ 2 ms).
func BenchmarkEchoRTT(b *testing.B) {
	c, sess := pair(b, Config{})
	b.Cleanup(conntest.Echo(sess))
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
}
