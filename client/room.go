package client

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// RoomOptions are the settings of a room to create (CreateRoom) or to
// create when matchmaking finds no open room (JoinOrCreateRoom). Zero
// fields take the server's defaults.
type RoomOptions struct {
	Type           string // registered room type, e.g. "relay"
	Label          string // matchmaking label
	Capacity       int
	TickRate       int  // Hz, 1–128
	Private        bool // CreateRoom only: joined by id, never listed
	EmptyTimeoutMs uint32
	Params         []byte // opaque, for the room type's factory
}

// Room is this client's membership of one server room. Its methods are
// safe from any goroutine. Pushes for the room (ticks, data, events,
// close) arrive through the client's Messages() or Handler like every
// push: pass them to DecodeRoomUpdate, and Room.Owns tells whose they are.
type Room struct {
	c        *Client
	parent   *Client // the client that followed a redirect to c, or nil
	joined   frame.RoomJoined
	seq      atomic.Uint32
	voiceSeq atomic.Uint32
}

// CreateRoom creates a room and joins it.
func (c *Client) CreateRoom(ctx context.Context, o RoomOptions) (*Room, error) {
	if err := checkRoomOptions(o); err != nil {
		return nil, err
	}
	return c.joinRoom(ctx, &frame.RoomCreate{
		Type: o.Type, Label: o.Label, Capacity: uint16(o.Capacity), TickRate: uint8(o.TickRate),
		Private: o.Private, EmptyTimeoutMs: o.EmptyTimeoutMs, Params: o.Params,
	})
}

// JoinRoom joins a room by id.
func (c *Client) JoinRoom(ctx context.Context, id uint64) (*Room, error) {
	return c.joinRoom(ctx, &frame.RoomJoin{RoomID: id})
}

// JoinOrCreateRoom joins the emptiest open public room of o.Type and
// o.Label with a free seat, or creates one with o's settings.
func (c *Client) JoinOrCreateRoom(ctx context.Context, o RoomOptions) (*Room, error) {
	if err := checkRoomOptions(o); err != nil {
		return nil, err
	}
	return c.joinRoom(ctx, &frame.RoomJoinOrCreate{
		Type: o.Type, Label: o.Label, Capacity: uint16(o.Capacity), TickRate: uint8(o.TickRate),
		EmptyTimeoutMs: o.EmptyTimeoutMs, Params: o.Params,
	})
}

func checkRoomOptions(o RoomOptions) error {
	if o.Capacity < 0 || o.Capacity > frame.MaxRoomMembers || o.TickRate < 0 || o.TickRate > frame.MaxRoomTickRate {
		return netcode.Errorf(netcode.CodeBadRoomConfig, "capacity %d or tick rate %d out of range", o.Capacity, o.TickRate)
	}
	return nil
}

func (c *Client) joinRoom(ctx context.Context, req frame.Refer) (*Room, error) {
	on, m, err := c.follow(ctx, req)
	if err != nil {
		return nil, err
	}
	r := &Room{c: on}
	if on != c {
		r.parent = c
	}
	if err := m.Decode(&r.joined); err != nil {
		return nil, fmt.Errorf("client: room reply kind %d: %w", m.Kind, err)
	}
	if r.parent != nil {
		c.trackNodeRoom(on, r.joined.RoomID)
	}
	return r, nil
}

// ListRooms lists open public rooms of a type and label ("" matches any).
func (c *Client) ListRooms(ctx context.Context, typ, label string, limit int) ([]frame.RoomInfo, error) {
	if limit < 0 || limit > frame.MaxRoomListed {
		limit = frame.MaxRoomListed
	}
	m, err := c.Call(ctx, &frame.RoomList{Type: typ, Label: label, Limit: uint16(limit)})
	if err != nil {
		return nil, err
	}
	var res frame.RoomListResult
	if err := m.Decode(&res); err != nil {
		return nil, err
	}
	return res.Rooms, nil
}

// Node is the session the room lives on: this client, or the session
// it opened on another node of a cluster to follow a redirect.
func (r *Room) Node() *Client { return r.c }

// ID is the room id.
func (r *Room) ID() uint64 { return r.joined.RoomID }

// Me is this client's member number in the room.
func (r *Room) Me() uint32 { return r.joined.You }

// Joined is the server's reply to the join: type, label, tick rate, the
// tick at the time of joining and the members then.
func (r *Room) Joined() frame.RoomJoined { return r.joined }

// SendInput sends data to the room on ch with the next sequence number
// (returned). Unreliable inputs are relayed unreliably.
func (r *Room) SendInput(ch netcode.Channel, data []byte) (uint32, error) {
	seq := r.seq.Add(1)
	in := frame.RoomInput{RoomID: r.joined.RoomID, Seq: seq, Data: data}
	return seq, r.c.Send(ch, &in)
}

// Leave leaves the room and waits for the server's acknowledgement.
func (r *Room) Leave(ctx context.Context) error {
	_, err := r.c.Call(ctx, &frame.RoomLeave{RoomID: r.joined.RoomID})
	if r.parent != nil {
		r.parent.untrackNodeRoom(r.c, r.joined.RoomID)
	}
	return err
}

// Owns reports whether u concerns this room.
func (r *Room) Owns(u RoomUpdate) bool { return u.RoomID == r.joined.RoomID }

// RoomUpdate is a room push decoded: exactly one of Tick, Data, Event,
// Closed, Voice and VoiceEvent is set, according to Kind.
type RoomUpdate struct {
	Kind       frame.Kind
	Channel    netcode.Channel
	RoomID     uint64
	Tick       *frame.RoomTick   // KindRoomTick: the relay's per-tick broadcast
	Data       *frame.RoomData   // KindRoomData: a room type's own message
	Event      *frame.RoomEvent  // KindRoomEvent: a member joined or left
	Closed     *frame.RoomClosed // KindRoomClosed: the room is gone
	Voice      *frame.VoiceFrame // KindVoiceFrame: another member's audio frame
	VoiceEvent *frame.VoiceEvent // KindVoiceEvent: speaking, silent, (un)muted, (un)deafened
}

// DecodeRoomUpdate decodes a pushed message if it is a room push; ok is
// false for any other kind.
func DecodeRoomUpdate(m Message) (u RoomUpdate, ok bool, err error) {
	u = RoomUpdate{Kind: m.Kind, Channel: m.Channel}
	switch m.Kind {
	case frame.KindRoomTick:
		u.Tick = &frame.RoomTick{}
		err = m.Decode(u.Tick)
		u.RoomID = u.Tick.RoomID
	case frame.KindRoomData:
		u.Data = &frame.RoomData{}
		err = m.Decode(u.Data)
		u.RoomID = u.Data.RoomID
	case frame.KindRoomEvent:
		u.Event = &frame.RoomEvent{}
		err = m.Decode(u.Event)
		u.RoomID = u.Event.RoomID
	case frame.KindRoomClosed:
		u.Closed = &frame.RoomClosed{}
		err = m.Decode(u.Closed)
		u.RoomID = u.Closed.RoomID
	case frame.KindVoiceFrame:
		u.Voice = &frame.VoiceFrame{}
		err = m.Decode(u.Voice)
		u.RoomID = u.Voice.RoomID
	case frame.KindVoiceEvent:
		u.VoiceEvent = &frame.VoiceEvent{}
		err = m.Decode(u.VoiceEvent)
		u.RoomID = u.VoiceEvent.RoomID
	default:
		return u, false, nil
	}
	return u, err == nil, err
}
