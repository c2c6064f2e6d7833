package rooms

import (
	"sync/atomic"

	"github.com/tickwire/tickwire/room/voice"
)

// typeStats are the counters of one room type, shared by every worker;
// all fields are atomics.
type typeStats struct {
	rooms       atomic.Int64  // open rooms
	created     atomic.Uint64 // rooms created
	closed      atomic.Uint64 // rooms closed (any reason)
	crashed     atomic.Uint64 // rooms closed by a handler panic
	expired     atomic.Uint64 // rooms closed by the empty timeout
	ticks       atomic.Uint64 // ticks run
	skipped     atomic.Uint64 // deadlines skipped because a tick ran late
	inputs      atomic.Uint64 // inputs handed to rooms
	sends       atomic.Uint64 // frames queued to sessions
	sendDropped atomic.Uint64 // frames a session refused (its queue was full or it closed)
	handlerDrop atomic.Uint64 // inputs or messages the handler dropped (room.Context.Dropped)
	tickTime    histogram     // handler Tick duration, delivery included
	lateness    histogram     // tick start minus its deadline
}

// TypeStats is a snapshot of one room type's counters.
type TypeStats struct {
	Rooms       int64  `json:"rooms"`        // open rooms now
	Created     uint64 `json:"created"`      // rooms created
	Closed      uint64 `json:"closed"`       // rooms closed, for any reason
	Crashed     uint64 `json:"crashed"`      // rooms closed because a handler panicked
	Expired     uint64 `json:"expired"`      // rooms closed after their empty timeout
	Ticks       uint64 `json:"ticks"`        // ticks run
	Skipped     uint64 `json:"skipped"`      // tick deadlines skipped (a late tick is not replayed)
	Inputs      uint64 `json:"inputs"`       // inputs handed to rooms
	Sends       uint64 `json:"sends"`        // frames queued to member sessions
	SendDropped uint64 `json:"send_dropped"` // frames refused by a member session (slow or closed)
	// HandlerDropped counts what room handlers dropped by their own
	// bounds (room.Context.Dropped), e.g. relay inputs past one tick's
	// MaxRelayTickBytes.
	HandlerDropped uint64  `json:"handler_dropped"`
	TickTime       Summary `json:"tick_time"` // tick duration: handler plus delivery to members
	Lateness       Summary `json:"lateness"`  // how late ticks started against their deadline
}

// Drops counts inputs dropped before they reached a room, by reason.
type Drops struct {
	InboxFull   uint64 `json:"inbox_full"`   // the room's inbox held InboxSize inputs (drop newest)
	RateLimited uint64 `json:"rate_limited"` // the session exceeded MaxInputsPerSecond
	TooLarge    uint64 `json:"too_large"`    // the input exceeded MaxInputSize
	NotMember   uint64 `json:"not_member"`   // the session was not in the room
	// Unanswered counts refused inputs (any reason above) that got no
	// Error frame back because the session already had
	// MaxInputErrorsPerSecond of them: a counter, not a drop reason.
	Unanswered uint64 `json:"unanswered"`
}

// Stats is a snapshot of a Hub. It is served as JSON under
// "services"."rooms" by the engine's GET /v1/stats (Hub.ServiceStats);
// durations are in nanoseconds there.
type Stats struct {
	Rooms    int                  `json:"rooms"`    // open rooms
	Sessions int                  `json:"sessions"` // sessions known to the hub
	Types    map[string]TypeStats `json:"types"`    // per room type
	Drops    Drops                `json:"drops"`
	// ClientRooms is the open rooms that clients created (the rooms
	// Config.MaxRooms bounds).
	ClientRooms int      `json:"client_rooms"`
	Refused     Refusals `json:"refused"`
	// Voice counts the voice frames of every voice room: forwarded, and
	// dropped by reason (docs/VOICE.md).
	Voice voice.Stats `json:"voice"`
	// Audio counts browser audio links (docs/VOICE.md, "Browsers and the SFU").
	Audio AudioStats `json:"audio"`
}

// Refusals counts refused or adjusted client room requests, by reason.
type Refusals struct {
	// UserLimit: the user had MaxRoomsCreatedPerUser rooms open
	// (CodeRoomCreateLimit).
	UserLimit uint64 `json:"user_limit"`
	// ServerLimit: MaxRooms client-created rooms were open
	// (CodeRoomCreateLimit).
	ServerLimit uint64 `json:"server_limit"`
	// BadLabel: the label failed frame.CleanText (CodeBadText).
	BadLabel uint64 `json:"bad_label"`
	// TickRateCapped and EmptyTTLCapped count rooms created with a lower
	// tick rate (MaxClientTickRate) or a shorter empty timeout
	// (EmptyRoomTTL) than the client asked for: adjusted, not refused.
	TickRateCapped uint64 `json:"tick_rate_capped"`
	EmptyTTLCapped uint64 `json:"empty_ttl_capped"`
	// Draining: a room creation while the server drains (CodeDraining).
	Draining uint64 `json:"draining"`
	// BadTicket: a RoomJoinTicket refused (CodeBadTicket,
	// CodeTicketExpired, CodeTicketReused; the cluster's stats say
	// which).
	BadTicket uint64 `json:"bad_ticket"`
}

type refusalCounters struct {
	userLimit      atomic.Uint64
	serverLimit    atomic.Uint64
	badLabel       atomic.Uint64
	tickRateCapped atomic.Uint64
	emptyTTLCapped atomic.Uint64
	draining       atomic.Uint64
	badTicket      atomic.Uint64
}

func (c *refusalCounters) snapshot() Refusals {
	return Refusals{
		UserLimit: c.userLimit.Load(), ServerLimit: c.serverLimit.Load(), BadLabel: c.badLabel.Load(),
		TickRateCapped: c.tickRateCapped.Load(), EmptyTTLCapped: c.emptyTTLCapped.Load(),
		Draining: c.draining.Load(), BadTicket: c.badTicket.Load(),
	}
}

type dropCounters struct {
	inboxFull   atomic.Uint64
	rateLimited atomic.Uint64
	tooLarge    atomic.Uint64
	notMember   atomic.Uint64
	unanswered  atomic.Uint64
}

func (s *typeStats) snapshot() TypeStats {
	return TypeStats{
		Rooms: s.rooms.Load(), Created: s.created.Load(), Closed: s.closed.Load(),
		Crashed: s.crashed.Load(), Expired: s.expired.Load(), Ticks: s.ticks.Load(),
		Skipped: s.skipped.Load(), Inputs: s.inputs.Load(), Sends: s.sends.Load(),
		SendDropped: s.sendDropped.Load(), HandlerDropped: s.handlerDrop.Load(), TickTime: s.tickTime.summary(), Lateness: s.lateness.summary(),
	}
}
