package frame

import (
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Cluster kinds: a join answered by another node (docs/CLUSTER.md,
// "Redirects and tickets").
const (
	KindRoomRedirect   Kind = 28 // [28, ref, room_id, node_id, url, ticket, ttl_ms]
	KindRoomJoinTicket Kind = 29 // [29, ref, room_id, ticket]
)

// Redirect limits enforced by the decoders.
const (
	MaxTicketLen  = 512 // RoomRedirect and RoomJoinTicket ticket
	MaxNodeURLLen = 512 // RoomRedirect url
)

// RoomRedirect answers a RoomJoin or RoomJoinOrCreate whose room lives on
// another node: [28, ref, room_id, node_id, url, ticket, ttl_ms]. The
// client connects to the node whose HTTP API is at URL (with the same
// token), and sends RoomJoinTicket with room_id and the opaque ticket
// within ttl_ms. NodeID names the node (for logs).
type RoomRedirect struct {
	Ref    uint32
	RoomID uint64
	NodeID string
	URL    string
	Ticket []byte
	TTLMs  uint32
}

func (*RoomRedirect) Kind() Kind          { return KindRoomRedirect }
func (m *RoomRedirect) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomRedirect) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomRedirect, 6)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.String(m.NodeID)
	w.String(m.URL)
	w.Bytes(m.Ticket)
	w.Uint(uint64(m.TTLMs))
	return w.Err()
}

func (m *RoomRedirect) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomRedirect, 6)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.NodeID = f.String("node_id", MaxIDLen)
	m.URL = f.String("url", MaxNodeURLLen)
	m.Ticket = f.Bytes("ticket", m.Ticket, MaxTicketLen)
	m.TTLMs = uint32(f.Uint("ttl_ms", math.MaxUint32))
	return f.End()
}

// RoomJoinTicket joins a room on the node a RoomRedirect named:
// [29, ref, room_id, ticket]. Answered with RoomJoined or Error
// (CodeBadTicket, CodeTicketExpired, CodeTicketReused, or the join's own
// refusals: CodeRoomFull, CodeRoomNotFound...).
type RoomJoinTicket struct {
	Ref    uint32
	RoomID uint64
	Ticket []byte
}

func (*RoomJoinTicket) Kind() Kind          { return KindRoomJoinTicket }
func (m *RoomJoinTicket) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomJoinTicket) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomJoinTicket, 3)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Bytes(m.Ticket)
	return w.Err()
}

func (m *RoomJoinTicket) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomJoinTicket, 3)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Ticket = f.Bytes("ticket", m.Ticket, MaxTicketLen)
	return f.End()
}
