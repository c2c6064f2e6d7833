package frame

import (
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Session resume kinds (docs/PROTOCOL.md §3, "Session resume").
const (
	KindResume Kind = 9  // [9, version, session_id, resume_id, received, client_name, client_version]
	KindAck    Kind = 10 // [10, received]
)

// MaxResumeIDLen bounds a resume secret on the wire. The server issues 43
// characters (32 random bytes, base64url without padding).
const MaxResumeIDLen = 64

// Numbered reports whether a frame of kind k sent on the reliable channel
// after Welcome is numbered for resume: Error (3), OK (8) and every
// service kind (16 and up). Session-layer frames (Ping, Pong, Echo, Ack,
// Close) are not: they are neither counted nor replayed. Both directions
// use the same rule; the n-th numbered frame a side sends is number n.
func Numbered(k Kind) bool {
	return k == KindError || k == KindOK || k >= FirstServiceKind
}

// Resume continues a parked or half-open session on a new connection,
// instead of Hello: [9, version, session_id, resume_id, received,
// client_name, client_version]. Received is how many numbered frames of
// the session the client has processed (over every connection); the
// server replays the ones after it.
type Resume struct {
	Version       uint16
	SessionID     uint64
	ResumeID      string // the secret from the last Welcome
	Received      uint64
	ClientName    string
	ClientVersion string
}

func (*Resume) Kind() Kind { return KindResume }

func (m *Resume) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindResume, 6)
	w.Uint(uint64(m.Version))
	w.Uint(m.SessionID)
	w.String(m.ResumeID)
	w.Uint(m.Received)
	w.String(m.ClientName)
	w.String(m.ClientVersion)
	return w.Err()
}

func (m *Resume) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindResume, 4)
	m.Version = uint16(f.Uint("version", math.MaxUint16))
	m.SessionID = f.Uint("session_id", math.MaxUint64)
	m.ResumeID = f.String("resume_id", MaxResumeIDLen)
	m.Received = f.Uint("received", math.MaxUint64)
	m.ClientName = f.String("client_name", MaxNameLen)
	m.ClientVersion = f.String("client_version", MaxNameLen)
	return f.End()
}

// Ack tells the server how many numbered frames the client has processed
// so far: [10, received]. The server forgets the frames up to it.
type Ack struct {
	Received uint64
}

func (*Ack) Kind() Kind { return KindAck }

func (m *Ack) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindAck, 1)
	w.Uint(m.Received)
	return w.Err()
}

func (m *Ack) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindAck, 1)
	m.Received = f.Uint("received", math.MaxUint64)
	return f.End()
}
