package longpoll

import (
	"slices"
	"testing"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// BenchmarkEchoRTT measures one round trip over long-poll on loopback: the
// client posts a 64-byte frame, the server's reader echoes it, and the
// held recv carries it back. It reports the median and p99 in µs (issue
// target: p50 ≤ 2 ms).
func BenchmarkEchoRTT(b *testing.B) {
	c, sess := pair(b, Config{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ch, p, err := sess.ReadMessage()
			if err != nil {
				return
			}
			if err := sess.WriteMessage(ch, p); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() {
		_ = sess.Close(netcode.CodeOK, "")
		<-done
	})
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
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds()), "p99-µs")
}
