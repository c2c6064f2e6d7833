package rooms

import (
	"cmp"
	"slices"
)

// RoomStatus is one open room as an operator sees it (the admin API):
// private rooms included, unlike ListRooms.
type RoomStatus struct {
	ID       uint64 `json:"id"`
	Type     string `json:"type"`
	Label    string `json:"label"`
	Private  bool   `json:"private"`
	Members  int    `json:"members"` // members plus joins on their way in
	Capacity int    `json:"capacity"`
	TickRate int    `json:"tick_rate"`
	Closing  bool   `json:"closing,omitempty"`
	// Creator is the user a client-created room counts against; empty
	// for rooms created through the Go API.
	Creator string `json:"creator,omitempty"`
}

// Rooms lists every open room, oldest first, for operators. The tick
// statistics are per room type, in Stats.
func (h *Hub) Rooms() []RoomStatus {
	h.mu.Lock()
	found := make([]*entry, 0, len(h.rooms))
	for _, e := range h.rooms {
		found = append(found, e)
	}
	slices.SortFunc(found, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]RoomStatus, len(found))
	for i, e := range found {
		out[i] = RoomStatus{ID: e.id, Type: e.key.typ, Label: e.key.label, Private: e.priv,
			Members: e.seats, Capacity: e.cap, TickRate: e.rate, Closing: e.closed, Creator: e.creator}
	}
	h.mu.Unlock()
	return out
}

// OpenRooms is the number of rooms not yet removed (a drain waits for
// it to reach zero).
func (h *Hub) OpenRooms() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms)
}

// SessionRooms lists the rooms a session is in (or joining), ascending.
func (h *Hub) SessionRooms(sessionID uint64) []uint64 {
	v, ok := h.sessions.Load(sessionID)
	if !ok {
		return nil
	}
	s := v.(*session)
	s.mu.Lock()
	out := make([]uint64, 0, len(s.rooms))
	for id := range s.rooms {
		out = append(out, id)
	}
	s.mu.Unlock()
	slices.Sort(out)
	return out
}

// Drain implements service.Drainer: from now on every room creation is
// refused with ErrDraining (counted in Refusals.Draining); open rooms run
// on, and joins to them are still served.
func (h *Hub) Drain() { h.draining.Store(true) }
