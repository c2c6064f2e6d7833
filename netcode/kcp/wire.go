package kcp

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/tickwire/tickwire/netcode"
)

// Wire format (docs/KCP.md has the full description). Every UDP datagram
// starts with a type byte. Integers are big-endian, except inside the KCP
// packet, which is kcp-go's own little-endian format.
//
// Handshake (no session state and no key agreement on the server until
// Connect verifies); ver = 2:
//
//	Hello   C->S  0x01 ver nonce[8] mode:u8 cpub[32] padding     >= helloSize (128) bytes
//	Cookie  S->C  0x02 ver nonce[8] bucket:u32 mac[16] spub[32]   62 bytes
//	Connect C->S  0x03 ver nonce[8] bucket:u32 mac[16] mode:u8 cpub[32]  63 bytes
//	Accept  S->C  0x04 ver nonce[8] seal(conv:u32 token:u64 ds:u8 ps:u8) tag[16]  40 bytes
//	              (plaintext mode: no seal, no tag, 24 bytes)
//	Reject  S->C  0x05 ver nonce[8] code:u16 [tag[16]]           12 or 28 bytes
//
// mode 0 is sealed (cpub: the client's ephemeral X25519 public key), 1
// plaintext (benchmarks only; cpub zero). spub is the server's static
// X25519 public key. Accept and a Reject after a verified cookie are
// sealed with the handshake key (seal.go); a Reject before one (to a
// Hello) is clear.
//
// Session datagrams (both directions) share a 13-byte header:
//
//	type:u8 token:u64 pn:u32 payload... [tag[16]]
//
//	0x10 KCP         payload = one kcp-go packet
//	0x11 Unreliable  payload = seq:u32 message...
//	0x12 Control     payload = ctype:u8 ...
//	     0x01 Heartbeat  recvMax:u32 recvCount:u32   (receive report)
//	     0x02 Close      code:u16 reasonLen:u8 reason[reasonLen]
//
// In a sealed session the payload is encrypted and the header is the
// additional data of its tag (seal.go). pn counts every datagram a
// session sends (redundant copies included); the token names the session.
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

	protocolVersion = 2

	hsPrefix         = 10 // type, version, nonce
	helloSize        = 128
	helloFixed       = hsPrefix + 1 + pubSize
	cookieSize       = hsPrefix + 4 + macSize + pubSize     // 62
	connectSize      = hsPrefix + 4 + macSize + 1 + pubSize // 63
	acceptSize       = 24
	acceptSealedSize = acceptSize + tagSize // 40
	rejectSize       = 12
	rejectSealedSize = rejectSize + tagSize // 28

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
	Type         byte
	Nonce        [8]byte
	Mode         byte          // Hello, Connect
	Pub          [pubSize]byte // Hello, Connect: the client's key; Cookie: the server's
	Bucket       uint32        // Cookie, Connect
	MAC          [16]byte      // Cookie, Connect
	Conv         uint32        // Accept
	Token        uint64        // Accept
	DataShards   uint8         // Accept
	ParityShards uint8         // Accept
	Code         netcode.Code  // Reject
	// Sealed: an Accept or Reject carrying a tag (its authenticity is
	// checked, and an Accept's body decrypted, by openHandshake).
	Sealed        bool
	PaddingLength int // Hello: bytes after the key (>= helloSize-helloFixed)
}

func isHandshake(t byte) bool { return t >= typeHello && t <= typeReject }

func malformed(format string, args ...any) error {
	return fmt.Errorf("kcp: "+format+": %w", append(args, ErrMalformed)...)
}

// decodeHandshake parses a handshake datagram. Hello must be padded to
// helloSize; the other types must have one of their exact sizes. A
// sealed Accept's body is left encrypted (openHandshake opens it).
func decodeHandshake(b []byte) (handshake, error) {
	var h handshake
	if len(b) < hsPrefix {
		return h, malformed("handshake of %d bytes", len(b))
	}
	h.Type = b[0]
	if b[1] != protocolVersion {
		return h, malformed("protocol version %d", b[1])
	}
	copy(h.Nonce[:], b[2:hsPrefix])
	switch h.Type {
	case typeHello:
		if len(b) < helloSize || len(b) > maxDatagram {
			return h, malformed("hello of %d bytes", len(b))
		}
		h.Mode = b[hsPrefix]
		copy(h.Pub[:], b[hsPrefix+1:])
		h.PaddingLength = len(b) - helloFixed
	case typeCookie:
		if len(b) != cookieSize {
			return h, malformed("cookie of %d bytes", len(b))
		}
		h.Bucket = binary.BigEndian.Uint32(b[hsPrefix:])
		copy(h.MAC[:], b[hsPrefix+4:])
		copy(h.Pub[:], b[hsPrefix+4+macSize:])
	case typeConnect:
		if len(b) != connectSize {
			return h, malformed("connect of %d bytes", len(b))
		}
		h.Bucket = binary.BigEndian.Uint32(b[hsPrefix:])
		copy(h.MAC[:], b[hsPrefix+4:])
		h.Mode = b[hsPrefix+4+macSize]
		copy(h.Pub[:], b[hsPrefix+4+macSize+1:])
	case typeAccept:
		switch len(b) {
		case acceptSize:
			h.decodeAcceptBody(b[hsPrefix:])
		case acceptSealedSize:
			h.Sealed = true
		default:
			return h, malformed("accept of %d bytes", len(b))
		}
	case typeReject:
		if len(b) != rejectSize && len(b) != rejectSealedSize {
			return h, malformed("reject of %d bytes", len(b))
		}
		h.Code = netcode.Code(binary.BigEndian.Uint16(b[hsPrefix:]))
		h.Sealed = len(b) == rejectSealedSize
	default:
		return h, malformed("handshake type %#x", h.Type)
	}
	if (h.Type == typeHello || h.Type == typeConnect) && h.Mode != modeSealed && h.Mode != modePlaintext {
		return h, malformed("handshake mode %#x", h.Mode)
	}
	return h, nil
}

func (h *handshake) decodeAcceptBody(b []byte) {
	h.Conv = binary.BigEndian.Uint32(b)
	h.Token = binary.BigEndian.Uint64(b[4:])
	h.DataShards, h.ParityShards = b[12], b[13]
}

// appendHandshake appends h's clear encoding to dst (sealHandshake seals
// an Accept or a Reject).
func appendHandshake(dst []byte, h handshake) []byte {
	dst = append(dst, h.Type, protocolVersion)
	dst = append(dst, h.Nonce[:]...)
	switch h.Type {
	case typeHello:
		dst = append(dst, h.Mode)
		dst = append(dst, h.Pub[:]...)
		pad := max(h.PaddingLength, helloSize-helloFixed)
		for range pad {
			dst = append(dst, 0)
		}
	case typeCookie:
		dst = binary.BigEndian.AppendUint32(dst, h.Bucket)
		dst = append(dst, h.MAC[:]...)
		dst = append(dst, h.Pub[:]...)
	case typeConnect:
		dst = binary.BigEndian.AppendUint32(dst, h.Bucket)
		dst = append(dst, h.MAC[:]...)
		dst = append(dst, h.Mode)
		dst = append(dst, h.Pub[:]...)
	case typeAccept:
		dst = binary.BigEndian.AppendUint32(dst, h.Conv)
		dst = binary.BigEndian.AppendUint64(dst, h.Token)
		dst = append(dst, h.DataShards, h.ParityShards)
	case typeReject:
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Code))
	}
	return dst
}

// sealHandshake appends an Accept or Reject sealed with the handshake key
// hk: an Accept's body is encrypted; a Reject's code stays clear and is
// authenticated. The clear prefix (type, version, nonce) is the
// additional data.
func sealHandshake(dst []byte, h handshake, hk cipher.AEAD) []byte {
	start := len(dst)
	dst = slices.Grow(appendHandshake(dst, h), tagSize) // sealed in place
	switch h.Type {
	case typeAccept:
		n := acceptNonce()
		body := dst[start+hsPrefix:]
		out := hk.Seal(body[:0], n[:], body, dst[start:start+hsPrefix])
		return dst[:start+hsPrefix+len(out)]
	default: // typeReject
		n := rejectNonce(uint16(h.Code))
		return hk.Seal(dst, n[:], nil, dst[start:])
	}
}

// openHandshake checks a sealed Accept or Reject (b, whose decoding is
// h) with the handshake key and fills in an Accept's body. It decrypts
// in place.
func openHandshake(h *handshake, b []byte, hk cipher.AEAD) bool {
	switch h.Type {
	case typeAccept:
		n := acceptNonce()
		body, err := hk.Open(b[hsPrefix:hsPrefix], n[:], b[hsPrefix:], b[:hsPrefix])
		if err != nil || len(body) != acceptSize-hsPrefix {
			return false
		}
		h.decodeAcceptBody(body)
		return true
	case typeReject:
		n := rejectNonce(uint16(h.Code))
		_, err := hk.Open(nil, n[:], b[rejectSize:], b[:rejectSize])
		return err == nil
	}
	return false
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
