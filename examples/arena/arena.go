// Package arena is an example room type for tickwire: players move on a
// 2-D field and the server owns the positions. Each client sends its
// current direction as an input (2 bytes: dx, dy in -1..1) whenever it
// changes; at every tick (30 Hz by default) the room moves every player by
// its direction and broadcasts one compact snapshot of all positions on
// the unreliable channel (a lost snapshot is replaced by the next one).
//
// Wire formats, defined by this room type and carried in RoomInput.data
// and RoomData.data:
//
//	input:    [dx int8][dy int8]
//	snapshot: [count uint8] then count × [member uint32 BE][x int16 BE][y int16 BE]
//
// The Room is sans-IO like every tickwire room: it is driven by the
// engine's tick workers and never blocks. Register it with
//
//	hub.RegisterRoomType(arena.Type, arena.New)
package arena

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/room"
)

// Type is the name the example registers the room type under.
const Type = "arena"

// Field bounds and speed, in field units.
const (
	FieldSize = 1000 // positions are in [0, FieldSize)
	Speed     = 5    // units per tick per axis
)

// Position is one player's position in a snapshot.
type Position struct {
	Member uint32
	X, Y   int16
}

type player struct {
	id     uint32
	x, y   int16
	dx, dy int8
}

// Room is the arena's room.Handler.
type Room struct {
	room.Base
	players []player // in join order
	snap    []byte   // reused snapshot buffer
}

// New is the arena's room.Factory.
func New(cfg room.Config) (room.Handler, error) {
	if cfg.Capacity > 255 {
		return nil, fmt.Errorf("arena: capacity %d above 255", cfg.Capacity)
	}
	return &Room{}, nil
}

// Joined places the new player at a spot derived from its member number.
func (r *Room) Joined(_ *room.Context, m room.Member) {
	x := int16((uint32(m.ID) * 379) % FieldSize)
	y := int16((uint32(m.ID) * 613) % FieldSize)
	r.players = append(r.players, player{id: m.ID, x: x, y: y})
}

// Left removes the player.
func (r *Room) Left(_ *room.Context, m room.Member) {
	for i := range r.players {
		if r.players[i].id == m.ID {
			r.players = append(r.players[:i], r.players[i+1:]...)
			return
		}
	}
}

// Input sets the player's direction; malformed inputs are ignored.
func (r *Room) Input(_ *room.Context, in room.Input) {
	if len(in.Data) != 2 {
		return
	}
	dx, dy := clampDir(int8(in.Data[0])), clampDir(int8(in.Data[1]))
	for i := range r.players {
		if r.players[i].id == in.From.ID {
			r.players[i].dx, r.players[i].dy = dx, dy
			return
		}
	}
}

func clampDir(v int8) int8 { return max(-1, min(1, v)) }

// Tick moves everyone and broadcasts the snapshot.
func (r *Room) Tick(ctx *room.Context) {
	if len(r.players) == 0 {
		return
	}
	for i := range r.players {
		p := &r.players[i]
		p.x = clampPos(int(p.x) + int(p.dx)*Speed)
		p.y = clampPos(int(p.y) + int(p.dy)*Speed)
	}
	r.snap = AppendSnapshot(r.snap[:0], r.positions())
	if err := ctx.Broadcast(netcode.Unreliable, r.snap); err != nil {
		ctx.Close(netcode.CodeInternal, err.Error())
	}
}

func (r *Room) positions() func(yield func(Position) bool) {
	return func(yield func(Position) bool) {
		for _, p := range r.players {
			if !yield(Position{Member: p.id, X: p.x, Y: p.y}) {
				return
			}
		}
	}
}

func clampPos(v int) int16 { return int16(max(0, min(FieldSize-1, v))) }

// Input encodes a direction input.
func Input(dx, dy int8) []byte { return []byte{byte(clampDir(dx)), byte(clampDir(dy))} }

// AppendSnapshot appends the snapshot encoding of ps to b (at most 255
// positions are written).
func AppendSnapshot(b []byte, ps func(yield func(Position) bool)) []byte {
	start := len(b)
	b = append(b, 0)
	n := 0
	for p := range ps {
		if n == 255 {
			break
		}
		b = binary.BigEndian.AppendUint32(b, p.Member)
		b = binary.BigEndian.AppendUint16(b, uint16(p.X))
		b = binary.BigEndian.AppendUint16(b, uint16(p.Y))
		n++
	}
	b[start] = byte(n)
	return b
}

// ErrBadSnapshot is returned by DecodeSnapshot for malformed data.
var ErrBadSnapshot = errors.New("arena: malformed snapshot")

// DecodeSnapshot decodes a snapshot into dst[:0].
func DecodeSnapshot(dst []Position, b []byte) ([]Position, error) {
	dst = dst[:0]
	if len(b) < 1 || len(b) != 1+int(b[0])*8 {
		return dst, ErrBadSnapshot
	}
	for i := 0; i < int(b[0]); i++ {
		o := 1 + i*8
		dst = append(dst, Position{
			Member: binary.BigEndian.Uint32(b[o:]),
			X:      int16(binary.BigEndian.Uint16(b[o+4:])),
			Y:      int16(binary.BigEndian.Uint16(b[o+6:])),
		})
	}
	return dst, nil
}
