package rooms

import (
	"github.com/tickwire/tickwire/netcode/frame"
)

// Directory is the cluster's room directory as the hub needs it
// (engine/cluster.Directory implements it; nil in Config means a single
// node). The hub tells it the state of every room it owns and asks it
// about the rooms it does not have. Every method is answered from memory
// and never blocks on the network: it is called on sessions' readers,
// some with Hub.mu held (the directory's own lock comes after it).
type Directory interface {
	// Publish announces a room this node owns, opened or changed (its
	// members count); Unpublish that it closed.
	Publish(id uint64, info frame.RoomInfo, private bool, creator string)
	Unpublish(id uint64)
	// RedirectByID answers a join of a room not open here: a redirect
	// to the node that owns it (its ticket bound to user), or an error
	// carrying CodeRoomNotFound (no live node has it) or
	// CodeClusterUnavailable.
	RedirectByID(user string, id uint64) (*frame.RoomRedirect, error)
	// RedirectMatch answers a join-or-create that found no seat here: a
	// redirect to the emptiest public room of typ and label with a free
	// seat on another node (skip excludes rooms), or nil when there is
	// none anywhere.
	RedirectMatch(user, typ, label string, skip func(id uint64) bool) (*frame.RoomRedirect, error)
	// ListRooms lists the public rooms (full ones too) of typ and label
	// ("" matches any) on the other live nodes, at most limit (≥ 1), in
	// room id order: RoomList appends them to this node's rooms.
	ListRooms(typ, label string, limit int) []frame.RoomInfo
	// CreatedElsewhere counts the open rooms creator created on the
	// other nodes: MaxRoomsCreatedPerUser bounds the sum over the
	// cluster.
	CreatedElsewhere(creator string) int
	// Known reports whether another node has a room with this id.
	Known(id uint64) bool
	// Redeem checks a redirect ticket user presents to join room id
	// here, once (CodeBadTicket, CodeTicketExpired, CodeTicketReused).
	Redeem(user string, id uint64, ticket []byte) error
}

// publishLocked tells the directory a room's state. Called with h.mu
// held, after every change of e.seats.
func (h *Hub) publishLocked(e *entry) {
	if h.cfg.Directory == nil || e.closed {
		return
	}
	h.cfg.Directory.Publish(e.id, frame.RoomInfo{RoomID: e.id, Type: e.key.typ, Label: e.key.label,
		Members: uint16(e.seats), Capacity: uint16(e.cap), TickRate: uint8(e.rate)}, e.priv, e.creator)
}

// redirect answers a request with a RoomRedirect.
func (s *session) redirect(r *frame.RoomRedirect, ref uint32) {
	r.Ref = ref
	s.reply(r)
}

// joinTicket joins a room this node owns with a ticket another node
// issued (a followed redirect). It never redirects again.
func (h *Hub) joinTicket(s *session, m *frame.RoomJoinTicket) error {
	if h.cfg.Directory == nil {
		h.refused.badTicket.Add(1)
		return ErrNotClustered
	}
	if err := h.cfg.Directory.Redeem(s.peer.UserID(), m.RoomID, m.Ticket); err != nil {
		h.refused.badTicket.Add(1)
		return err
	}
	return h.joinLocal(s, m.RoomID, m.Ref)
}
