package impair

// DirStats counts one direction of a proxy.
type DirStats struct {
	// Packets is what the proxy received (UDP datagrams or TCP chunks).
	Packets uint64
	// Forwarded counts deliveries written, duplicates included; Bytes
	// their payload bytes.
	Forwarded, Bytes uint64
	// Dropped counts packets dropped, by reason; DroppedBytes their
	// payload bytes (all reasons).
	Dropped      [NumDropReasons]uint64
	DroppedBytes uint64
	// Duplicated and Reordered count the packets the proxy duplicated or
	// held back to reorder.
	Duplicated, Reordered uint64
}

// TotalDropped sums the drop counters.
func (s DirStats) TotalDropped() uint64 {
	var n uint64
	for _, d := range s.Dropped {
		n += d
	}
	return n
}

// Stats is a snapshot of a proxy's counters.
type Stats struct {
	Up, Down DirStats
	// Clients is the number of UDP clients (TCP: open connections).
	Clients int
	// Accepted counts UDP clients seen or TCP connections accepted.
	Accepted uint64
}
