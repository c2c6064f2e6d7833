package kcp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// Authenticated encryption of session datagrams (issue 12; docs/KCP.md,
// "Encryption", and PROTOCOL.md §2.1 have the wire format).
//
// The handshake agrees a per-session secret without sending it: the
// client's ephemeral X25519 key (in Hello and Connect) and the server's
// static X25519 key (pinned by the client, or learned from the Cookie)
// give a shared secret that only the two ends can compute; the server
// computes it only after the Connect's cookie verified, so a spoofed
// source costs no Diffie-Hellman. HKDF-SHA256 turns it into
//
//	prk      = HKDF-Extract(salt = "tickwire/kcp/v2" ‖ nonce ‖ client pub ‖ server pub, ikm = shared)
//	hs key   = HKDF-Expand(prk, "tickwire/kcp/v2 handshake", 32)      seals Accept and Reject
//	key(d,g) = HKDF-Expand(prk, "tickwire/kcp/v2 " ‖ d ‖ g:u32, 32)  d = "c2s" | "s2c"
//
// Every session datagram is sealed with AES-256-GCM under key(direction,
// pn >> rekeyShift): the 13-byte clear header (type, token, pn) is the
// additional data, the nonce is 8 zero bytes and the pn (big-endian), the
// 16-byte tag follows the ciphertext. A key seals at most 2^rekeyShift
// datagrams (2^23 by default, QUIC's confidentiality limit for AES-GCM);
// the sender derives the next generation's key half a generation ahead,
// so a rotation costs nothing on the datagram that crosses it, and a
// handshake derives only the keys of generation 0. pn never wraps: a session
// closes before its last packet number (pnCloseAt).

const (
	// protocolVersion 2 is the sealed protocol (version 1 was plaintext
	// with a 30-byte Connect).
	tagSize  = 16
	keySize  = 32
	pubSize  = 32
	saltName = "tickwire/kcp/v2"

	// defaultRekeyShift: a key seals 2^23 datagrams (about 10 GB at 1200
	// bytes), QUIC's confidentiality limit for AES-GCM (RFC 9001, 6.6).
	defaultRekeyShift = 23

	// pnCloseAt: a sealed session closes (CodeInternal, "packet numbers
	// exhausted") once it has sent this many datagrams; the last 2^20 packet
	// numbers are never used by data, so its Close datagrams still fit.
	pnCloseAt = 1<<32 - 1<<20
	// pnLast is the last packet number a session ever seals.
	pnLast = 1<<32 - 2

	// replayWindow is how far behind the newest packet number a datagram
	// may arrive and still be accepted (once).
	replayWindow = 1024
)

// Handshake modes, in Hello and Connect.
const (
	modeSealed    = 0x00
	modePlaintext = 0x01
)

// newAEAD returns AES-256-GCM keyed with key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// handshakeSecret derives the session's pseudorandom key from the shared
// secret and what both ends saw in the handshake.
func handshakeSecret(shared []byte, nonce [8]byte, clientPub, serverPub []byte) ([]byte, error) {
	var buf [len(saltName) + 8 + 2*pubSize]byte
	salt := append(buf[:0], saltName...)
	salt = append(salt, nonce[:]...)
	salt = append(salt, clientPub...)
	salt = append(salt, serverPub...)
	return hkdf.Extract(sha256.New, shared, salt)
}

// expander derives keys from one session's prk: HKDF-Expand to 32 bytes,
// which is one HMAC (RFC 5869: T(1) = HMAC(prk, info ‖ 0x01)), with the
// HMAC keyed once for every key the handshake needs.
type expander struct{ mac hash.Hash }

func newExpander(prk []byte) expander { return expander{mac: hmac.New(sha256.New, prk)} }

// key returns AES-256-GCM keyed with HKDF-Expand(prk, info, 32).
func (x expander) key(info []byte) (cipher.AEAD, error) {
	x.mac.Reset()
	_, _ = x.mac.Write(append(info, 1)) // a hash never fails to write
	var k [sha256.Size]byte
	return newAEAD(x.mac.Sum(k[:0]))
}

// Directions of session keys.
const (
	dirC2S = "c2s"
	dirS2C = "s2c"
)

func (x expander) sessionKey(dir string, gen uint32) (cipher.AEAD, error) {
	info := make([]byte, 0, len(saltName)+1+len(dir)+4+1)
	info = append(append(append(info, saltName...), ' '), dir...)
	return x.key(binary.BigEndian.AppendUint32(info, gen))
}

func (x expander) handshakeKey() (cipher.AEAD, error) {
	return x.key(append(make([]byte, 0, len(saltName)+len(" handshake")+1), saltName+" handshake"...))
}

// Nonces of the handshake key: the Accept uses acceptNonce; a Reject the
// nonce of its code, so that one nonce never seals two plaintexts.
func acceptNonce() [12]byte { return [12]byte{} }

func rejectNonce(code uint16) [12]byte {
	n := [12]byte{0: 1}
	binary.BigEndian.PutUint16(n[10:], code)
	return n
}

// agree runs the client's or the server's side of the key agreement and
// returns the session's keys: priv is our X25519 key, peer the other
// side's public key; the client's public key comes first in the salt.
func agree(priv *ecdh.PrivateKey, peer []byte, nonce [8]byte, client bool, shift uint8) (*sessionCrypto, cipher.AEAD, error) {
	pk, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, nil, fmt.Errorf("kcp: peer key: %w", err)
	}
	shared, err := priv.ECDH(pk) // refuses a low-order point (an all-zero secret)
	if err != nil {
		return nil, nil, fmt.Errorf("kcp: key agreement: %w", err)
	}
	own := priv.PublicKey().Bytes()
	cpub, spub := own, peer
	if !client {
		cpub, spub = peer, own
	}
	prk, err := handshakeSecret(shared, nonce, cpub, spub)
	if err != nil {
		return nil, nil, err
	}
	x := newExpander(prk)
	hk, err := x.handshakeKey()
	if err != nil {
		return nil, nil, err
	}
	sc, err := newSessionCryptoFrom(x, prk, client, shift)
	if err != nil {
		return nil, nil, err
	}
	return sc, hk, nil
}

// sessionCrypto is one session's keys and replay window. It belongs to
// the session's Conn and is guarded by its endpoint's lmu.
type sessionCrypto struct {
	prk    []byte
	shift  uint8
	txDir  string
	rxDir  string
	tx     keyRing
	rx     keyRing
	txNon  [12]byte
	rxNon  [12]byte
	replay replay
}

// keyRing holds one direction's keys around its current generation:
// prev (for datagrams of the last generation still arriving), cur, and
// next, derived only when needed: by the sender once its packet numbers
// reach the second half of a generation (so the datagram that crosses
// pays no HKDF), by the receiver when a datagram of the next generation
// arrives (once per generation: it is kept, whether that datagram
// authenticates or not). A handshake derives only the current keys.
type keyRing struct {
	gen             uint32
	prev, cur, next cipher.AEAD
}

func newSessionCrypto(prk []byte, client bool, shift uint8) (*sessionCrypto, error) {
	return newSessionCryptoFrom(newExpander(prk), prk, client, shift)
}

func newSessionCryptoFrom(x expander, prk []byte, client bool, shift uint8) (*sessionCrypto, error) {
	if shift == 0 {
		shift = defaultRekeyShift
	}
	s := &sessionCrypto{prk: prk, shift: shift, txDir: dirS2C, rxDir: dirC2S}
	if client {
		s.txDir, s.rxDir = dirC2S, dirS2C
	}
	var err error
	if s.tx.cur, err = x.sessionKey(s.txDir, 0); err != nil {
		return nil, err
	}
	if s.rx.cur, err = x.sessionKey(s.rxDir, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// deriveNext derives r's next generation's key if it is not yet.
func (s *sessionCrypto) deriveNext(r *keyRing, dir string) error {
	if r.next != nil {
		return nil
	}
	next, err := newExpander(s.prk).sessionKey(dir, r.gen+1)
	if err != nil {
		return err
	}
	r.next = next
	return nil
}

// advance moves r one generation forward.
func (s *sessionCrypto) advance(r *keyRing, dir string) error {
	if err := s.deriveNext(r, dir); err != nil {
		return err
	}
	r.prev, r.cur, r.next = r.cur, r.next, nil
	r.gen++
	return nil
}

// seal encrypts b in place (b: the clear session header, then the
// payload; its capacity has room for the tag) under packet number pn and
// returns it with the tag appended.
func (s *sessionCrypto) seal(pn uint32, b []byte) []byte {
	if g := pn >> s.shift; g != s.tx.gen {
		// pn only grows, so g is tx.gen+1 (a generation holds 2^shift
		// packet numbers). HKDF and AES never fail on these sizes.
		for s.tx.gen < g {
			if err := s.advance(&s.tx, s.txDir); err != nil {
				panic(err) // unreachable: fixed-size key material
			}
		}
	} else if s.tx.next == nil && pn>>(s.shift-1)&1 == 1 {
		// The second half of a generation: the next key is derived now,
		// so that the datagram that crosses into it pays nothing.
		if err := s.deriveNext(&s.tx, s.txDir); err != nil {
			panic(err) // unreachable: fixed-size key material
		}
	}
	binary.BigEndian.PutUint32(s.txNon[8:], pn)
	hdr, p := b[:sessionHeaderSize], b[sessionHeaderSize:]
	out := s.tx.cur.Seal(p[:0], s.txNon[:], p, hdr)
	return b[:sessionHeaderSize+len(out)]
}

// open checks that pn is not a replay, decrypts b (header, ciphertext,
// tag) in place and returns the payload. ok is false for a datagram that
// fails authentication; replayed is true for one whose pn was already
// accepted or is too old. Neither changes any state.
func (s *sessionCrypto) open(pn uint32, b []byte) (payload []byte, ok, replayed bool) {
	if !s.replay.fresh(pn) {
		return nil, false, true
	}
	if len(b) < sessionHeaderSize+tagSize {
		return nil, false, false
	}
	var key cipher.AEAD
	switch g := pn >> s.shift; {
	case g == s.rx.gen:
		key = s.rx.cur
	case g == s.rx.gen+1:
		// Derived once per generation, kept whatever this datagram
		// turns out to be: a forger cannot make it derive twice.
		if s.deriveNext(&s.rx, s.rxDir) == nil {
			key = s.rx.next
		}
	case g+1 == s.rx.gen:
		key = s.rx.prev
	}
	if key == nil {
		return nil, false, false
	}
	binary.BigEndian.PutUint32(s.rxNon[8:], pn)
	hdr, c := b[:sessionHeaderSize], b[sessionHeaderSize:]
	p, err := key.Open(c[:0], s.rxNon[:], c, hdr)
	if err != nil {
		return nil, false, false
	}
	if g := pn >> s.shift; g == s.rx.gen+1 {
		// The peer has moved on: so do we (the key of the generation
		// after is derived when its first datagram arrives).
		if err := s.advance(&s.rx, s.rxDir); err != nil {
			return nil, false, false
		}
	}
	return p, true, false
}

// accept records pn as received (after it authenticated); newest says it
// is the highest packet number heard so far.
func (s *sessionCrypto) accept(pn uint32) (newest bool) { return s.replay.mark(pn) }

// replay is a sliding window over packet numbers (RFC 6479, as in
// WireGuard): the newest heard and a bitmap of the replayWindow before
// it. Packet numbers are kept plus one, so that 0 means none heard.
type replay struct {
	top  uint64 // newest pn heard, plus one
	bits [replayWindow / 64]uint64
}

// fresh reports whether pn may be accepted: newer than the window's
// start and not heard yet.
func (r *replay) fresh(pn uint32) bool {
	n := uint64(pn) + 1
	if n > r.top {
		return true
	}
	if r.top-n >= replayWindow {
		return false
	}
	i := n % replayWindow
	return r.bits[i/64]&(1<<(i%64)) == 0
}

// mark records pn (fresh must have said yes) and reports whether it is
// the newest.
func (r *replay) mark(pn uint32) bool {
	n := uint64(pn) + 1
	newest := n > r.top
	if newest {
		// Clear the slots the window slides over.
		if n-r.top >= replayWindow {
			clear(r.bits[:])
		} else {
			for k := r.top + 1; k < n; k++ {
				i := k % replayWindow
				r.bits[i/64] &^= 1 << (i % 64)
			}
		}
		r.top = n
	}
	i := n % replayWindow
	r.bits[i/64] |= 1 << (i % 64)
	return newest
}
