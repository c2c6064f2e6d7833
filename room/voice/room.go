package voice

import (
	"fmt"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// Type is the name the built-in voice room type is registered under.
const Type = "voice"

// Room is the voice room type: a room.MediaHandler that forwards each
// member's frames, as soon as they arrive, to every other member that is
// not deafened, on the unreliable channel, after dropping a muted
// sender's, stale, duplicate and over-rate frames (counted by reason).
// Speaking, mute and deafen changes go to every member as VoiceEvents on
// the reliable channel; a member that joins gets the current state of
// the others.
type Room struct {
	room.Base
	cfg      *Config
	counters *Counters
	streams  map[uint32]*Stream
	to       []uint32 // recipients of the frame being forwarded
	fwd      frame.VoiceFrame
	ev       frame.VoiceEvent
	warn     frame.Error
}

var _ room.MediaHandler = (*Room)(nil)

// Factory returns the voice room type's factory: every room it makes
// shares cfg (filled here; errors match room.ErrBadConfig) and adds to
// counters (nil: counters of its own).
func Factory(cfg Config, counters *Counters) (room.Factory, error) {
	if err := cfg.Fill(); err != nil {
		return nil, err
	}
	if counters == nil {
		counters = &Counters{}
	}
	return func(rc room.Config) (room.Handler, error) {
		if rc.Capacity > cfg.MaxMembers {
			return nil, &netcode.CodedError{Code: netcode.CodeVoiceRoomTooLarge,
				Msg: fmt.Sprintf("voice room capacity %d above %d", rc.Capacity, cfg.MaxMembers)}
		}
		return &Room{cfg: &cfg, counters: counters, streams: map[uint32]*Stream{}}, nil
	}, nil
}

// Stream returns member id's state (nil for a non-member), for tests and
// embedders reading the room from its own handler calls.
func (r *Room) Stream(id uint32) *Stream { return r.streams[id] }

// Joined tells the new member the state of everyone already there.
func (r *Room) Joined(ctx *room.Context, m room.Member) {
	r.streams[m.ID] = NewStream(r.cfg)
	for _, o := range ctx.Members() {
		s := r.streams[o.ID]
		if o.ID == m.ID || s == nil {
			continue
		}
		if s.Muted() {
			r.event(ctx, room.To(m.ID), o.ID, frame.VoiceMuted)
		}
		if s.Deafened() {
			r.event(ctx, room.To(m.ID), o.ID, frame.VoiceDeafened)
		}
		if s.Speaking() {
			r.event(ctx, room.To(m.ID), o.ID, frame.VoiceSpeaking)
		}
	}
}

// Left forgets the member; if it was speaking the others hear it go
// silent.
func (r *Room) Left(ctx *room.Context, m room.Member) {
	if s := r.streams[m.ID]; s != nil && s.Speaking() {
		r.event(ctx, room.All, m.ID, frame.VoiceSilent)
	}
	delete(r.streams, m.ID)
}

// Input drops room inputs: a voice room takes voice frames only.
func (r *Room) Input(ctx *room.Context, _ room.Input) { ctx.Dropped(1) }

// Media forwards one frame at once, or drops it and counts why.
func (r *Room) Media(ctx *room.Context, m room.Media) {
	s := r.streams[m.From.ID]
	if s == nil {
		return
	}
	r.counters.received.Add(1)
	now := ctx.Now()
	v := s.Accept(now, m.Seq, m.Timestamp, len(m.Payload))
	if v != Forward {
		r.counters.drop(v)
		if v == DropRate && s.Warn(now) {
			r.warn = frame.Error{Code: netcode.CodeVoiceRateLimited,
				Message: fmt.Sprintf("voice frames above %d bit/s or %d frames/s are dropped", r.cfg.BitrateBps, r.cfg.MaxFramesPerSecond)}
			r.emit(ctx, room.To(m.From.ID), netcode.Reliable, &r.warn)
		}
		return
	}
	if s.Voiced(now, len(m.Payload)) {
		r.counters.speaking.Add(1)
		r.event(ctx, room.All, m.From.ID, frame.VoiceSpeaking)
	}
	r.to = r.to[:0]
	for _, o := range ctx.Members() {
		if os := r.streams[o.ID]; o.ID != m.From.ID && os != nil && !os.Deafened() {
			r.to = append(r.to, o.ID)
		}
	}
	if len(r.to) == 0 {
		r.counters.noListener.Add(1)
		return
	}
	r.fwd = frame.VoiceFrame{RoomID: ctx.RoomID(), Member: m.From.ID, Seq: m.Seq, Timestamp: m.Timestamp, Payload: m.Payload}
	to := room.ToSome(r.to)
	if len(r.to) == len(ctx.Members())-1 {
		to = room.AllExcept(m.From.ID) // the common case: no list to match
	}
	r.emit(ctx, to, netcode.Unreliable, &r.fwd)
	r.fwd.Payload = nil
	r.counters.forwarded.Add(1)
	r.counters.deliveries.Add(uint64(len(r.to)))
}

// SetMediaState applies a member's mute and deafen request and tells
// every member what changed.
func (r *Room) SetMediaState(ctx *room.Context, from room.Member, st room.MediaState) error {
	s := r.streams[from.ID]
	if s == nil {
		return room.ErrNotMember
	}
	if !s.MaySet(ctx.Now()) {
		r.counters.setLimited.Add(1)
		return &netcode.CodedError{Code: netcode.CodeVoiceRateLimited,
			Msg: fmt.Sprintf("more than %d mute/deafen changes in a burst (one more per second)", r.cfg.StateChanges)}
	}
	if changed, stopped := s.SetMuted(st.Muted); changed {
		if stopped {
			r.event(ctx, room.All, from.ID, frame.VoiceSilent)
		}
		r.event(ctx, room.All, from.ID, pick(st.Muted, frame.VoiceMuted, frame.VoiceUnmuted))
	}
	if s.SetDeafened(st.Deafened) {
		r.event(ctx, room.All, from.ID, pick(st.Deafened, frame.VoiceDeafened, frame.VoiceUndeafened))
	}
	return nil
}

// Tick reports members whose speech stopped.
func (r *Room) Tick(ctx *room.Context) {
	now := ctx.Now()
	for _, m := range ctx.Members() {
		if s := r.streams[m.ID]; s != nil && s.Silent(now) {
			r.event(ctx, room.All, m.ID, frame.VoiceSilent)
		}
	}
}

func (r *Room) event(ctx *room.Context, to room.Target, member uint32, ev frame.VoiceEventType) {
	r.ev = frame.VoiceEvent{RoomID: ctx.RoomID(), Member: member, Event: ev}
	r.emit(ctx, to, netcode.Reliable, &r.ev)
}

func (r *Room) emit(ctx *room.Context, to room.Target, ch netcode.Channel, f frame.Frame) {
	if err := ctx.Emit(to, ch, f); err != nil {
		// Every field is bounded, so this is a bug: end the room visibly.
		ctx.Close(netcode.CodeInternal, "voice: "+err.Error())
	}
}

func pick[T any](c bool, yes, no T) T {
	if c {
		return yes
	}
	return no
}
