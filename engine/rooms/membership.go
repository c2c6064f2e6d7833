package rooms

// InRoom reports whether session sessionID holds a seat in room roomID:
// it has joined the room, or its join is queued to the room's worker. The
// social service's signaling relay asks it (engine/social.Rooms), so that
// a signal reaches only a session that shares a room with its sender.
// Safe from any goroutine; it takes only the session's own lock.
func (h *Hub) InRoom(sessionID, roomID uint64) bool {
	v, ok := h.sessions.Load(sessionID)
	if !ok || roomID == 0 {
		return false
	}
	return v.(*session).inRoom(roomID)
}
