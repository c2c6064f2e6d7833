package room_test

import (
	"fmt"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// counter is a tiny room type: it counts the inputs of each tick and
// tells every member the total at each tick.
type counter struct {
	room.Base
	n int
}

func (c *counter) Input(_ *room.Context, _ room.Input) { c.n++ }

func (c *counter) Tick(ctx *room.Context) {
	_ = ctx.Broadcast(netcode.Unreliable, []byte(fmt.Sprintf("tick %d: %d inputs", ctx.Tick(), c.n)))
	c.n = 0
}

// Example drives a room by hand, as the engine's tick workers do: time is
// passed in, and what the room emits is read from its outbox.
func Example() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := room.Config{Type: "counter", ID: 1, Capacity: 4, TickRate: 10}
	r, err := room.New(cfg, &counter{}, start)
	if err != nil {
		fmt.Println(err)
		return
	}
	ann, _ := r.Join(start, "u1", "Ann", 0)
	r.ResetOutbox() // the RoomJoined reply to Ann
	_ = r.Input(start, ann.ID, netcode.Reliable, 1, []byte("a"))
	_ = r.Input(start, ann.ID, netcode.Reliable, 2, []byte("b"))
	_ = r.Tick(start.Add(cfg.Period()))
	for _, m := range r.Outbox() {
		var d frame.RoomData
		if err := frame.Unmarshal(m.Frame, &d); err == nil {
			fmt.Printf("%s to all=%v on %v\n", d.Data, m.To.Includes(ann.ID), m.Channel)
		}
	}
	// Output: tick 1: 2 inputs to all=true on unreliable
}
