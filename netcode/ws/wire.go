package ws

import (
	"errors"
	"io"

	"github.com/coder/websocket"

	"github.com/tickwire/tickwire/netcode"
)

// Message layout. Every WebSocket message tickwire sends is a **binary**
// message whose first byte is a marker; text messages are refused.
//
//	+-------------+------------------------------------------+
//	| mark  uint8 | body (the rest of the WebSocket message)  |
//	+-------------+------------------------------------------+
//
// Marks:
//
//	0 reliable    body = one message (a msgpack frame), 0..MaxMessageSize bytes
//	1 unreliable  body = one message, 0..MaxMessageSize bytes
//	2 heartbeat   body empty (the message is the single byte 0x02)
//
// The reliable and unreliable marks equal the netcode.Channel numbers.
// An empty message, an unknown mark, a heartbeat with a body, a text
// message and a message above 1+MaxMessageSize bytes are protocol errors:
// the reader closes the connection with a coded close (see below).
//
// Close: the WebSocket close frame carries the netcode code as status
// 4000+code (CodeOK as 1000) and the reason (UTF-8, at most
// MaxCloseReason bytes). Statuses a browser or proxy sends on its own are
// read as codes by closeCode.
const (
	markReliable   byte = 0
	markUnreliable byte = 1
	markHeartbeat  byte = 2

	// MarkSize is the bytes in front of every message body.
	MarkSize = 1
	// MaxCloseReason caps the reason of a close frame (125-byte control
	// payload minus the 2-byte status); longer reasons are cut at a UTF-8
	// boundary by the writer.
	MaxCloseReason = 123
	// closeCodeBase is added to a netcode.Code to make a WebSocket close
	// status in the private-use range 4000–4999.
	closeCodeBase = 4000
)

// errTooLarge marks a message above the read limit.
var errTooLarge = errors.New("ws: message above the limit")

// statusOf maps a netcode code onto a WebSocket close status.
func statusOf(code netcode.Code) websocket.StatusCode {
	if code == netcode.CodeOK {
		return websocket.StatusNormalClosure
	}
	if int(code) > 999 { // not a code netcode names: keep it in range
		return closeCodeBase + websocket.StatusCode(netcode.CodeInternal)
	}
	return closeCodeBase + websocket.StatusCode(code)
}

// closeCode maps a WebSocket close status back onto a netcode code:
// 4000–4999 are netcode codes; the standard statuses a browser, a proxy
// or another library sends map to the nearest code.
func closeCode(s websocket.StatusCode) netcode.Code {
	switch {
	case s >= closeCodeBase && s <= closeCodeBase+999:
		return netcode.Code(s - closeCodeBase)
	case s == websocket.StatusNormalClosure, s == websocket.StatusGoingAway, s == websocket.StatusNoStatusRcvd:
		return netcode.CodeOK
	case s == websocket.StatusMessageTooBig:
		return netcode.CodeFrameTooLarge
	case s == websocket.StatusProtocolError, s == websocket.StatusUnsupportedData, s == websocket.StatusInvalidFramePayloadData:
		return netcode.CodeBadFrame
	case s == websocket.StatusPolicyViolation:
		return netcode.CodeForbidden
	case s == websocket.StatusServiceRestart:
		return netcode.CodeServerShutdown
	case s == websocket.StatusTryAgainLater:
		return netcode.CodeServerBusy
	}
	return netcode.CodeInternal
}

// readMessage reads one WebSocket message body from r into *buf, which
// grows geometrically as bytes actually arrive and never beyond limit
// bytes: a peer cannot make it allocate for a length it only claims. A
// message longer than limit returns an error matching errTooLarge and
// netcode.CodeFrameTooLarge after reading at most limit+1 bytes. The
// result aliases *buf.
func readMessage(r io.Reader, buf *[]byte, limit int) ([]byte, error) {
	b := (*buf)[:0]
	if cap(b) > limit {
		b = b[:0:limit]
	}
	for {
		if len(b) == cap(b) {
			if cap(b) >= limit {
				// Full at the limit: one more byte means too large.
				var one [1]byte
				n, err := readSome(r, one[:])
				if n > 0 {
					return nil, &netcode.CodedError{Code: netcode.CodeFrameTooLarge,
						Msg: "ws: message above the limit", Err: errTooLarge}
				}
				if errors.Is(err, io.EOF) {
					*buf = b
					return b, nil
				}
				return nil, err
			}
			nb := make([]byte, len(b), min(max(2*cap(b), 512), limit))
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			*buf = b
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readSome reads into p until it has a byte or an error: a Reader may
// return 0, nil.
func readSome(r io.Reader, p []byte) (int, error) {
	for range 100 {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// splitMark splits a message into its mark and body and checks them.
func splitMark(msg []byte) (byte, []byte, error) {
	if len(msg) < MarkSize {
		return 0, nil, netcode.Errorf(netcode.CodeBadFrame, "ws: empty message")
	}
	mark, body := msg[0], msg[MarkSize:]
	switch mark {
	case markReliable, markUnreliable:
	case markHeartbeat:
		if len(body) != 0 {
			return 0, nil, netcode.Errorf(netcode.CodeBadFrame, "ws: heartbeat with a %d-byte body", len(body))
		}
	default:
		return 0, nil, netcode.Errorf(netcode.CodeBadFrame, "ws: unknown mark %d", mark)
	}
	return mark, body, nil
}

// appendMessage appends a marked message to dst.
func appendMessage(dst []byte, mark byte, body []byte) []byte {
	return append(append(dst, mark), body...)
}
