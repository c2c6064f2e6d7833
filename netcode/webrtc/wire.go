package webrtc

// Wire format (docs/PROTOCOL.md §2.3 and docs/WEBRTC.md):
//
//	data channel 0 "reliable"   negotiated, ordered, reliable
//	    binary message  one netcode.Reliable message, as is
//	    text message    a control message, JSON; the one defined:
//	                    {"type":"close","code":<uint16>,"reason":"<≤123 bytes>"}
//	data channel 1 "unreliable" negotiated, unordered, maxRetransmits 0
//	    binary message  seq:u32 (big-endian) ‖ one netcode.Unreliable message
//
// seq starts at any value and grows by one per message sent; a receiver
// drops a message whose seq is not newer (serial-number arithmetic, RFC
// 1982) than the newest it delivered. Text messages on channel 1 and
// binary messages shorter than 4 bytes are malformed and dropped.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/tickwire/tickwire/netcode"
)

const (
	reliableID   uint16 = 0
	unreliableID uint16 = 1

	reliableLabel   = "reliable"
	unreliableLabel = "unreliable"

	// unreliableHeader is the size of the sequence number in front of
	// every unreliable message.
	unreliableHeader = 4

	// MaxCloseReason is the longest close reason carried, in bytes;
	// longer reasons are cut at a UTF-8 boundary.
	MaxCloseReason = 123
	// maxControlSize bounds a control message: a text message above it
	// is malformed.
	maxControlSize = 512

	controlClose = "close"
)

// errMalformedControl is a text message that is not a control message.
var errMalformedControl = errors.New("webrtc: malformed control message")

// controlMsg is the JSON shape of a control message.
type controlMsg struct {
	Type   string `json:"type"`
	Code   *int   `json:"code,omitempty"`
	Reason string `json:"reason"`
}

// encodeClose returns the close control message for code and reason.
func encodeClose(code netcode.Code, reason string) []byte {
	c := int(code)
	b, err := json.Marshal(controlMsg{Type: controlClose, Code: &c, Reason: netcode.TruncateUTF8(reason, MaxCloseReason)})
	if err != nil { // cannot happen: a string and an int
		return []byte(`{"type":"close","code":9,"reason":""}`)
	}
	return b
}

// decodeClose parses a text message from the reliable channel. It
// accepts only a close message of at most maxControlSize bytes with a
// code in 0..65535 and a reason of at most MaxCloseReason bytes of UTF-8;
// unknown fields are ignored (fields may be appended later).
func decodeClose(b []byte) (netcode.Code, string, error) {
	if len(b) > maxControlSize || !utf8.Valid(b) {
		return 0, "", errMalformedControl
	}
	var m controlMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, "", errMalformedControl
	}
	if m.Type != controlClose || m.Code == nil || *m.Code < 0 || *m.Code > 0xFFFF ||
		len(m.Reason) > MaxCloseReason || !utf8.ValidString(m.Reason) {
		return 0, "", errMalformedControl
	}
	return netcode.Code(*m.Code), m.Reason, nil
}

// appendUnreliable appends the unreliable message p with sequence number seq.
func appendUnreliable(dst []byte, seq uint32, p []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, seq)
	return append(dst, p...)
}

// decodeUnreliable splits an unreliable message into seq and payload.
func decodeUnreliable(b []byte) (uint32, []byte, bool) {
	if len(b) < unreliableHeader {
		return 0, nil, false
	}
	return binary.BigEndian.Uint32(b), b[unreliableHeader:], true
}

// seqNewer reports whether a is newer than b in serial-number arithmetic.
func seqNewer(a, b uint32) bool { return int32(a-b) > 0 }
