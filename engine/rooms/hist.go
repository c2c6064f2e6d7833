package rooms

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram is a lock-free log-linear histogram of durations: exact below
// 32 ns, then 16 buckets per power of two (at most ~6 % error). Record is
// a single atomic add, so every worker records into the same histogram of
// a room type without a lock.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	sum    atomic.Uint64 // nanoseconds recorded, for Prometheus' _sum
}

const (
	histSubBits = 4
	histExact   = 1 << (histSubBits + 1) // 32 values recorded exactly
	histBuckets = histExact + (63-histSubBits)*(1<<histSubBits)
)

func histIndex(v uint64) int {
	if v < histExact {
		return int(v)
	}
	msb := bits.Len64(v) - 1
	shift := msb - histSubBits
	sub := (v >> shift) & (1<<histSubBits - 1)
	return histExact + (msb-histSubBits-1)*(1<<histSubBits) + int(sub)
}

// histValue is the midpoint of bucket i.
func histValue(i int) uint64 {
	if i < histExact {
		return uint64(i)
	}
	i -= histExact
	msb := i>>histSubBits + histSubBits + 1
	shift := msb - histSubBits
	sub := uint64(i & (1<<histSubBits - 1))
	lo := (1<<histSubBits | sub) << shift
	return lo + (1<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[histIndex(uint64(d))].Add(1)
	h.sum.Add(uint64(d))
}

// Summary is a snapshot of a duration histogram.
type Summary struct {
	Count uint64        `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

func (h *histogram) summary() Summary {
	var counts [histBuckets]uint64
	var s Summary
	last := -1
	for i := range counts {
		counts[i] = h.counts[i].Load()
		s.Count += counts[i]
		if counts[i] > 0 {
			last = i
		}
	}
	if s.Count == 0 {
		return s
	}
	q := func(p float64) time.Duration {
		target := uint64(p*float64(s.Count) + 0.5)
		if target < 1 {
			target = 1
		}
		var c uint64
		for i, n := range counts {
			c += n
			if c >= target {
				return time.Duration(histValue(i))
			}
		}
		return time.Duration(histValue(last))
	}
	s.P50, s.P90, s.P99, s.P999 = q(0.50), q(0.90), q(0.99), q(0.999)
	s.Max = time.Duration(histValue(last))
	return s
}

func (h *histogram) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.sum.Store(0)
}
