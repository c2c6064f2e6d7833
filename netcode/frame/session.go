package frame

import (
	"math"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/netcode"
)

// Session-layer kinds (1–15).
const (
	KindHello   Kind = 1
	KindWelcome Kind = 2
	KindError   Kind = 3
	KindPing    Kind = 4
	KindPong    Kind = 5
	KindClose   Kind = 6
	KindEcho    Kind = 7
	KindNotice  Kind = 11 // [11, code, text]: server → client
)

// ProtocolVersion is the version a client puts in Hello.
const ProtocolVersion = 1

// MaxEchoPayload bounds Echo payloads.
const MaxEchoPayload = netcode.DefaultMaxMessageSize - 64

// Hello opens a session: [1, version, token, client_name, client_version,
// resume_id, resume].
type Hello struct {
	Version       uint16
	Token         string
	ClientName    string
	ClientVersion string
	ResumeID      string // reserved, send "": a session is resumed with Resume (kind 9)
	Resume        bool   // the client resumes lost sessions: the server may keep this one for it
}

func (*Hello) Kind() Kind { return KindHello }

func (h *Hello) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindHello, 6)
	w.Uint(uint64(h.Version))
	w.String(h.Token)
	w.String(h.ClientName)
	w.String(h.ClientVersion)
	w.String(h.ResumeID)
	w.Bool(h.Resume)
	return w.Err()
}

func (h *Hello) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindHello, 2)
	h.Version = uint16(f.Uint("version", math.MaxUint16))
	h.Token = f.String("token", MaxTokenLen)
	h.ClientName = f.String("client_name", MaxNameLen)
	h.ClientVersion = f.String("client_version", MaxNameLen)
	h.ResumeID = f.String("resume_id", MaxIDLen)
	h.Resume = f.Bool("resume")
	return f.End()
}

// Welcome accepts a session:
// [2, session_id, user_id, display_name, server_time_us, max_frame,
// max_frames_per_sec, heartbeat_ms, idle_timeout_ms, resume_id,
// resume_window_ms, resumed, received, replay]. It also answers Resume.
type Welcome struct {
	SessionID       uint64
	UserID          string
	DisplayName     string
	ServerTimeUs    int64 // server clock, microseconds since the Unix epoch
	MaxFrame        uint32
	MaxFramesPerSec uint32
	HeartbeatMs     uint32 // send a Ping at least this often
	IdleTimeoutMs   uint32 // the server closes a session silent this long
	ResumeID        string // the secret a Resume presents; "" when resume is off
	ResumeWindowMs  uint32 // how long a lost session is kept for a Resume; 0 when resume is off
	Resumed         bool   // this Welcome answers a Resume: the session continues
	Received        uint64 // resumed: the client's numbered frames the server processed
	Replay          uint32 // resumed: how many numbered frames are replayed after it
}

func (*Welcome) Kind() Kind { return KindWelcome }

func (m *Welcome) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindWelcome, 13)
	w.Uint(m.SessionID)
	w.String(m.UserID)
	w.String(m.DisplayName)
	w.Int(m.ServerTimeUs)
	w.Uint(uint64(m.MaxFrame))
	w.Uint(uint64(m.MaxFramesPerSec))
	w.Uint(uint64(m.HeartbeatMs))
	w.Uint(uint64(m.IdleTimeoutMs))
	w.String(m.ResumeID)
	w.Uint(uint64(m.ResumeWindowMs))
	w.Bool(m.Resumed)
	w.Uint(m.Received)
	w.Uint(uint64(m.Replay))
	return w.Err()
}

func (m *Welcome) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindWelcome, 4)
	m.SessionID = f.Uint("session_id", math.MaxUint64)
	m.UserID = f.String("user_id", MaxIDLen)
	m.DisplayName = f.String("display_name", MaxNameLen)
	m.ServerTimeUs = f.Int("server_time_us")
	m.MaxFrame = uint32(f.Uint("max_frame", math.MaxUint32))
	m.MaxFramesPerSec = uint32(f.Uint("max_frames_per_sec", math.MaxUint32))
	m.HeartbeatMs = uint32(f.Uint("heartbeat_ms", math.MaxUint32))
	m.IdleTimeoutMs = uint32(f.Uint("idle_timeout_ms", math.MaxUint32))
	m.ResumeID = f.String("resume_id", MaxResumeIDLen)
	m.ResumeWindowMs = uint32(f.Uint("resume_window_ms", math.MaxUint32))
	m.Resumed = f.Bool("resumed")
	m.Received = f.Uint("received", math.MaxUint64)
	m.Replay = uint32(f.Uint("replay", math.MaxUint32))
	return f.End()
}

// Error reports a failure: [3, code, message, ref]. Ref echoes the request
// id of the frame that failed (0 when there is none).
type Error struct {
	Code    netcode.Code
	Message string
	Ref     uint32
}

func (*Error) Kind() Kind { return KindError }

func (m *Error) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindError, 3)
	w.Uint(uint64(m.Code))
	w.String(m.Message)
	w.Uint(uint64(m.Ref))
	return w.Err()
}

func (m *Error) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindError, 1)
	m.Code = netcode.Code(f.Uint("code", math.MaxUint16))
	m.Message = f.String("message", MaxMessageLen)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	return f.End()
}

// Ping asks for a Pong: [4, client_time_us].
type Ping struct {
	ClientTimeUs int64
}

func (*Ping) Kind() Kind { return KindPing }

func (m *Ping) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindPing, 1)
	w.Int(m.ClientTimeUs)
	return w.Err()
}

func (m *Ping) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindPing, 1)
	m.ClientTimeUs = f.Int("client_time_us")
	return f.End()
}

// Pong answers a Ping: [5, client_time_us, server_time_us]. The client
// computes RTT = now − client_time and clock offset =
// server_time − (client_time + RTT/2).
type Pong struct {
	ClientTimeUs int64
	ServerTimeUs int64
}

func (*Pong) Kind() Kind { return KindPong }

func (m *Pong) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindPong, 2)
	w.Int(m.ClientTimeUs)
	w.Int(m.ServerTimeUs)
	return w.Err()
}

func (m *Pong) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindPong, 2)
	m.ClientTimeUs = f.Int("client_time_us")
	m.ServerTimeUs = f.Int("server_time_us")
	return f.End()
}

// Close announces the end of a session: [6, code, reason].
type Close struct {
	Code   netcode.Code
	Reason string
}

func (*Close) Kind() Kind { return KindClose }

func (m *Close) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindClose, 2)
	w.Uint(uint64(m.Code))
	w.String(m.Reason)
	return w.Err()
}

func (m *Close) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindClose, 1)
	m.Code = netcode.Code(f.Uint("code", math.MaxUint16))
	m.Reason = f.String("reason", MaxMessageLen)
	return f.End()
}

// Notice is a message from the server's operators, pushed to every
// session or to one user's: [11, code, text]. Code is 0 for plain text,
// or says what the notice is about (draining). It is best effort: not
// numbered, so a session parked for a Resume misses it.
type Notice struct {
	Code netcode.Code
	Text string
}

func (*Notice) Kind() Kind { return KindNotice }

func (m *Notice) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindNotice, 2)
	w.Uint(uint64(m.Code))
	w.String(m.Text)
	return w.Err()
}

func (m *Notice) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindNotice, 2)
	m.Code = netcode.Code(f.Uint("code", math.MaxUint16))
	m.Text = f.String("text", MaxMessageLen)
	return f.End()
}

// Echo is answered by the server with the same frame on the same channel:
// [7, seq, sent_us, payload]. Tests and tickbench use it.
type Echo struct {
	Seq     uint32
	SentUs  int64
	Payload []byte // decoding reuses its backing array
}

func (*Echo) Kind() Kind { return KindEcho }

func (m *Echo) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindEcho, 3)
	w.Uint(uint64(m.Seq))
	w.Int(m.SentUs)
	w.Bytes(m.Payload)
	return w.Err()
}

func (m *Echo) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindEcho, 3)
	m.Seq = uint32(f.Uint("seq", math.MaxUint32))
	m.SentUs = f.Int("sent_us")
	m.Payload = f.Bytes("payload", m.Payload, MaxEchoPayload)
	return f.End()
}
