package tcp

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/tickwire/tickwire/netcode"
)

// Record layout (all integers big-endian):
//
//	+----------------+-------------+---------------------------+
//	| length  uint32 | type  uint8 | body (length-1 bytes)     |
//	+----------------+-------------+---------------------------+
//
// length counts the type byte and the body, so it is at least 1. Types:
//
//	0 reliable    body = message (0..MaxMessageSize bytes)
//	1 unreliable  body = message (0..MaxMessageSize bytes)
//	2 heartbeat   body empty (length == 1)
//	3 close       body = code uint16 | reason (UTF-8, 0..MaxCloseReason bytes)
//
// The reliable and unreliable types equal the netcode.Channel numbers.
// A length of 0, a length above 1+MaxMessageSize, an unknown type, a
// heartbeat with a body, a close body shorter than 2 bytes or a reason
// above MaxCloseReason, and a stream that ends inside a record are protocol
// errors: the reader closes the connection with a coded error.
const (
	recReliable   byte = 0
	recUnreliable byte = 1
	recHeartbeat  byte = 2
	recClose      byte = 3

	// HeaderSize is the bytes before a record's body.
	HeaderSize = 5
	// MaxCloseReason caps the reason carried by a close record; longer
	// reasons are truncated (at a UTF-8 boundary) by the writer.
	MaxCloseReason = 123
)

// appendRecord appends one record to dst.
func appendRecord(dst []byte, typ byte, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(1+len(body)))
	dst = append(dst, typ)
	return append(dst, body...)
}

// appendClose appends a close record carrying code and reason, truncating
// the reason to MaxCloseReason bytes.
func appendClose(dst []byte, code netcode.Code, reason string) []byte {
	reason = netcode.TruncateUTF8(reason, MaxCloseReason)
	dst = binary.BigEndian.AppendUint32(dst, uint32(1+2+len(reason)))
	dst = append(dst, recClose)
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// decodeClose parses a close record's body.
func decodeClose(body []byte) (netcode.Code, string, error) {
	if len(body) < 2 {
		return 0, "", netcode.Errorf(netcode.CodeBadFrame, "tcp: close record of %d bytes", len(body))
	}
	if len(body)-2 > MaxCloseReason {
		return 0, "", netcode.Errorf(netcode.CodeFrameTooLarge, "tcp: close reason of %d bytes", len(body)-2)
	}
	return netcode.Code(binary.BigEndian.Uint16(body)), string(body[2:]), nil
}

// recordReader reads records from a stream. It is sans-IO in the sense
// that it knows only an io.Reader; the Conn sets deadlines around it.
// It is owned by one goroutine. The body it returns aliases its buffer and
// is valid until the next call.
type recordReader struct {
	r   io.Reader
	max int // largest body
	hdr [HeaderSize]byte
	buf []byte // reused; grows up to max, never beyond
}

// errTruncated marks a stream that ended inside a record.
var errTruncated = errors.New("tcp: stream ended inside a record")

// next reads one record. At a clean end of stream (between records) it
// returns io.EOF; protocol violations are *netcode.CodedError values;
// other errors come from the underlying reader.
func (rr *recordReader) next() (byte, []byte, error) {
	if n, err := io.ReadFull(rr.r, rr.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF || (err == io.EOF && n > 0) {
			return 0, nil, &netcode.CodedError{Code: netcode.CodeBadFrame, Msg: "tcp: truncated record header", Err: errTruncated}
		}
		return 0, nil, err
	}
	length := binary.BigEndian.Uint32(rr.hdr[:4])
	typ := rr.hdr[4]
	if length == 0 {
		return 0, nil, netcode.Errorf(netcode.CodeBadFrame, "tcp: record length 0")
	}
	// Checked before any allocation: the length is untrusted.
	if uint64(length)-1 > uint64(rr.max) {
		return 0, nil, netcode.Errorf(netcode.CodeFrameTooLarge, "tcp: record of %d bytes above the limit %d", length-1, rr.max)
	}
	n := int(length - 1)
	switch typ {
	case recReliable, recUnreliable:
	case recHeartbeat:
		if n != 0 {
			return 0, nil, netcode.Errorf(netcode.CodeBadFrame, "tcp: heartbeat record with a %d-byte body", n)
		}
	case recClose:
		if n < 2 || n-2 > MaxCloseReason {
			return 0, nil, netcode.Errorf(netcode.CodeBadFrame, "tcp: close record with a %d-byte body", n)
		}
	default:
		return 0, nil, netcode.Errorf(netcode.CodeBadFrame, "tcp: unknown record type %d", typ)
	}
	if n == 0 {
		return typ, rr.buf[:0], nil
	}
	if cap(rr.buf) < n {
		// Grow geometrically, never past the limit.
		rr.buf = make([]byte, min(max(n, 2*cap(rr.buf), 512), rr.max))
	}
	body := rr.buf[:n]
	if _, err := io.ReadFull(rr.r, body); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, nil, &netcode.CodedError{Code: netcode.CodeBadFrame, Msg: "tcp: truncated record body", Err: errTruncated}
		}
		return 0, nil, err
	}
	return typ, body, nil
}
