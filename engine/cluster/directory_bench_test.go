package cluster

import (
	"fmt"
	"testing"
)

// BenchmarkDirectoryListRooms: RoomList's remote part over a replica of
// 100,000 public rooms on 10 nodes, 100 labels, a page of 100.
func BenchmarkDirectoryListRooms(b *testing.B) {
	d := &Directory{byID: map[uint64]*remoteNode{}, byKey: map[matchKey]map[uint64]*remoteNode{}, created: map[string]int{}}
	var nodes []*remoteNode
	for i := range 10 {
		nodes = append(nodes, &remoteNode{info: NodeInfo{ID: fmt.Sprintf("n%d", i)}, rooms: map[uint64]Entry{}})
	}
	const rooms = 100_000
	for i := range rooms {
		id := uint64(i)*0x9e3779b97f4a7c15 | 1 // spread like random ids
		d.setLocked(nodes[i%10], Entry{Room: id, Type: "relay", Label: fmt.Sprintf("l%d", i%100), Capacity: 4, Rate: 30})
	}
	for name, filter := range map[string][2]string{"type+label": {"relay", "l7"}, "type": {"relay", ""}, "any": {"", ""}} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(d.ListRooms(filter[0], filter[1], 100)) != 100 {
					b.Fatal("short list")
				}
			}
		})
	}
}
