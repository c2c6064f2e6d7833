package room

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Tick rate bounds, in Hz.
const (
	MinTickRate = 1
	MaxTickRate = frame.MaxRoomTickRate
)

// MaxCapacity is the most members a room may hold (the protocol lists at
// most this many in RoomJoined).
const MaxCapacity = frame.MaxRoomMembers

// Config describes one room. The engine fills defaults for zero values
// before it calls New; New itself only validates.
type Config struct {
	Type     string // registered room type name
	ID       uint64 // unique, non-zero; assigned by the registry
	Label    string // free-form matchmaking label ("eu-ranked")
	Capacity int    // most members at once, 1..MaxCapacity
	TickRate int    // ticks per second, MinTickRate..MaxTickRate
	Private  bool   // joined by id only: not listed, never matchmade
	// EmptyTimeout is how long the room lives with no members: 0 closes
	// it at the first tick it is empty, a negative value never.
	EmptyTimeout time.Duration
	Params       []byte // opaque creation parameters for the room type
}

// Validate checks the config. Errors match ErrBadConfig.
func (c *Config) Validate() error {
	switch {
	case c.Type == "" || len(c.Type) > frame.MaxNameLen:
		return fmt.Errorf("%w: type %q", ErrBadConfig, c.Type)
	case c.ID == 0:
		return fmt.Errorf("%w: zero id", ErrBadConfig)
	case len(c.Label) > frame.MaxNameLen:
		return fmt.Errorf("%w: label longer than %d bytes", ErrBadConfig, frame.MaxNameLen)
	case c.Capacity < 1 || c.Capacity > MaxCapacity:
		return fmt.Errorf("%w: capacity %d not in 1..%d", ErrBadConfig, c.Capacity, MaxCapacity)
	case c.TickRate < MinTickRate || c.TickRate > MaxTickRate:
		return fmt.Errorf("%w: tick rate %d not in %d..%d Hz", ErrBadConfig, c.TickRate, MinTickRate, MaxTickRate)
	case len(c.Params) > frame.MaxRoomParams:
		return fmt.Errorf("%w: params longer than %d bytes", ErrBadConfig, frame.MaxRoomParams)
	}
	return nil
}

// Period is the time between two ticks.
func (c *Config) Period() time.Duration { return time.Second / time.Duration(c.TickRate) }

// Member is one member of a room. ID is a small number unique within the
// room for its life (never reused), by which frames name the member.
type Member struct {
	ID          uint32
	UserID      string
	DisplayName string
}

// Input is one input received from a member. Data is valid only during
// the Handler.Input call: copy what you keep.
type Input struct {
	From    Member
	Channel netcode.Channel // the channel the input arrived on
	Seq     uint32          // the sender's sequence number
	Data    []byte
}

// Handler is a room type's logic. Every method is called by the room's
// single owner, with ctx valid only during the call. A handler must not
// block, start goroutines or keep ctx.
type Handler interface {
	// Created is called once, before anything else.
	Created(ctx *Context)
	// Joined is called after m joined (m already appears in Members).
	Joined(ctx *Context, m Member)
	// Left is called after m left (m no longer appears in Members).
	Left(ctx *Context, m Member)
	// Input is called for each input, in arrival order, before the tick
	// it arrived for.
	Input(ctx *Context, in Input)
	// Tick is called once per tick; ctx.Tick() is the new tick number.
	Tick(ctx *Context)
	// Closing is called once when the room closes; members still appear
	// in Members and may be sent a last frame.
	Closing(ctx *Context)
}

// AwayHandler is an optional interface of a Handler that wants to know
// when a member's connection is lost (Away) and when it resumes its
// session (Back). An away member keeps its seat; if it does not come
// back within the server's resume window it leaves (Left). Inputs stop
// while it is away; frames sent to it meanwhile reach it on resume if
// reliable, and are dropped if unreliable.
type AwayHandler interface {
	Away(ctx *Context, m Member)
	Back(ctx *Context, m Member)
}

// Factory creates the handler of a new room of one type.
type Factory func(cfg Config) (Handler, error)

// Base implements every Handler method as a no-op, for embedding.
type Base struct{}

func (Base) Created(*Context)        {}
func (Base) Joined(*Context, Member) {}
func (Base) Left(*Context, Member)   {}
func (Base) Input(*Context, Input)   {}
func (Base) Tick(*Context)           {}
func (Base) Closing(*Context)        {}

type targetKind uint8

const (
	toAll targetKind = iota
	toOne
	toAllExcept
	toSome
)

// Target says which members a Message goes to.
type Target struct {
	kind targetKind
	one  uint32
	some []uint32
}

// All targets every member.
var All = Target{kind: toAll}

// To targets one member.
func To(id uint32) Target { return Target{kind: toOne, one: id} }

// AllExcept targets every member but one.
func AllExcept(id uint32) Target { return Target{kind: toAllExcept, one: id} }

// ToSome targets the listed members. Context copies ids, so the caller
// may reuse the slice.
func ToSome(ids []uint32) Target { return Target{kind: toSome, some: ids} }

// Includes reports whether member id is a recipient.
func (t Target) Includes(id uint32) bool {
	switch t.kind {
	case toAll:
		return true
	case toOne:
		return id == t.one
	case toAllExcept:
		return id != t.one
	}
	for _, s := range t.some {
		if s == id {
			return true
		}
	}
	return false
}

// Single returns the one recipient of a To target.
func (t Target) Single() (uint32, bool) { return t.one, t.kind == toOne }

// Message is one encoded frame waiting for delivery. Frame is shared by
// all recipients and must not be modified.
type Message struct {
	To      Target
	Channel netcode.Channel
	Frame   []byte
}

// Context is what a handler sees of its room during one call.
type Context struct {
	r *Room
}

// Now is the time the driver passed in for this call.
func (c *Context) Now() time.Time { return c.r.now }

// Tick is the room's current tick number (0 before the first tick).
func (c *Context) Tick() uint64 { return c.r.tick }

// Config is the room's configuration.
func (c *Context) Config() *Config { return &c.r.cfg }

// RoomID is the room's id.
func (c *Context) RoomID() uint64 { return c.r.cfg.ID }

// Members lists the members in join order. The slice is the room's own:
// read it, do not keep or modify it.
func (c *Context) Members() []Member { return c.r.members }

// Member looks a member up by id.
func (c *Context) Member(id uint32) (Member, bool) {
	if i := c.r.index(id); i >= 0 {
		return c.r.members[i], true
	}
	return Member{}, false
}

// Emit encodes f once and queues it to the target on channel ch.
func (c *Context) Emit(to Target, ch netcode.Channel, f frame.Frame) error {
	return c.r.emit(to, ch, f)
}

// Send queues a RoomData frame with data (stamped with the room id, tick
// and time) to the target on channel ch.
func (c *Context) Send(to Target, ch netcode.Channel, data []byte) error {
	c.r.data = frame.RoomData{RoomID: c.r.cfg.ID, Tick: c.r.tick, ServerTimeUs: c.r.now.UnixMicro(), Data: data}
	err := c.r.emit(to, ch, &c.r.data)
	c.r.data.Data = nil
	return err
}

// Broadcast is Send to All.
func (c *Context) Broadcast(ch netcode.Channel, data []byte) error { return c.Send(All, ch, data) }

// Dropped records that the handler dropped n inputs or messages (a
// bound it keeps, such as the relay's per-tick limit). The driver counts
// them per room type, so that no drop goes unseen.
func (c *Context) Dropped(n int) {
	if n > 0 {
		c.r.dropped += uint64(n)
	}
}

// Close asks the driver to close the room after this call, with code
// (CodeRoomClosed for a normal end) and a message for the members.
func (c *Context) Close(code netcode.Code, message string) {
	if !c.r.closeAsked {
		c.r.closeAsked, c.r.closeCode, c.r.closeMsg = true, code, message
	}
}

// Room is one room's state machine. Create it with New.
type Room struct {
	cfg     Config
	h       Handler
	ctx     Context
	members []Member
	next    uint32 // next member id
	tick    uint64
	now     time.Time

	emptySince time.Time // when the room last became empty
	closed     bool
	crash      *PanicError
	closeAsked bool
	closeCode  netcode.Code
	closeMsg   string
	dropped    uint64 // reported by the handler, not yet taken

	enc   *frame.Encoder
	out   []Message
	ids   []uint32 // arena for ToSome targets, reset with the outbox
	data  frame.RoomData
	event frame.RoomEvent
}

// New creates a room and calls h.Created. now starts the empty timer.
func New(cfg Config, h Handler, now time.Time) (*Room, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadConfig)
	}
	r := &Room{cfg: cfg, h: h, next: 1, now: now, emptySince: now, enc: frame.NewEncoder()}
	r.ctx.r = r
	if err := r.call("Created", func() { r.h.Created(&r.ctx) }); err != nil {
		return nil, err
	}
	return r, nil
}

// Config returns the room's configuration.
func (r *Room) Config() *Config { return &r.cfg }

// ID is the room id.
func (r *Room) ID() uint64 { return r.cfg.ID }

// CurrentTick is the current tick number.
func (r *Room) CurrentTick() uint64 { return r.tick }

// Members lists the members in join order (the room's own slice).
func (r *Room) Members() []Member { return r.members }

// Len is the member count.
func (r *Room) Len() int { return len(r.members) }

// Closed reports whether Close was called or the handler crashed.
func (r *Room) Closed() bool { return r.closed || r.crash != nil }

// Crash returns the handler panic, if any.
func (r *Room) Crash() *PanicError { return r.crash }

// CloseRequested reports whether the handler called Context.Close.
func (r *Room) CloseRequested() (netcode.Code, string, bool) {
	return r.closeCode, r.closeMsg, r.closeAsked
}

// TakeDropped returns the drops the handler reported (Context.Dropped)
// since the last call, and forgets them.
func (r *Room) TakeDropped() uint64 {
	n := r.dropped
	r.dropped = 0
	return n
}

// Outbox returns the messages queued since the last ResetOutbox.
func (r *Room) Outbox() []Message { return r.out }

// ResetOutbox forgets delivered messages, keeping the buffers.
func (r *Room) ResetOutbox() {
	clear(r.out)
	r.out = r.out[:0]
	r.ids = r.ids[:0]
}

func (r *Room) index(id uint32) int {
	for i := range r.members {
		if r.members[i].ID == id {
			return i
		}
	}
	return -1
}

func (r *Room) usable() error {
	if r.crash != nil {
		return r.crash
	}
	if r.closed {
		return ErrClosed
	}
	return nil
}

// Join adds a member with the next member id. It queues RoomJoined (with
// ref) to the new member, a joined RoomEvent to the others, then calls
// h.Joined. A full room returns ErrFull.
func (r *Room) Join(now time.Time, userID, displayName string, ref uint32) (Member, error) {
	if err := r.usable(); err != nil {
		return Member{}, err
	}
	if len(r.members) >= r.cfg.Capacity {
		return Member{}, ErrFull
	}
	r.now = now
	m := Member{ID: r.next, UserID: userID, DisplayName: displayName}
	r.next++
	r.members = append(r.members, m)

	joined := frame.RoomJoined{
		Ref: ref, RoomID: r.cfg.ID, Type: r.cfg.Type, Label: r.cfg.Label,
		TickRate: uint8(r.cfg.TickRate), Tick: r.tick, ServerTimeUs: now.UnixMicro(),
		Capacity: uint16(r.cfg.Capacity), You: m.ID, Members: make([]frame.RoomMember, len(r.members)),
	}
	for i, mb := range r.members {
		joined.Members[i] = frame.RoomMember{Member: mb.ID, UserID: mb.UserID, DisplayName: mb.DisplayName}
	}
	if err := r.emit(To(m.ID), netcode.Reliable, &joined); err != nil {
		return Member{}, err
	}
	if len(r.members) > 1 {
		if err := r.emitEvent(frame.RoomEventJoined, m, AllExcept(m.ID)); err != nil {
			return Member{}, err
		}
	}
	return m, r.call("Joined", func() { r.h.Joined(&r.ctx, m) })
}

// Leave removes member id, queues a left RoomEvent to the others and
// calls h.Left.
func (r *Room) Leave(now time.Time, id uint32) (Member, error) {
	if err := r.usable(); err != nil {
		return Member{}, err
	}
	i := r.index(id)
	if i < 0 {
		return Member{}, ErrNotMember
	}
	r.now = now
	m := r.members[i]
	r.members = append(r.members[:i], r.members[i+1:]...)
	r.members[len(r.members):cap(r.members)][0] = Member{} // drop the strings
	if len(r.members) == 0 {
		r.emptySince = now
	} else if err := r.emitEvent(frame.RoomEventLeft, m, All); err != nil {
		return m, err
	}
	return m, r.call("Left", func() { r.h.Left(&r.ctx, m) })
}

// Away marks member id away (its session's connection was lost and
// waits for a resume): the other members get an away RoomEvent, and a
// handler that implements AwayHandler is told. The member keeps its seat
// and keeps being sent frames (the numbered ones reach it on resume).
func (r *Room) Away(now time.Time, id uint32) error {
	return r.awayBack(now, id, frame.RoomEventAway)
}

// Back marks member id back (its session resumed): the other members get
// a back RoomEvent, and an AwayHandler is told.
func (r *Room) Back(now time.Time, id uint32) error {
	return r.awayBack(now, id, frame.RoomEventBack)
}

func (r *Room) awayBack(now time.Time, id uint32, ev frame.RoomEventType) error {
	if err := r.usable(); err != nil {
		return err
	}
	i := r.index(id)
	if i < 0 {
		return ErrNotMember
	}
	r.now = now
	m := r.members[i]
	if len(r.members) > 1 {
		if err := r.emitEvent(ev, m, AllExcept(m.ID)); err != nil {
			return err
		}
	}
	ah, ok := r.h.(AwayHandler)
	if !ok {
		return nil
	}
	if ev == frame.RoomEventAway {
		return r.call("Away", func() { ah.Away(&r.ctx, m) })
	}
	return r.call("Back", func() { ah.Back(&r.ctx, m) })
}

// Input hands one input from member id to the handler.
func (r *Room) Input(now time.Time, id uint32, ch netcode.Channel, seq uint32, data []byte) error {
	if err := r.usable(); err != nil {
		return err
	}
	i := r.index(id)
	if i < 0 {
		return ErrNotMember
	}
	r.now = now
	in := Input{From: r.members[i], Channel: ch, Seq: seq, Data: data}
	return r.call("Input", func() { r.h.Input(&r.ctx, in) })
}

// Tick advances the tick number and calls h.Tick. The driver calls it at
// each deadline it keeps; skipped deadlines do not advance the number.
func (r *Room) Tick(now time.Time) error {
	if err := r.usable(); err != nil {
		return err
	}
	r.now = now
	r.tick++
	return r.call("Tick", func() { r.h.Tick(&r.ctx) })
}

// Expired reports whether the room has been empty longer than its
// EmptyTimeout.
func (r *Room) Expired(now time.Time) bool {
	if len(r.members) > 0 || r.cfg.EmptyTimeout < 0 {
		return false
	}
	return now.Sub(r.emptySince) >= r.cfg.EmptyTimeout
}

// Close ends the room: h.Closing (skipped after a crash), then a
// RoomClosed frame with code and message to every member. It returns the
// members it removed. Calling it twice does nothing the second time.
func (r *Room) Close(now time.Time, code netcode.Code, message string) []Member {
	if r.closed {
		return nil
	}
	r.now = now
	if r.crash == nil {
		// A panic in Closing is recorded in r.crash; the room closes anyway.
		_ = r.call("Closing", func() { r.h.Closing(&r.ctx) })
	}
	r.closed = true
	if len(r.members) > 0 {
		f := frame.RoomClosed{RoomID: r.cfg.ID, Code: code, Message: message}
		// Encoding a RoomClosed of bounded fields cannot fail.
		_ = r.emit(All, netcode.Reliable, &f)
	}
	gone := r.members
	r.members = nil
	return gone
}

func (r *Room) emitEvent(ev frame.RoomEventType, m Member, to Target) error {
	r.event = frame.RoomEvent{RoomID: r.cfg.ID, Event: ev, Member: m.ID, UserID: m.UserID, DisplayName: m.DisplayName}
	return r.emit(to, netcode.Reliable, &r.event)
}

func (r *Room) emit(to Target, ch netcode.Channel, f frame.Frame) error {
	if !ch.Valid() {
		return netcode.ErrBadChannel
	}
	b, err := r.enc.Encode(f)
	if err != nil {
		return fmt.Errorf("room: encoding kind %d: %w", f.Kind(), err)
	}
	if to.kind == toSome {
		start := len(r.ids)
		r.ids = append(r.ids, to.some...)
		to.some = r.ids[start:len(r.ids):len(r.ids)]
	}
	r.out = append(r.out, Message{To: to, Channel: ch, Frame: bytes.Clone(b)})
	return nil
}

// call runs one handler method, turning a panic into a *PanicError that
// marks the room crashed.
func (r *Room) call(in string, fn func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.crash = &PanicError{Value: v, Stack: debug.Stack(), In: in}
			err = r.crash
		}
	}()
	fn()
	return nil
}
