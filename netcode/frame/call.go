package frame

import (
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Signaling and call kinds (108–113, in the social range). Signal
// carries an opaque payload (an SDP offer or answer, an ICE candidate, or
// anything the application defines) to one session that shares a room,
// a friendship or a call with the sender; the server forwards the
// payload's bytes unmodified as SignalRecv, with the sender's user and
// session. Calls between friends ring every session of the callee; the
// first CallAccept wins. docs/PROTOCOL.md (section 5, "Signaling and
// calls") and docs/VOICE.md describe the rules.
const (
	KindSignal     Kind = 108 // [108, ref, to_user_id, to_session, room_id, call_id, payload]
	KindSignalRecv Kind = 109 // [109, 0, from_user_id, from_session, room_id, call_id, payload]
	KindCallInvite Kind = 110 // [110, ref, to_user_id]
	KindCallAccept Kind = 111 // [111, ref, call_id]
	KindCallEnd    Kind = 112 // [112, ref, call_id]
	KindCallUpdate Kind = 113 // [113, ref, call_id, state, reason, caller_id, caller_name, callee_id, caller_session, callee_session, by_user_id, time_us]
)

// MaxSignalPayload bounds a signaling payload in the decoder. The server
// configures a tighter limit of its own (engine/social.Config
// MaxSignalBytes), and the engine's frame size limit applies first.
const MaxSignalPayload = 64 << 10

// Signal sends payload to one session: [108, ref, to_user_id, to_session,
// room_id, call_id, payload].
//
//   - call_id != 0: to the other session of that call (the caller's
//     session or the accepting one); to_user_id and to_session are
//     ignored. Only the two call sessions of an active call may use it.
//   - else room_id != 0: to to_session (when non-zero) or to every
//     session of to_user_id that is in room room_id, which the sending
//     session must be in too.
//   - else: to to_session (when non-zero) or every session of
//     to_user_id, a friend of the sender.
//
// Ref 0 asks for no reply on success (a refusal is always answered, with
// the request's ref); otherwise answered with OK once forwarded.
type Signal struct {
	Ref       uint32
	ToUserID  string
	ToSession uint64
	RoomID    uint64
	CallID    uint64
	Payload   []byte
}

func (*Signal) Kind() Kind          { return KindSignal }
func (m *Signal) SetRef(ref uint32) { m.Ref = ref }
func (m *Signal) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindSignal, 6)
	w.Uint(uint64(m.Ref))
	w.String(m.ToUserID)
	w.Uint(m.ToSession)
	w.Uint(m.RoomID)
	w.Uint(m.CallID)
	w.Bytes(m.Payload)
	return w.Err()
}
func (m *Signal) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindSignal, 6)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.ToUserID = f.String("to_user_id", MaxIDLen)
	m.ToSession = f.Uint("to_session", math.MaxUint64)
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.CallID = f.Uint("call_id", math.MaxUint64)
	m.Payload = f.Bytes("payload", m.Payload, MaxSignalPayload)
	return f.End()
}

// SignalRecv delivers a Signal's payload, byte for byte:
// [109, 0, from_user_id, from_session, room_id, call_id, payload]. Answer
// the sender with a Signal to (from_user_id, from_session) and the same
// room_id or call_id.
type SignalRecv struct {
	Ref         uint32
	FromUserID  string
	FromSession uint64
	RoomID      uint64
	CallID      uint64
	Payload     []byte
}

func (*SignalRecv) Kind() Kind { return KindSignalRecv }
func (m *SignalRecv) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindSignalRecv, 6)
	w.Uint(uint64(m.Ref))
	w.String(m.FromUserID)
	w.Uint(m.FromSession)
	w.Uint(m.RoomID)
	w.Uint(m.CallID)
	w.Bytes(m.Payload)
	return w.Err()
}
func (m *SignalRecv) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindSignalRecv, 6)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.FromUserID = f.String("from_user_id", MaxIDLen)
	m.FromSession = f.Uint("from_session", math.MaxUint64)
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.CallID = f.Uint("call_id", math.MaxUint64)
	m.Payload = f.Bytes("payload", m.Payload, MaxSignalPayload)
	return f.End()
}

// CallInvite calls a friend: [110, ref, to_user_id]. Answered with
// CallUpdate (state ringing) carrying the new call's id; every session of
// the callee, and the caller's other sessions, get the same CallUpdate as
// a push.
type CallInvite struct {
	Ref      uint32
	ToUserID string
}

func (*CallInvite) Kind() Kind          { return KindCallInvite }
func (m *CallInvite) SetRef(ref uint32) { m.Ref = ref }
func (m *CallInvite) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeUserTarget(enc, KindCallInvite, m.Ref, m.ToUserID)
}
func (m *CallInvite) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeUserTarget(dec, KindCallInvite, &m.Ref, &m.ToUserID)
}

// callTarget is the layout [kind, ref, call_id].
func encodeCallTarget(enc *msgpack.Encoder, k Kind, ref uint32, callID uint64) error {
	w := W{Enc: enc}
	w.Begin(k, 2)
	w.Uint(uint64(ref))
	w.Uint(callID)
	return w.Err()
}

func decodeCallTarget(dec *msgpack.Decoder, k Kind, ref *uint32, callID *uint64) error {
	f := Begin(dec, k, 2)
	*ref = uint32(f.Uint("ref", maxRef))
	*callID = f.Uint("call_id", math.MaxUint64)
	return f.End()
}

// CallAccept answers a ringing call from this session: [111, ref,
// call_id]. Answered with OK; the first session to accept wins.
type CallAccept struct {
	Ref    uint32
	CallID uint64
}

func (*CallAccept) Kind() Kind          { return KindCallAccept }
func (m *CallAccept) SetRef(ref uint32) { m.Ref = ref }
func (m *CallAccept) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeCallTarget(enc, KindCallAccept, m.Ref, m.CallID)
}
func (m *CallAccept) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeCallTarget(dec, KindCallAccept, &m.Ref, &m.CallID)
}

// CallEnd ends a call: [112, ref, call_id]. What it means depends on who
// sends it and when: the caller cancels a ringing call, the callee
// declines it, either side hangs up an active one. Answered with OK.
type CallEnd struct {
	Ref    uint32
	CallID uint64
}

func (*CallEnd) Kind() Kind          { return KindCallEnd }
func (m *CallEnd) SetRef(ref uint32) { m.Ref = ref }
func (m *CallEnd) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeCallTarget(enc, KindCallEnd, m.Ref, m.CallID)
}
func (m *CallEnd) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeCallTarget(dec, KindCallEnd, &m.Ref, &m.CallID)
}

// CallUpdate is a call's new state: [113, ref, call_id, state, reason,
// caller_id, caller_name, callee_id, caller_session, callee_session,
// by_user_id, time_us]. It answers CallInvite (ref = the invite's) and is
// pushed (ref 0) to every session of both users on every transition.
// callee_session is the session that accepted (0 while ringing): a
// callee session that sees state active with another callee_session was
// answered elsewhere and stops ringing. by_user_id is who ended the call
// (declined, cancelled, hung_up), "" otherwise. time_us is when the state
// began (µs since the Unix epoch).
type CallUpdate struct {
	Ref           uint32
	CallID        uint64
	State         CallState
	Reason        CallEndReason
	CallerID      string
	CallerName    string
	CalleeID      string
	CallerSession uint64
	CalleeSession uint64
	ByUserID      string
	TimeUs        int64
}

func (*CallUpdate) Kind() Kind { return KindCallUpdate }
func (m *CallUpdate) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindCallUpdate, 11)
	w.Uint(uint64(m.Ref))
	w.Uint(m.CallID)
	w.Uint(uint64(m.State))
	w.Uint(uint64(m.Reason))
	w.String(m.CallerID)
	w.String(m.CallerName)
	w.String(m.CalleeID)
	w.Uint(m.CallerSession)
	w.Uint(m.CalleeSession)
	w.String(m.ByUserID)
	w.Int(m.TimeUs)
	return w.Err()
}
func (m *CallUpdate) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindCallUpdate, 11)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.CallID = f.Uint("call_id", math.MaxUint64)
	m.State = CallState(f.uintEnum("state", &callStateNames))
	m.Reason = CallEndReason(f.uintEnum("reason", &callEndReasonNames))
	m.CallerID = f.String("caller_id", MaxIDLen)
	m.CallerName = f.String("caller_name", MaxNameLen)
	m.CalleeID = f.String("callee_id", MaxIDLen)
	m.CallerSession = f.Uint("caller_session", math.MaxUint64)
	m.CalleeSession = f.Uint("callee_session", math.MaxUint64)
	m.ByUserID = f.String("by_user_id", MaxIDLen)
	m.TimeUs = f.Int("time_us")
	return f.End()
}
