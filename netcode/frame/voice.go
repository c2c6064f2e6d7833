package frame

import (
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Voice room kinds (40–47, inside the room range). Like every room frame
// they carry the request ref as field 1. VoiceSend and VoiceFrame travel
// on the unreliable channel; VoiceSet and VoiceEvent on the reliable one.
// docs/PROTOCOL.md §4 and docs/VOICE.md document each layout.
const (
	KindVoiceSend  Kind = 40 // [40, ref, room_id, seq, timestamp, payload]
	KindVoiceFrame Kind = 41 // [41, 0, room_id, member, seq, timestamp, payload]
	KindVoiceSet   Kind = 42 // [42, ref, room_id, muted, deafened]
	KindVoiceEvent Kind = 43 // [43, 0, room_id, member, event]
)

// MaxVoicePayload bounds the payload of one voice frame (one codec
// packet): with the frame's own bytes it fits one KCP unreliable datagram.
// Servers usually configure a tighter limit (room/voice.Config).
const MaxVoicePayload = 1000

// VoiceSend is one encoded audio frame from a member to its voice room:
// [40, ref, room_id, seq, timestamp, payload]. Payload is one codec packet
// (one raw Opus packet), opaque to the server. Seq is the sender's packet
// counter (+1 per packet sent, wrapping); timestamp is the media time of
// the packet's first sample in 48 kHz units (an RTP timestamp). It gets no
// reply; a refused frame may be answered with an Error carrying ref.
type VoiceSend struct {
	Ref       uint32
	RoomID    uint64
	Seq       uint32
	Timestamp uint32
	Payload   []byte // decoding reuses its backing array
}

func (*VoiceSend) Kind() Kind          { return KindVoiceSend }
func (m *VoiceSend) SetRef(ref uint32) { m.Ref = ref }

func (m *VoiceSend) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindVoiceSend, 5)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Uint(uint64(m.Seq))
	w.Uint(uint64(m.Timestamp))
	w.Bytes(m.Payload)
	return w.Err()
}

func (m *VoiceSend) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindVoiceSend, 5)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Seq = uint32(f.Uint("seq", math.MaxUint32))
	m.Timestamp = uint32(f.Uint("timestamp", math.MaxUint32))
	m.Payload = f.Bytes("payload", m.Payload, MaxVoicePayload)
	return f.End()
}

// VoiceFrame is a member's audio frame as the voice room forwards it to
// the other members: [41, 0, room_id, member, seq, timestamp, payload],
// seq, timestamp and payload exactly as the sender sent them.
type VoiceFrame struct {
	Ref       uint32 // always 0: a push
	RoomID    uint64
	Member    uint32
	Seq       uint32
	Timestamp uint32
	Payload   []byte // decoding reuses its backing array
}

func (*VoiceFrame) Kind() Kind { return KindVoiceFrame }

func (m *VoiceFrame) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindVoiceFrame, 6)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Uint(uint64(m.Member))
	w.Uint(uint64(m.Seq))
	w.Uint(uint64(m.Timestamp))
	w.Bytes(m.Payload)
	return w.Err()
}

func (m *VoiceFrame) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindVoiceFrame, 6)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Member = uint32(f.Uint("member", math.MaxUint32))
	m.Seq = uint32(f.Uint("seq", math.MaxUint32))
	m.Timestamp = uint32(f.Uint("timestamp", math.MaxUint32))
	m.Payload = f.Bytes("payload", m.Payload, MaxVoicePayload)
	return f.End()
}

// VoiceSet sets the sender's own mute and deafen state in a voice room:
// [42, ref, room_id, muted, deafened]. Muted: the server forwards none of
// the member's frames. Deafened: the server sends the member no frames.
// Answered with OK (the other members get VoiceEvents for what changed)
// or Error.
type VoiceSet struct {
	Ref      uint32
	RoomID   uint64
	Muted    bool
	Deafened bool
}

func (*VoiceSet) Kind() Kind          { return KindVoiceSet }
func (m *VoiceSet) SetRef(ref uint32) { m.Ref = ref }

func (m *VoiceSet) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindVoiceSet, 4)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Bool(m.Muted)
	w.Bool(m.Deafened)
	return w.Err()
}

func (m *VoiceSet) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindVoiceSet, 4)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Muted = f.Bool("muted")
	m.Deafened = f.Bool("deafened")
	return f.End()
}

// VoiceEvent tells the members of a voice room that a member started or
// stopped speaking, or changed its mute or deafen state:
// [43, 0, room_id, member, event]. A member that joins gets the current
// state of every other member as VoiceEvents right after RoomJoined.
type VoiceEvent struct {
	Ref    uint32 // always 0: a push
	RoomID uint64
	Member uint32
	Event  VoiceEventType
}

func (*VoiceEvent) Kind() Kind { return KindVoiceEvent }

func (m *VoiceEvent) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindVoiceEvent, 4)
	w.Uint(uint64(m.Ref))
	w.Uint(m.RoomID)
	w.Uint(uint64(m.Member))
	w.Uint(uint64(m.Event))
	return w.Err()
}

func (m *VoiceEvent) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindVoiceEvent, 4)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	m.RoomID = f.Uint("room_id", math.MaxUint64)
	m.Member = uint32(f.Uint("member", math.MaxUint32))
	m.Event = VoiceEventType(f.uintEnum("event", &voiceEventNames))
	return f.End()
}

// VoiceEventType says what a VoiceEvent reports.
type VoiceEventType uint8

// Voice event types.
const (
	VoiceSpeaking   VoiceEventType = 1 // speaking: the member's frames started arriving
	VoiceSilent     VoiceEventType = 2 // silent: no frame from the member for the silence timeout (or it muted)
	VoiceMuted      VoiceEventType = 3 // muted: the member muted itself
	VoiceUnmuted    VoiceEventType = 4 // unmuted: the member unmuted itself
	VoiceDeafened   VoiceEventType = 5 // deafened: the member receives no frames
	VoiceUndeafened VoiceEventType = 6 // undeafened: the member receives frames again
)

var voiceEventNames = enumNames{what: "voice event", names: []string{"", "speaking", "silent", "muted", "unmuted", "deafened", "undeafened"}}

// String returns the name ("speaking"), or "unknown_N".
func (e VoiceEventType) String() string { return voiceEventNames.str(uint8(e)) }

// Valid reports whether e is a defined voice event.
func (e VoiceEventType) Valid() bool { return voiceEventNames.valid(uint8(e)) }

// MarshalText returns the name; an undefined value is an error.
func (e VoiceEventType) MarshalText() ([]byte, error) { return voiceEventNames.marshal(uint8(e)) }

// UnmarshalText parses a name as ParseVoiceEventType does.
func (e *VoiceEventType) UnmarshalText(b []byte) error {
	v, err := ParseVoiceEventType(string(b))
	if err == nil {
		*e = v
	}
	return err
}

// ParseVoiceEventType returns the event named s ("speaking", "silent",
// "muted", "unmuted", "deafened", "undeafened"); an unknown name is a
// CodeBadRequest error.
func ParseVoiceEventType(s string) (VoiceEventType, error) {
	v, err := voiceEventNames.parse(s)
	return VoiceEventType(v), err
}
