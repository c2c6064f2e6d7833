package auth

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// parseClaims decodes claims in exactly the form Issue writes
// (json.Marshal of Claims: the fields in order, guest only when true,
// strings without escapes) in a few hundred nanoseconds; ok is false for
// anything else, which Verify then hands to encoding/json. It runs only
// on a body whose signature verified. FuzzParseClaims checks that
// whatever it accepts, encoding/json reads alike.
func parseClaims(b []byte) (c Claims, ok bool) {
	p := claimsParser{b: b}
	p.lit(`{"sub":`)
	c.UserID = p.str()
	p.lit(`,"name":`)
	c.Name = p.str()
	if bytes.HasPrefix(p.b, []byte(`,"guest":true`)) {
		p.b = p.b[len(`,"guest":true`):]
		c.Guest = true
	}
	p.lit(`,"jti":`)
	c.TokenID = p.str()
	p.lit(`,"iat":`)
	c.IssuedAt = p.int()
	p.lit(`,"exp":`)
	c.ExpiresAt = p.int()
	p.lit(`}`)
	if p.bad || len(p.b) != 0 {
		return Claims{}, false
	}
	return c, true
}

// claimsParser consumes its input; the first mismatch sets bad and every
// later step does nothing.
type claimsParser struct {
	b   []byte
	bad bool
}

func (p *claimsParser) lit(s string) {
	if p.bad || !bytes.HasPrefix(p.b, []byte(s)) {
		p.bad = true
		return
	}
	p.b = p.b[len(s):]
}

// str reads a JSON string without escapes or control characters, valid
// UTF-8.
func (p *claimsParser) str() string {
	if p.bad || len(p.b) == 0 || p.b[0] != '"' {
		p.bad = true
		return ""
	}
	end := bytes.IndexByte(p.b[1:], '"')
	if end < 0 {
		p.bad = true
		return ""
	}
	s := p.b[1 : 1+end]
	for _, ch := range s {
		if ch == '\\' || ch < 0x20 {
			p.bad = true
			return ""
		}
	}
	if !utf8.Valid(s) {
		p.bad = true
		return ""
	}
	p.b = p.b[2+end:]
	return string(s)
}

// int reads a JSON integer as json.Marshal writes an int64: an optional
// minus, then digits without a leading zero.
func (p *claimsParser) int() int64 {
	if p.bad {
		return 0
	}
	n := 0
	if n < len(p.b) && p.b[n] == '-' {
		n++
	}
	start := n
	for n < len(p.b) && p.b[n] >= '0' && p.b[n] <= '9' {
		n++
	}
	digits := p.b[start:n]
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') {
		p.bad = true
		return 0
	}
	v, err := strconv.ParseInt(string(p.b[:n]), 10, 64)
	if err != nil {
		p.bad = true
		return 0
	}
	p.b = p.b[n:]
	return v
}
