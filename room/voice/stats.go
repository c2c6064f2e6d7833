package voice

import "sync/atomic"

// Counters are the counters of every voice room of a server, shared by
// the rooms (each worker adds to them); all fields are atomics. The room
// driver adds the refusals it makes before a frame reaches a room.
type Counters struct {
	received   atomic.Uint64
	forwarded  atomic.Uint64
	deliveries atomic.Uint64
	speaking   atomic.Uint64
	muted      atomic.Uint64
	stale      atomic.Uint64
	duplicate  atomic.Uint64
	rate       atomic.Uint64
	noListener atomic.Uint64
	setLimited atomic.Uint64

	// Refusals by the driver, before a room sees the frame.
	TooLarge     atomic.Uint64
	NotVoiceRoom atomic.Uint64
	NotMember    atomic.Uint64
	InboxFull    atomic.Uint64
}

// Stats is a snapshot of Counters, served under "voice" in the rooms
// service's stats (GET /v1/stats).
type Stats struct {
	Received   uint64 `json:"received"`   // frames handed to voice rooms
	Forwarded  uint64 `json:"forwarded"`  // frames forwarded to at least one member
	Deliveries uint64 `json:"deliveries"` // copies queued to members (forwarded × listeners)
	Speaking   uint64 `json:"speaking"`   // speaking-start events
	Drops      Drops  `json:"drops"`
	// SetRateLimited counts VoiceSet requests refused past StateChanges
	// (CodeVoiceRateLimited).
	SetRateLimited uint64 `json:"set_rate_limited"`
}

// Drops counts voice frames dropped, by reason.
type Drops struct {
	Muted       uint64 `json:"muted"`        // the sender is muted
	Stale       uint64 `json:"stale"`        // behind the sequence window or MaxLag
	Duplicate   uint64 `json:"duplicate"`    // a sequence number already forwarded
	RateLimited uint64 `json:"rate_limited"` // over BitrateBps or MaxFramesPerSecond
	NoListener  uint64 `json:"no_listener"`  // nobody to send it to (alone, or everyone else deafened)
	// Refused before reaching a room, each answered with its code.
	TooLarge     uint64 `json:"too_large"`      // above MaxFrameBytes (CodeVoiceFrameTooLarge)
	NotVoiceRoom uint64 `json:"not_voice_room"` // to a room that is not a voice room (CodeNotVoiceRoom)
	NotMember    uint64 `json:"not_member"`     // to a room the session is not in (CodeNotInRoom)
	InboxFull    uint64 `json:"inbox_full"`     // the room's inbox was full (CodeInputRateLimited)
}

// Snapshot reads the counters.
func (c *Counters) Snapshot() Stats {
	return Stats{
		Received: c.received.Load(), Forwarded: c.forwarded.Load(), Deliveries: c.deliveries.Load(),
		Speaking: c.speaking.Load(), SetRateLimited: c.setLimited.Load(),
		Drops: Drops{
			Muted: c.muted.Load(), Stale: c.stale.Load(), Duplicate: c.duplicate.Load(),
			RateLimited: c.rate.Load(), NoListener: c.noListener.Load(),
			TooLarge: c.TooLarge.Load(), NotVoiceRoom: c.NotVoiceRoom.Load(),
			NotMember: c.NotMember.Load(), InboxFull: c.InboxFull.Load(),
		},
	}
}

func (c *Counters) drop(v Verdict) {
	switch v {
	case DropMuted:
		c.muted.Add(1)
	case DropStale:
		c.stale.Add(1)
	case DropDup:
		c.duplicate.Add(1)
	case DropRate:
		c.rate.Add(1)
	}
}
