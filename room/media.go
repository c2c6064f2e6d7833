package room

import (
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// Media is one media frame from a member: one encoded audio packet (one
// raw Opus packet for the voice room) with the sender's sequence number
// and its timestamp in 48 kHz units, as RTP carries them. Payload is
// valid only during the MediaHandler.Media call: copy what you keep.
type Media struct {
	From      Member
	Seq       uint32
	Timestamp uint32
	Payload   []byte
}

// MediaState is what a member asks of its own audio: Muted (forward none
// of my frames) and Deafened (send me no frames).
type MediaState struct {
	Muted    bool
	Deafened bool
}

// MediaHandler is implemented by a room type that takes media frames
// (VoiceSend, VoiceSet), such as the built-in voice room. The driver
// hands each media frame to Media as soon as it arrives — not at the
// next tick — and delivers what the handler emits at once. What a media
// frame came from (a native client's session, later an RTP track) is the
// driver's business: the handler sees members only.
type MediaHandler interface {
	Handler
	// Media is called for each media frame, in arrival order.
	Media(ctx *Context, m Media)
	// SetMediaState applies a member's mute and deafen request. An error
	// (a *netcode.CodedError) refuses it.
	SetMediaState(ctx *Context, from Member, st MediaState) error
}

// ErrNotMedia refuses a media frame to a room whose type takes none.
var ErrNotMedia = &netcode.CodedError{Code: netcode.CodeNotVoiceRoom, Msg: "not a voice room"}

// TakesMedia reports whether the room's handler is a MediaHandler.
func (r *Room) TakesMedia() bool {
	_, ok := r.h.(MediaHandler)
	return ok
}

// Media hands one media frame from member id to the handler.
func (r *Room) Media(now time.Time, id, seq, timestamp uint32, payload []byte) error {
	mh, i, err := r.media(id)
	if err != nil {
		return err
	}
	r.now = now
	m := Media{From: r.members[i], Seq: seq, Timestamp: timestamp, Payload: payload}
	return r.call("Media", func() { mh.Media(&r.ctx, m) })
}

// SetMediaState hands member id's mute and deafen request to the
// handler and returns its answer.
func (r *Room) SetMediaState(now time.Time, id uint32, st MediaState) error {
	mh, i, err := r.media(id)
	if err != nil {
		return err
	}
	r.now = now
	from := r.members[i]
	var refused error
	if err := r.call("SetMediaState", func() { refused = mh.SetMediaState(&r.ctx, from, st) }); err != nil {
		return err
	}
	return refused
}

func (r *Room) media(id uint32) (MediaHandler, int, error) {
	if err := r.usable(); err != nil {
		return nil, -1, err
	}
	mh, ok := r.h.(MediaHandler)
	if !ok {
		return nil, -1, ErrNotMedia
	}
	i := r.index(id)
	if i < 0 {
		return nil, -1, ErrNotMember
	}
	return mh, i, nil
}
