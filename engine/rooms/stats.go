package rooms

import (
	"sync/atomic"
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
	tickTime    histogram     // handler Tick duration, delivery included
	lateness    histogram     // tick start minus its deadline
}

// TypeStats is a snapshot of one room type's counters.
type TypeStats struct {
	Rooms       int64   // open rooms now
	Created     uint64  // rooms created
	Closed      uint64  // rooms closed, for any reason
	Crashed     uint64  // rooms closed because a handler panicked
	Expired     uint64  // rooms closed after their empty timeout
	Ticks       uint64  // ticks run
	Skipped     uint64  // tick deadlines skipped (a late tick is not replayed)
	Inputs      uint64  // inputs handed to rooms
	Sends       uint64  // frames queued to member sessions
	SendDropped uint64  // frames refused by a member session (slow or closed)
	TickTime    Summary // tick duration: handler plus delivery to members
	Lateness    Summary // how late ticks started against their deadline
}

// Drops counts inputs dropped before they reached a room, by reason.
type Drops struct {
	InboxFull   uint64 // the room's inbox held InboxSize inputs (drop newest)
	RateLimited uint64 // the session exceeded MaxInputsPerSecond
	TooLarge    uint64 // the input exceeded MaxInputSize
	NotMember   uint64 // the session was not in the room
}

// Stats is a snapshot of a Hub.
type Stats struct {
	Rooms    int                  // open rooms
	Sessions int                  // sessions known to the hub
	Types    map[string]TypeStats // per room type
	Drops    Drops
}

type dropCounters struct {
	inboxFull   atomic.Uint64
	rateLimited atomic.Uint64
	tooLarge    atomic.Uint64
	notMember   atomic.Uint64
}

func (s *typeStats) snapshot() TypeStats {
	return TypeStats{
		Rooms: s.rooms.Load(), Created: s.created.Load(), Closed: s.closed.Load(),
		Crashed: s.crashed.Load(), Expired: s.expired.Load(), Ticks: s.ticks.Load(),
		Skipped: s.skipped.Load(), Inputs: s.inputs.Load(), Sends: s.sends.Load(),
		SendDropped: s.sendDropped.Load(), TickTime: s.tickTime.summary(), Lateness: s.lateness.summary(),
	}
}
