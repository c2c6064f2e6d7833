package kcp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net"
	"time"
)

// cookieBucket is the lifetime unit of a handshake cookie: a cookie minted
// in bucket b verifies in buckets b and b+1, so it lives 10–20 s.
const cookieBucket = 10 * time.Second

// cookieJar mints and verifies stateless handshake cookies: an HMAC over
// the client's address, its nonce, its mode and public key (so that the
// Connect must repeat the Hello's) and a time bucket. It holds no state
// besides the key, so a flood of Hellos costs the server nothing but CPU.
// Each event loop has its own, used under its lock: the keyed HMAC is
// made once and reset after each cookie (keying one costs two SHA-256
// blocks and five allocations, twice a handshake).
type cookieJar struct {
	secret []byte
	m      hash.Hash // HMAC-SHA256 keyed with secret; nil until the first cookie
}

func bucketOf(now time.Time) uint32 { return uint32(now.Unix() / int64(cookieBucket/time.Second)) }

func (j *cookieJar) mac(addr net.Addr, h *handshake, bucket uint32) [macSize]byte {
	if j.m == nil {
		j.m = hmac.New(sha256.New, j.secret)
	}
	m := j.m
	m.Reset()
	var hdr [1 + 4 + 8 + 1 + pubSize]byte
	hdr[0] = protocolVersion
	binary.BigEndian.PutUint32(hdr[1:], bucket)
	copy(hdr[5:], h.Nonce[:])
	hdr[13] = h.Mode
	copy(hdr[14:], h.Pub[:])
	m.Write(hdr[:])
	writeAddr(m, addr)
	var sum [sha256.Size]byte
	var out [macSize]byte
	copy(out[:], m.Sum(sum[:0]))
	return out
}

// writeAddr writes a canonical form of addr into a hash (whose Write
// never fails, hence the ignored results).
func writeAddr(w interface{ Write([]byte) (int, error) }, addr net.Addr) {
	if u, ok := addr.(*net.UDPAddr); ok {
		_, _ = w.Write(u.IP.To16())
		var p [2]byte
		binary.BigEndian.PutUint16(p[:], uint16(u.Port))
		_, _ = w.Write(p[:])
		return
	}
	_, _ = w.Write([]byte(addr.Network() + "|" + addr.String()))
}

// mint returns a cookie for the Hello h from addr at time now.
func (j *cookieJar) mint(now time.Time, addr net.Addr, h *handshake) (bucket uint32, mac [macSize]byte) {
	b := bucketOf(now)
	return b, j.mac(addr, h, b)
}

// verify checks the cookie echoed in the Connect h at time now.
func (j *cookieJar) verify(now time.Time, addr net.Addr, h *handshake) bool {
	cur := bucketOf(now)
	if h.Bucket != cur && h.Bucket+1 != cur {
		return false
	}
	want := j.mac(addr, h, h.Bucket)
	return hmac.Equal(want[:], h.MAC[:])
}
