package loop

import (
	"net/netip"
	"testing"
)

// BenchmarkAdd is the cost of a session's core: what every handshake
// pays once.
func BenchmarkAdd(b *testing.B) {
	l, err := New(Config{MTU: 1171, Headroom: 13, Tailroom: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var id uint64
	for b.Loop() {
		id++
		l.Remove(l.Add(id, uint32(id), netip.AddrPort{}))
	}
}
