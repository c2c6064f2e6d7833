// Package auth issues and verifies tickwire's bearer tokens: short-lived,
// HMAC-SHA256-signed claims that the HTTP API hands out and the realtime
// Hello presents. A Signer is immutable after New and safe for concurrent
// use.
//
// Token format: "tw1." + base64url(JSON claims) + "." + base64url(HMAC-SHA256
// over everything before the second dot). Claims: sub (user id), name, guest,
// jti (token id, for revocation), iat and exp (Unix seconds).
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

const prefix = "tw1."

// Errors returned by Verify; both are coded so the engine can answer with
// their codes.
var (
	ErrBadToken = &netcode.CodedError{Code: netcode.CodeBadToken, Msg: "invalid token"}
	ErrExpired  = &netcode.CodedError{Code: netcode.CodeTokenExpired, Msg: "token expired"}
	ErrKeyShort = errors.New("auth: signing key shorter than 32 bytes")
)

// Claims is what a token says.
type Claims struct {
	UserID    string `json:"sub"`
	Name      string `json:"name"`
	Guest     bool   `json:"guest,omitempty"`
	TokenID   string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// Expiry is the claims' expiry as a time.
func (c Claims) Expiry() time.Time { return time.Unix(c.ExpiresAt, 0) }

// Signer issues and verifies tokens with one secret key.
type Signer struct {
	key  []byte
	macs sync.Pool // of hash.Hash: HMAC-SHA256 keyed with key, reset
}

// NewSigner returns a Signer for key (at least 32 bytes).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, ErrKeyShort
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// RandomKey returns 32 fresh random bytes, for servers that were given no
// key (tokens then die with the process).
func RandomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails on supported platforms
	return k
}

// NewTokenID returns a random token id.
func NewTokenID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Issue signs claims valid from now for ttl. It fills TokenID if empty and
// returns the token and the claims as signed.
func (s *Signer) Issue(c Claims, now time.Time, ttl time.Duration) (string, Claims, error) {
	if c.TokenID == "" {
		c.TokenID = NewTokenID()
	}
	c.IssuedAt = now.Unix()
	c.ExpiresAt = now.Add(ttl).Unix()
	body, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, err
	}
	signed := prefix + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(signed)), c, nil
}

func (s *Signer) mac(signed string) []byte {
	var sum [sha256.Size]byte
	return append([]byte(nil), s.macInto(&sum, signed)...)
}

// macInto computes the signature of signed into sum, with a keyed HMAC
// from the Signer's pool (keying one costs two SHA-256 blocks and five
// allocations; every realtime Hello verifies a token).
func (s *Signer) macInto(sum *[sha256.Size]byte, signed string) []byte {
	m, _ := s.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.key)
	}
	_, _ = io.WriteString(m, signed) // a hash never fails to write
	out := m.Sum(sum[:0])
	m.Reset()
	s.macs.Put(m)
	return out
}

// Verify checks the signature and expiry of token at now.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > 4096 || !strings.HasPrefix(token, prefix) {
		return Claims{}, ErrBadToken
	}
	dot := strings.LastIndexByte(token, '.')
	if dot <= len(prefix) {
		return Claims{}, ErrBadToken
	}
	var sig, sum [sha256.Size]byte
	enc := token[dot+1:]
	if len(enc) != base64.RawURLEncoding.EncodedLen(len(sig)) { // checked first: Decode must not overrun sig
		return Claims{}, ErrBadToken
	}
	if n, err := base64.RawURLEncoding.Decode(sig[:], []byte(enc)); err != nil || n != len(sig) ||
		!hmac.Equal(sig[:], s.macInto(&sum, token[:dot])) {
		return Claims{}, ErrBadToken
	}
	body, err := base64.RawURLEncoding.DecodeString(token[len(prefix):dot])
	if err != nil {
		return Claims{}, ErrBadToken
	}
	c, ok := parseClaims(body)
	if !ok { // not the form Issue writes: the general decoder
		c = Claims{}
		if err := json.Unmarshal(body, &c); err != nil {
			return Claims{}, ErrBadToken
		}
	}
	if c.UserID == "" {
		return Claims{}, ErrBadToken
	}
	if now.Unix() >= c.ExpiresAt {
		return c, ErrExpired
	}
	return c, nil
}
