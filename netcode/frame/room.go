package frame

import (
	"math"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/netcode"
)

// Room kinds (16–63). Every room frame has the request ref as field 1:
// requests carry a client-chosen non-zero ref (RoomInput may carry 0),
// replies echo it, and server pushes (RoomEvent, RoomClosed, RoomTick,
// RoomData) carry 0. docs/PROTOCOL.md (section 4) documents each layout.
const (
	KindRoomCreate       Kind = 16 // [16, ref, type, label, capacity, tick_rate, private, empty_timeout_ms, params]
	KindRoomJoin         Kind = 17 // [17, ref, room_id]
	KindRoomJoinOrCreate Kind = 18 // [18, ref, type, label, capacity, tick_rate, empty_timeout_ms, params]
	KindRoomJoined       Kind = 19 // [19, ref, room_id, type, label, tick_rate, tick, server_time_us, capacity, you, members]
	KindRoomLeave        Kind = 20 // [20, ref, room_id]
	KindRoomEvent        Kind = 21 // [21, 0, room_id, event, member, user_id, display_name]
	KindRoomClosed       Kind = 22 // [22, 0, room_id, code, message]
	KindRoomInput        Kind = 23 // [23, ref, room_id, seq, data]
	KindRoomTick         Kind = 24 // [24, 0, room_id, tick, server_time_us, inputs]
	KindRoomData         Kind = 25 // [25, 0, room_id, tick, server_time_us, data]
	KindRoomList         Kind = 26 // [26, ref, type, label, limit]
	KindRoomListResult   Kind = 27 // [27, ref, rooms]
)

// Room size limits enforced by the decoders. Servers usually configure
// tighter limits of their own (engine/rooms.Config).
const (
	MaxRoomParams   = 4096                                // RoomCreate/RoomJoinOrCreate params
	MaxRoomInput    = 4096                                // RoomInput data
	MaxRoomPayload  = netcode.DefaultMaxMessageSize - 128 // RoomData data
	MaxRoomMembers  = 1024                                // members listed in RoomJoined
	MaxTickInputs   = 8192                                // inputs in one RoomTick
	MaxRoomListed   = 256                                 // rooms in one RoomListResult
	MaxRoomTickRate = 128                                 // Hz
)

// RoomCreate asks the server to create a room and join it:
// [16, ref, type, label, capacity, tick_rate, private, empty_timeout_ms, params].
// Zero capacity, tick rate or timeout mean the server's defaults. Params
// are opaque bytes handed to the room type's factory. Answered with
// RoomJoined or Error.
type RoomCreate struct {
	Ref            uint32
	Type           string
	Label          string
	Capacity       uint16
	TickRate       uint8
	Private        bool
	EmptyTimeoutMs uint32
	Params         []byte
}

func (*RoomCreate) Kind() Kind          { return KindRoomCreate }
func (m *RoomCreate) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomCreate) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomCreate, 8)
	w.Uint(uint64(m.Ref))
	w.String(m.Type)
	w.String(m.Label)
	w.Uint(uint64(m.Capacity))
	w.Uint(uint64(m.TickRate))
	w.Bool(m.Private)
	w.Uint(uint64(m.EmptyTimeoutMs))
	w.Bytes(m.Params)
	return w.Err()
}

func (m *RoomCreate) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomCreate, 2)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.Type = f.String("type", MaxNameLen)
	m.Label = f.String("label", MaxNameLen)
	m.Capacity = uint16(f.Uint("capacity", math.MaxUint16))
	m.TickRate = uint8(f.Uint("tick_rate", MaxRoomTickRate))
	m.Private = f.Bool("private")
	m.EmptyTimeoutMs = uint32(f.Uint("empty_timeout_ms", math.MaxUint32))
	m.Params = f.Bytes("params", m.Params, MaxRoomParams)
	return f.End()
}

// RoomJoin joins an open room by id: [17, ref, room_id]. Answered with
// RoomJoined or Error (CodeRoomNotFound, CodeRoomFull, ...).
type RoomJoin struct {
	Ref    uint32
	RoomID uint64
}

func (*RoomJoin) Kind() Kind          { return KindRoomJoin }
func (m *RoomJoin) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomJoin) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomJoin, 2)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	return w.Err()
}

func (m *RoomJoin) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomJoin, 2)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	return f.End()
}

// RoomJoinOrCreate is matchmaking: join the emptiest open, public room of
// this type and label that has a free seat, else create one with the
// given settings: [18, ref, type, label, capacity, tick_rate,
// empty_timeout_ms, params]. Answered with RoomJoined or Error.
type RoomJoinOrCreate struct {
	Ref            uint32
	Type           string
	Label          string
	Capacity       uint16
	TickRate       uint8
	EmptyTimeoutMs uint32
	Params         []byte
}

func (*RoomJoinOrCreate) Kind() Kind          { return KindRoomJoinOrCreate }
func (m *RoomJoinOrCreate) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomJoinOrCreate) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomJoinOrCreate, 7)
	w.Uint(uint64(m.Ref))
	w.String(m.Type)
	w.String(m.Label)
	w.Uint(uint64(m.Capacity))
	w.Uint(uint64(m.TickRate))
	w.Uint(uint64(m.EmptyTimeoutMs))
	w.Bytes(m.Params)
	return w.Err()
}

func (m *RoomJoinOrCreate) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomJoinOrCreate, 2)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.Type = f.String("type", MaxNameLen)
	m.Label = f.String("label", MaxNameLen)
	m.Capacity = uint16(f.Uint("capacity", math.MaxUint16))
	m.TickRate = uint8(f.Uint("tick_rate", MaxRoomTickRate))
	m.EmptyTimeoutMs = uint32(f.Uint("empty_timeout_ms", math.MaxUint32))
	m.Params = f.Bytes("params", m.Params, MaxRoomParams)
	return f.End()
}

// RoomMember is one member as listed in RoomJoined: [member, user_id,
// display_name]. Member is a small number unique within the room for its
// life; tick broadcasts and events name members by it.
type RoomMember struct {
	Member      uint32
	UserID      string
	DisplayName string
}

// RoomJoined answers a create, join or join-or-create:
// [19, ref, room_id, type, label, tick_rate, tick, server_time_us,
// capacity, you, members]. Tick is the room's current tick number; You is
// the joiner's own member number; Members lists everyone, the joiner
// included, each as [member, user_id, display_name].
type RoomJoined struct {
	Ref          uint32
	RoomID       uint64
	Type         string
	Label        string
	TickRate     uint8
	Tick         uint64
	ServerTimeUs int64
	Capacity     uint16
	You          uint32
	Members      []RoomMember
}

func (*RoomJoined) Kind() Kind          { return KindRoomJoined }
func (m *RoomJoined) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomJoined) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomJoined, 10)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.String(m.Type)
	w.String(m.Label)
	w.Uint(uint64(m.TickRate))
	w.Uint(m.Tick)
	w.Int(m.ServerTimeUs)
	w.Uint(uint64(m.Capacity))
	w.Uint(uint64(m.You))
	w.ArrayLen(len(m.Members))
	for i := range m.Members {
		mb := &m.Members[i]
		w.ArrayLen(3)
		w.Uint(uint64(mb.Member))
		w.String(mb.UserID)
		w.String(mb.DisplayName)
	}
	return w.Err()
}

func (m *RoomJoined) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomJoined, 2)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Type = f.String("type", MaxNameLen)
	m.Label = f.String("label", MaxNameLen)
	m.TickRate = uint8(f.Uint("tick_rate", MaxRoomTickRate))
	m.Tick = f.Uint("tick", math.MaxUint64)
	m.ServerTimeUs = f.Int("server_time_us")
	m.Capacity = uint16(f.Uint("capacity", math.MaxUint16))
	m.You = uint32(f.Uint("you", math.MaxUint32))
	n := f.ArrayLen("members", MaxRoomMembers)
	m.Members = m.Members[:0]
	for i := 0; i < n && f.Err() == nil; i++ {
		var mb RoomMember
		f.Fail(decodeRoomMember(f.Decoder(), &mb))
		m.Members = append(m.Members, mb)
	}
	return f.End()
}

// readEntry reads the header of a nested array (a list entry) of at
// least min fields.
func readEntry(dec *msgpack.Decoder, what string, min int) (int, error) {
	n, err := ReadArrayLen(dec, what, MaxFields)
	if err == nil && n < min {
		err = malformed("%s: %d fields, want at least %d", what, n, min)
	}
	return n, err
}

// readUint32 reads an unsigned integer that must fit in 32 bits.
func readUint32(dec *msgpack.Decoder, what string) (uint32, error) {
	v, err := ReadUint(dec, what)
	if err == nil && v > math.MaxUint32 {
		err = malformed("%s: %d out of range", what, v)
	}
	return uint32(v), err
}

func decodeRoomMember(dec *msgpack.Decoder, mb *RoomMember) error {
	n, err := readEntry(dec, "member", 1)
	if err != nil {
		return err
	}
	if mb.Member, err = readUint32(dec, "member"); err != nil {
		return err
	}
	read := 1
	if read < n {
		if mb.UserID, err = ReadString(dec, "user_id", MaxIDLen); err != nil {
			return err
		}
		read++
	}
	if read < n {
		if mb.DisplayName, err = ReadString(dec, "display_name", MaxNameLen); err != nil {
			return err
		}
		read++
	}
	return SkipExtra(dec, n, read)
}

// RoomLeave leaves a room: [20, ref, room_id]. Answered with OK or Error.
type RoomLeave struct {
	Ref    uint32
	RoomID uint64
}

func (*RoomLeave) Kind() Kind          { return KindRoomLeave }
func (m *RoomLeave) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomLeave) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomLeave, 2)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	return w.Err()
}

func (m *RoomLeave) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomLeave, 2)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	return f.End()
}

// RoomEvent tells members that someone joined or left:
// [21, 0, room_id, event, member, user_id, display_name], event being
// RoomEventJoined (1) or RoomEventLeft (2).
type RoomEvent struct {
	Ref         uint32 // always 0: a push
	RoomID      uint64
	Event       RoomEventType
	Member      uint32
	UserID      string
	DisplayName string
}

func (*RoomEvent) Kind() Kind { return KindRoomEvent }

func (m *RoomEvent) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomEvent, 6)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Uint(uint64(m.Event))
	w.Uint(uint64(m.Member))
	w.String(m.UserID)
	w.String(m.DisplayName)
	return w.Err()
}

func (m *RoomEvent) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomEvent, 4)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Event = RoomEventType(f.uintEnum("event", &roomEventNames))
	m.Member = uint32(f.Uint("member", math.MaxUint32))
	m.UserID = f.String("user_id", MaxIDLen)
	m.DisplayName = f.String("display_name", MaxNameLen)
	return f.End()
}

// RoomClosed tells members the room is gone: [22, 0, room_id, code,
// message]. Code is CodeRoomClosed for a normal close, CodeRoomCrashed
// when the room's handler failed, CodeServerShutdown on shutdown.
type RoomClosed struct {
	Ref     uint32 // always 0: a push
	RoomID  uint64
	Code    netcode.Code
	Message string
}

func (*RoomClosed) Kind() Kind { return KindRoomClosed }

func (m *RoomClosed) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomClosed, 4)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Uint(uint64(m.Code))
	w.String(m.Message)
	return w.Err()
}

func (m *RoomClosed) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomClosed, 3)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Code = netcode.Code(f.Uint("code", math.MaxUint16))
	m.Message = f.String("message", MaxMessageLen)
	return f.End()
}

// RoomInput sends input to a room: [23, ref, room_id, seq, data]. Seq is
// the sender's own sequence number, echoed in tick broadcasts. The channel
// the frame travels on is the channel the relay room broadcasts it on.
// Inputs get no reply; a refused input is answered with an Error carrying
// ref (send 0 if you do not track them).
type RoomInput struct {
	Ref    uint32
	RoomID uint64
	Seq    uint32
	Data   []byte // decoding reuses its backing array
}

func (*RoomInput) Kind() Kind          { return KindRoomInput }
func (m *RoomInput) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomInput) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomInput, 4)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Uint(uint64(m.Seq))
	w.Bytes(m.Data)
	return w.Err()
}

func (m *RoomInput) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomInput, 4)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Seq = uint32(f.Uint("seq", math.MaxUint32))
	m.Data = f.Bytes("data", m.Data, MaxRoomInput)
	return f.End()
}

// TickInput is one input inside a RoomTick: [member, seq, data].
type TickInput struct {
	Member uint32
	Seq    uint32
	Data   []byte
}

// RoomTick is the relay room's broadcast, one per tick and channel:
// [24, 0, room_id, tick, server_time_us, inputs], inputs being an array of
// [member, seq, data] in arrival order (per sender, in the sender's order).
// Reliable inputs travel in a reliable RoomTick, unreliable ones in an
// unreliable RoomTick of the same tick number.
type RoomTick struct {
	Ref          uint32 // always 0: a push
	RoomID       uint64
	Tick         uint64
	ServerTimeUs int64
	Inputs       []TickInput // decoding reuses the slice and each Data
}

func (*RoomTick) Kind() Kind { return KindRoomTick }

func (m *RoomTick) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomTick, 5)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Uint(m.Tick)
	w.Int(m.ServerTimeUs)
	w.ArrayLen(len(m.Inputs))
	for i := range m.Inputs {
		in := &m.Inputs[i]
		w.ArrayLen(3)
		w.Uint(uint64(in.Member))
		w.Uint(uint64(in.Seq))
		w.Bytes(in.Data)
	}
	return w.Err()
}

func (m *RoomTick) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomTick, 4)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Tick = f.Uint("tick", math.MaxUint64)
	m.ServerTimeUs = f.Int("server_time_us")
	n := f.ArrayLen("inputs", MaxTickInputs)
	if cap(m.Inputs) >= n {
		m.Inputs = m.Inputs[:n]
	} else {
		m.Inputs = append(m.Inputs[:cap(m.Inputs)], make([]TickInput, n-cap(m.Inputs))...)
	}
	for i := 0; i < n; i++ {
		if f.Err() != nil {
			m.Inputs = m.Inputs[:i]
			break
		}
		f.Fail(decodeTickInput(f.Decoder(), &m.Inputs[i]))
	}
	return f.End()
}

func decodeTickInput(dec *msgpack.Decoder, in *TickInput) error {
	n, err := readEntry(dec, "input", 3)
	if err != nil {
		return err
	}
	if in.Member, err = readUint32(dec, "member"); err != nil {
		return err
	}
	if in.Seq, err = readUint32(dec, "seq"); err != nil {
		return err
	}
	if in.Data, err = ReadBytes(dec, "data", in.Data, MaxRoomInput); err != nil {
		return err
	}
	return SkipExtra(dec, n, 3)
}

// RoomData carries a message from a room type's own logic (a snapshot, a
// game event): [25, 0, room_id, tick, server_time_us, data]. Its content
// is defined by the room type.
type RoomData struct {
	Ref          uint32 // always 0: a push
	RoomID       uint64
	Tick         uint64
	ServerTimeUs int64
	Data         []byte // decoding reuses its backing array
}

func (*RoomData) Kind() Kind { return KindRoomData }

func (m *RoomData) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomData, 5)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Uint(m.Tick)
	w.Int(m.ServerTimeUs)
	w.Bytes(m.Data)
	return w.Err()
}

func (m *RoomData) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomData, 5)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Tick = f.Uint("tick", math.MaxUint64)
	m.ServerTimeUs = f.Int("server_time_us")
	m.Data = f.Bytes("data", m.Data, MaxRoomPayload)
	return f.End()
}

// RoomList asks for open public rooms: [26, ref, type, label, limit]. An
// empty type or label matches any; limit 0 means the server's maximum.
// Answered with RoomListResult.
type RoomList struct {
	Ref   uint32
	Type  string
	Label string
	Limit uint16
}

func (*RoomList) Kind() Kind          { return KindRoomList }
func (m *RoomList) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomList) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomList, 4)
	w.Uint(uint64(m.Ref))
	w.String(m.Type)
	w.String(m.Label)
	w.Uint(uint64(m.Limit))
	return w.Err()
}

func (m *RoomList) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomList, 1)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.Type = f.String("type", MaxNameLen)
	m.Label = f.String("label", MaxNameLen)
	m.Limit = uint16(f.Uint("limit", math.MaxUint16))
	return f.End()
}

// RoomInfo describes one room in a RoomListResult:
// [room_id, type, label, members, capacity, tick_rate].
type RoomInfo struct {
	RoomID   uint64
	Type     string
	Label    string
	Members  uint16
	Capacity uint16
	TickRate uint8
}

// RoomListResult answers RoomList: [27, ref, rooms], each room being
// [room_id, type, label, members, capacity, tick_rate].
type RoomListResult struct {
	Ref   uint32
	Rooms []RoomInfo
}

func (*RoomListResult) Kind() Kind          { return KindRoomListResult }
func (m *RoomListResult) SetRef(ref uint32) { m.Ref = ref }

func (m *RoomListResult) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomListResult, 2)
	w.Uint(uint64(m.Ref))
	w.ArrayLen(len(m.Rooms))
	for i := range m.Rooms {
		r := &m.Rooms[i]
		w.ArrayLen(6)
		w.Uint(r.RoomID)
		w.String(r.Type)
		w.String(r.Label)
		w.Uint(uint64(r.Members))
		w.Uint(uint64(r.Capacity))
		w.Uint(uint64(r.TickRate))
	}
	return w.Err()
}

func (m *RoomListResult) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindRoomListResult, 2)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	n := f.ArrayLen("rooms", MaxRoomListed)
	m.Rooms = m.Rooms[:0]
	for i := 0; i < n && f.Err() == nil; i++ {
		var r RoomInfo
		f.Fail(decodeRoomInfo(f.Decoder(), &r))
		m.Rooms = append(m.Rooms, r)
	}
	return f.End()
}

func decodeRoomInfo(dec *msgpack.Decoder, r *RoomInfo) error {
	n, err := readEntry(dec, "room", 6)
	if err != nil {
		return err
	}
	if r.RoomID, err = ReadUint(dec, "room_id"); err != nil {
		return err
	}
	if r.Type, err = ReadString(dec, "type", MaxNameLen); err != nil {
		return err
	}
	if r.Label, err = ReadString(dec, "label", MaxNameLen); err != nil {
		return err
	}
	var v [3]uint64
	for i, what := range [3]string{"members", "capacity", "tick_rate"} {
		if v[i], err = ReadUint(dec, what); err != nil {
			return err
		}
	}
	if v[0] > math.MaxUint16 || v[1] > math.MaxUint16 || v[2] > MaxRoomTickRate {
		return malformed("room: members, capacity or tick rate out of range")
	}
	r.Members, r.Capacity, r.TickRate = uint16(v[0]), uint16(v[1]), uint8(v[2])
	return SkipExtra(dec, n, 6)
}
