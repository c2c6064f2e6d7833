package conntest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// Echo writes every message s reads back on the channel it came on,
// until s fails or closes: the server side of a round-trip benchmark.
// The returned stop closes s and waits for the loop.
func Echo(s netcode.Conn) (stop func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			ch, b, err := s.ReadMessage()
			if err != nil {
				return
			}
			if err := s.WriteMessage(ch, b); err != nil {
				return
			}
		}
	})
	return func() {
		_ = s.Close(netcode.CodeOK, "")
		wg.Wait()
	}
}

// RTTs collects the round-trip times of a benchmark.
type RTTs []time.Duration

// Report reports the p50, p99 and maximum in µs; nothing without samples.
// It sorts r.
func (r RTTs) Report(b *testing.B) {
	if len(r) == 0 {
		return
	}
	slices.Sort(r)
	pct := func(p float64) float64 {
		i := min(int(p*float64(len(r))), len(r)-1)
		return float64(r[i].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(r[len(r)-1].Nanoseconds())/1e3, "max-µs")
}
