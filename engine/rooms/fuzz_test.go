package rooms

import (
	"testing"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// FuzzHandleFrame feeds arbitrary bytes of every room kind to a hub with
// a room the session is in: nothing may panic, and every refusal carries
// a protocol code the engine can answer with.
func FuzzHandleFrame(f *testing.F) {
	seeds := []frame.Frame{
		&frame.RoomCreate{Ref: 1, Type: room.RelayType, Capacity: 4, TickRate: 10},
		&frame.RoomJoin{Ref: 2, RoomID: 1},
		&frame.RoomJoinOrCreate{Ref: 3, Type: room.RelayType, Label: "x"},
		&frame.RoomLeave{Ref: 4, RoomID: 1},
		&frame.RoomInput{RoomID: 1, Seq: 1, Data: []byte("in")},
		&frame.RoomList{Ref: 5},
		&frame.RoomTick{RoomID: 1},
	}
	for _, s := range seeds {
		b, err := frame.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		now := t0
		h, err := New(Config{Workers: 1, AlignTicks: true, Clock: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		p := &fakePeer{id: 1, user: "u"}
		h.PeerOpened(p)
		k, err := frame.Peek(b)
		if err != nil || !h.Handles(k) {
			return
		}
		for i := 0; i < 2; i++ { // twice: the second sees the state the first left
			if _, err := h.HandleFrame(now, p, netcode.Reliable, k, b); err != nil && netcode.CodeOf(err) == netcode.CodeInternal {
				t.Fatalf("uncoded error: %v", err)
			}
			now = now.Add(time.Second)
			h.shards[0].step(now)
		}
		h.PeerClosed(p)
		h.shards[0].step(now.Add(time.Hour))
	})
}
