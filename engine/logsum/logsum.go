// Package logsum turns monotonic counters into the periodic aggregated
// log line: the counts that moved since the previous line. It is
// sans-IO: the caller reads its counters, calls Delta on its own clock
// and logs the result.
package logsum

import (
	"log/slog"
	"slices"
)

// Counts is a snapshot of monotonic counters by name.
type Counts map[string]uint64

// Add adds v under name (zero values are left out).
func (c Counts) Add(name string, v uint64) {
	if v != 0 {
		c[name] += v
	}
}

// AddAll adds every counter of m under prefix+"."+key.
func (c Counts) AddAll(prefix string, m map[string]uint64) {
	for k, v := range m {
		c.Add(prefix+"."+k, v)
	}
}

// Summary remembers the previous snapshot. The zero value is ready; the
// first Delta reports against zero. One owner: not safe for concurrent
// use.
type Summary struct {
	prev Counts
}

// Delta returns, sorted by name, one attribute per counter that moved
// since the previous call, with how much it moved; nil when nothing
// moved. A counter that went down (a listener that went away) is
// re-based without being reported.
func (s *Summary) Delta(now Counts) []slog.Attr {
	var out []slog.Attr
	for k, v := range now {
		if p := s.prev[k]; v > p {
			out = append(out, slog.Uint64(k, v-p))
		}
	}
	s.prev = now
	slices.SortFunc(out, func(a, b slog.Attr) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}
