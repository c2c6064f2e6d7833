package kcp

import (
	"encoding/binary"
	"fmt"

	"github.com/tickwire/tickwire/netcode"
)

// Wire format (docs/KCP.md has the full description). Every UDP datagram
// starts with a type byte. Integers are big-endian, except inside the KCP
// packet, which is kcp-go's own little-endian format.
//
// Handshake (no session state on the server until Connect verifies):
//
//	Hello   C->S  0x01 ver nonce[8] padding      >= helloSize (128) bytes
//	Cookie  S->C  0x02 ver nonce[8] bucket:u32 mac[16]           30 bytes
//	Connect C->S  0x03 ver nonce[8] bucket:u32 mac[16]           30 bytes
//	Accept  S->C  0x04 ver nonce[8] conv:u32 token:u64 ds:u8 ps:u8  24 bytes
//	Reject  S->C  0x05 ver nonce[8] code:u16                     12 bytes
//
// Session datagrams (both directions) share a 13-byte header:
//
//	type:u8 token:u64 pn:u32 payload...
//
//	0x10 KCP         payload = one kcp-go packet
//	0x11 Unreliable  payload = seq:u32 message...
//	0x12 Control     payload = ctype:u8 ...
//	     0x01 Heartbeat  recvMax:u32 recvCount:u32   (receive report)
//	     0x02 Close      code:u16 reasonLen:u8 reason[reasonLen]
//
// pn counts every datagram a session sends (redundant copies included);
// the token is the per-session secret from Accept.
const (
	typeHello      = 0x01
	typeCookie     = 0x02
	typeConnect    = 0x03
	typeAccept     = 0x04
	typeReject     = 0x05
	typeKCP        = 0x10
	typeUnreliable = 0x11
	typeControl    = 0x12

	ctlHeartbeat = 0x01
	ctlClose     = 0x02

	protocolVersion = 1

	helloSize   = 128
	cookieSize  = 30
	connectSize = 30
	acceptSize  = 24
	rejectSize  = 12

	sessionHeaderSize = 13
	unreliableHeader  = sessionHeaderSize + 4
	heartbeatSize     = sessionHeaderSize + 1 + 8
	maxReasonLen      = 120
	maxCloseSize      = sessionHeaderSize + 1 + 2 + 1 + maxReasonLen

	macSize = 16

	// maxDatagram is the receive buffer size; larger datagrams are
	// truncated by the kernel and then fail to decode.
	maxDatagram = 1500
)

// handshake is any of the five handshake datagrams.
type handshake struct {
	Type          byte
	Nonce         [8]byte
	Bucket        uint32   // Cookie, Connect
	MAC           [16]byte // Cookie, Connect
	Conv          uint32   // Accept
	Token         uint64   // Accept
	DataShards    uint8    // Accept
	ParityShards  uint8    // Accept
	Code          netcode.Code
	PaddingLength int // Hello: bytes after the nonce (>= helloSize-10)
}

func isHandshake(t byte) bool { return t >= typeHello && t <= typeReject }

func malformed(format string, args ...any) error {
	return fmt.Errorf("kcp: "+format+": %w", append(args, ErrMalformed)...)
}

// decodeHandshake parses a handshake datagram. Hello must be padded to
// helloSize; the other types must have their exact size.
func decodeHandshake(b []byte) (handshake, error) {
	var h handshake
	if len(b) < 10 {
		return h, malformed("handshake of %d bytes", len(b))
	}
	h.Type = b[0]
	if b[1] != protocolVersion {
		return h, malformed("protocol version %d", b[1])
	}
	copy(h.Nonce[:], b[2:10])
	switch h.Type {
	case typeHello:
		if len(b) < helloSize || len(b) > maxDatagram {
			return h, malformed("hello of %d bytes", len(b))
		}
		h.PaddingLength = len(b) - 10
	case typeCookie, typeConnect:
		if len(b) != cookieSize {
			return h, malformed("cookie of %d bytes", len(b))
		}
		h.Bucket = binary.BigEndian.Uint32(b[10:])
		copy(h.MAC[:], b[14:30])
	case typeAccept:
		if len(b) != acceptSize {
			return h, malformed("accept of %d bytes", len(b))
		}
		h.Conv = binary.BigEndian.Uint32(b[10:])
		h.Token = binary.BigEndian.Uint64(b[14:])
		h.DataShards, h.ParityShards = b[22], b[23]
	case typeReject:
		if len(b) != rejectSize {
			return h, malformed("reject of %d bytes", len(b))
		}
		h.Code = netcode.Code(binary.BigEndian.Uint16(b[10:]))
	default:
		return h, malformed("handshake type %#x", h.Type)
	}
	return h, nil
}

// appendHandshake appends h's encoding to dst.
func appendHandshake(dst []byte, h handshake) []byte {
	dst = append(dst, h.Type, protocolVersion)
	dst = append(dst, h.Nonce[:]...)
	switch h.Type {
	case typeHello:
		pad := max(h.PaddingLength, helloSize-10)
		for range pad {
			dst = append(dst, 0)
		}
	case typeCookie, typeConnect:
		dst = binary.BigEndian.AppendUint32(dst, h.Bucket)
		dst = append(dst, h.MAC[:]...)
	case typeAccept:
		dst = binary.BigEndian.AppendUint32(dst, h.Conv)
		dst = binary.BigEndian.AppendUint64(dst, h.Token)
		dst = append(dst, h.DataShards, h.ParityShards)
	case typeReject:
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Code))
	}
	return dst
}

// sessionHeader starts every datagram of an established session.
type sessionHeader struct {
	Type  byte
	Token uint64
	PN    uint32
}

func isSession(t byte) bool { return t >= typeKCP && t <= typeControl }

func decodeSessionHeader(b []byte) (sessionHeader, []byte, error) {
	if len(b) < sessionHeaderSize || !isSession(b[0]) {
		return sessionHeader{}, nil, malformed("session datagram of %d bytes", len(b))
	}
	return sessionHeader{
		Type:  b[0],
		Token: binary.BigEndian.Uint64(b[1:]),
		PN:    binary.BigEndian.Uint32(b[9:]),
	}, b[sessionHeaderSize:], nil
}

func putSessionHeader(b []byte, h sessionHeader) {
	b[0] = h.Type
	binary.BigEndian.PutUint64(b[1:], h.Token)
	binary.BigEndian.PutUint32(b[9:], h.PN)
}

// decodeUnreliable splits an unreliable payload into its sequence number
// and message.
func decodeUnreliable(p []byte) (uint32, []byte, error) {
	if len(p) < 4 {
		return 0, nil, malformed("unreliable payload of %d bytes", len(p))
	}
	return binary.BigEndian.Uint32(p), p[4:], nil
}

// control is a decoded control payload.
type control struct {
	Type      byte
	RecvMax   uint32 // Heartbeat
	RecvCount uint32 // Heartbeat
	Code      netcode.Code
	Reason    string
}

func decodeControl(p []byte) (control, error) {
	var c control
	if len(p) < 1 {
		return c, malformed("empty control")
	}
	c.Type = p[0]
	switch c.Type {
	case ctlHeartbeat:
		if len(p) != 9 {
			return c, malformed("heartbeat of %d bytes", len(p))
		}
		c.RecvMax = binary.BigEndian.Uint32(p[1:])
		c.RecvCount = binary.BigEndian.Uint32(p[5:])
	case ctlClose:
		if len(p) < 4 {
			return c, malformed("close of %d bytes", len(p))
		}
		c.Code = netcode.Code(binary.BigEndian.Uint16(p[1:]))
		n := int(p[3])
		if n > maxReasonLen || len(p) != 4+n {
			return c, malformed("close reason of %d bytes in %d", n, len(p))
		}
		c.Reason = string(p[4:])
	default:
		return c, malformed("control type %#x", c.Type)
	}
	return c, nil
}

func appendControl(dst []byte, c control) []byte {
	dst = append(dst, c.Type)
	switch c.Type {
	case ctlHeartbeat:
		dst = binary.BigEndian.AppendUint32(dst, c.RecvMax)
		dst = binary.BigEndian.AppendUint32(dst, c.RecvCount)
	case ctlClose:
		r := netcode.TruncateUTF8(c.Reason, maxReasonLen)
		dst = binary.BigEndian.AppendUint16(dst, uint16(c.Code))
		dst = append(dst, byte(len(r)))
		dst = append(dst, r...)
	}
	return dst
}

// The reliable channel is a KCP byte stream of length-prefixed messages:
// uvarint(len) followed by len bytes.

// maxPrefix is the longest uvarint prefix accepted (lengths < 2^21).
const maxPrefix = 3

// appendPrefix appends the length prefix of an n-byte message.
func appendPrefix(dst []byte, n int) []byte { return binary.AppendUvarint(dst, uint64(n)) }

// nextMessage finds the first complete message in buf. It returns the
// message, the bytes consumed (0 when more bytes are needed) and an error
// for a prefix that is malformed or above limit; the length is checked
// before anything is allocated.
func nextMessage(buf []byte, limit int) (msg []byte, n int, err error) {
	v, k := binary.Uvarint(buf)
	if k == 0 {
		if len(buf) >= maxPrefix {
			return nil, 0, malformed("length prefix")
		}
		return nil, 0, nil // need more bytes
	}
	if k < 0 || k > maxPrefix {
		return nil, 0, malformed("length prefix")
	}
	if v > uint64(limit) {
		return nil, 0, fmt.Errorf("kcp: reliable message of %d bytes, limit %d: %w", v, limit, netcode.ErrMessageTooLarge)
	}
	end := k + int(v)
	if len(buf) < end {
		return nil, 0, nil
	}
	return buf[k:end], end, nil
}

// seqNewer reports whether a is after b in wrapping uint32 sequence space.
func seqNewer(a, b uint32) bool { return int32(a-b) > 0 }
