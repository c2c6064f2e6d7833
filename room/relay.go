package room

import (
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// RelayType is the name the built-in relay room type is registered under.
const RelayType = "relay"

// Bounds on one relay tick: inputs beyond either, in the same tick, are
// dropped (newest dropped, counted in Relay.Dropped and reported through
// Context.Dropped), so that a RoomTick
// always fits in one transport message.
const (
	MaxRelayInputsPerTick = 4096
	MaxRelayTickBytes     = netcode.DefaultMaxMessageSize - 4096
	relayInputOverhead    = 16 // msgpack bytes around one input, at most
)

// Relay is the built-in relay room type. It collects the inputs that
// arrive during a tick and, at the tick, broadcasts one RoomTick frame to
// every member: room id, tick number, server time and every input of that
// tick with its sender and the sender's sequence number, in arrival order.
// Inputs that arrived on the unreliable channel go out in an unreliable
// RoomTick, reliable ones in a reliable RoomTick. A tick with no input at
// all still broadcasts an empty unreliable RoomTick, so that clients can
// follow the server's tick and clock.
type Relay struct {
	Base
	reliable   []frame.TickInput
	unreliable []frame.TickInput
	arena      []byte // input bytes of the current tick
	tick       frame.RoomTick
	dropped    uint64
}

// NewRelay is the relay type's Factory.
func NewRelay(Config) (Handler, error) { return &Relay{}, nil }

// Dropped counts inputs dropped because a tick already held
// MaxRelayInputsPerTick inputs or MaxRelayTickBytes bytes.
func (r *Relay) Dropped() uint64 { return r.dropped }

// Input buffers one input until the tick.
func (r *Relay) Input(ctx *Context, in Input) {
	n := len(r.reliable) + len(r.unreliable)
	if n >= MaxRelayInputsPerTick || len(r.arena)+len(in.Data)+(n+1)*relayInputOverhead > MaxRelayTickBytes {
		r.dropped++
		ctx.Dropped(1)
		return
	}
	start := len(r.arena)
	r.arena = append(r.arena, in.Data...)
	ti := frame.TickInput{Member: in.From.ID, Seq: in.Seq, Data: r.arena[start:len(r.arena):len(r.arena)]}
	if in.Channel == netcode.Unreliable {
		r.unreliable = append(r.unreliable, ti)
	} else {
		r.reliable = append(r.reliable, ti)
	}
}

// Tick broadcasts the inputs of the tick that just ended.
func (r *Relay) Tick(ctx *Context) {
	r.tick.RoomID, r.tick.Tick, r.tick.ServerTimeUs = ctx.RoomID(), ctx.Tick(), ctx.Now().UnixMicro()
	if len(r.reliable) > 0 {
		r.tick.Inputs = r.reliable
		r.emit(ctx, netcode.Reliable)
	}
	if len(r.unreliable) > 0 || len(r.reliable) == 0 {
		r.tick.Inputs = r.unreliable
		r.emit(ctx, netcode.Unreliable)
	}
	r.tick.Inputs = nil
	clear(r.reliable)
	clear(r.unreliable)
	r.reliable, r.unreliable, r.arena = r.reliable[:0], r.unreliable[:0], r.arena[:0]
}

func (r *Relay) emit(ctx *Context, ch netcode.Channel) {
	if len(ctx.Members()) == 0 {
		return
	}
	if err := ctx.Emit(All, ch, &r.tick); err != nil {
		// Inputs are bounded, so this is a bug: end the room visibly.
		ctx.Close(netcode.CodeInternal, "relay: "+err.Error())
	}
}
