package arena

import (
	"context"
	"fmt"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Player plays the arena over a connected client: it joins (or creates)
// an arena room, steers, and tracks the server's snapshots.
type Player struct {
	c    *client.Client
	room *client.Room
	last []Position
	tick uint64
}

// Join matchmakes into an arena room with the given label.
func Join(ctx context.Context, c *client.Client, label string) (*Player, error) {
	r, err := c.JoinOrCreateRoom(ctx, client.RoomOptions{Type: Type, Label: label, Capacity: 16, TickRate: 30})
	if err != nil {
		return nil, fmt.Errorf("arena: join: %w", err)
	}
	return &Player{c: c, room: r}, nil
}

// Room is the player's room membership.
func (p *Player) Room() *client.Room { return p.room }

// Steer sends a new direction (reliably: directions change rarely and must
// not be lost).
func (p *Player) Steer(dx, dy int8) error {
	_, err := p.room.SendInput(netcode.Reliable, Input(dx, dy))
	return err
}

// Next waits for the next snapshot and returns it with its tick number.
// Other room pushes (joins, leaves) are skipped; a closed room returns an
// error with the room's close code.
func (p *Player) Next(ctx context.Context) (uint64, []Position, error) {
	for {
		select {
		case m, ok := <-p.c.Messages():
			if !ok {
				return 0, nil, fmt.Errorf("arena: client ended: %w", p.c.Err())
			}
			u, isRoom, err := client.DecodeRoomUpdate(m)
			if err != nil || !isRoom || !p.room.Owns(u) {
				continue
			}
			if u.Closed != nil {
				return 0, nil, &netcode.CodedError{Code: u.Closed.Code, Msg: u.Closed.Message}
			}
			if u.Kind != frame.KindRoomData || u.Data.Tick <= p.tick {
				continue // not a snapshot, or an older one arriving late
			}
			ps, err := DecodeSnapshot(p.last, u.Data.Data)
			if err != nil {
				continue
			}
			p.last, p.tick = ps, u.Data.Tick
			return p.tick, ps, nil
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

// Me returns this player's position in ps.
func (p *Player) Me(ps []Position) (Position, bool) {
	for _, x := range ps {
		if x.Member == p.room.Me() {
			return x, true
		}
	}
	return Position{}, false
}
