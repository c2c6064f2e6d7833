package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

var (
	testKey  = bytes.Repeat([]byte{7}, 32)
	otherKey = bytes.Repeat([]byte{8}, 32)
	epoch    = time.Unix(1_700_000_000, 0)
)

func signer(t testing.TB, key []byte) *Signer {
	t.Helper()
	s, err := NewSigner(key)
	require.NoError(t, err)
	return s
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	s := signer(t, testKey)
	tok, issued, err := s.Issue(Claims{UserID: "u_1", Name: "ada", Guest: true}, epoch, time.Hour)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(tok, prefix))
	assert.NotEmpty(t, issued.TokenID, "a token id is filled in")
	assert.Equal(t, epoch.Unix(), issued.IssuedAt)
	assert.Equal(t, epoch.Add(time.Hour).Unix(), issued.ExpiresAt)
	assert.Equal(t, epoch.Add(time.Hour), issued.Expiry())

	got, err := s.Verify(tok, epoch.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, issued, got)

	// A given token id is kept.
	_, c, err := s.Issue(Claims{UserID: "u_2", TokenID: "fixed"}, epoch, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "fixed", c.TokenID)
}

func TestVerifyExpiry(t *testing.T) {
	s := signer(t, testKey)
	tok, _, err := s.Issue(Claims{UserID: "u_1"}, epoch, time.Minute)
	require.NoError(t, err)

	_, err = s.Verify(tok, epoch.Add(time.Minute-time.Second))
	require.NoError(t, err, "valid until the last second")

	c, err := s.Verify(tok, epoch.Add(time.Minute))
	require.ErrorIs(t, err, ErrExpired, "expired at exp")
	assert.Equal(t, netcode.CodeTokenExpired, netcode.CodeOf(err))
	assert.Equal(t, "u_1", c.UserID, "the claims of an expired token are still returned")
}

func TestVerifyRejects(t *testing.T) {
	s := signer(t, testKey)
	tok, _, err := s.Issue(Claims{UserID: "u_1", Name: "ada"}, epoch, time.Hour)
	require.NoError(t, err)
	dot := strings.LastIndexByte(tok, '.')
	foreign, _, err := signer(t, otherKey).Issue(Claims{UserID: "u_1", Name: "ada"}, epoch, time.Hour)
	require.NoError(t, err)
	forged := prefix + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","exp":9999999999}`))
	noSub := prefix + base64.RawURLEncoding.EncodeToString([]byte(`{"name":"x","exp":9999999999}`))
	notJSON := prefix + base64.RawURLEncoding.EncodeToString([]byte(`not json`))
	signed := func(body string) string { return body + "." + base64.RawURLEncoding.EncodeToString(s.mac(body)) }

	cases := map[string]string{
		"empty":             "",
		"no prefix":         strings.TrimPrefix(tok, prefix),
		"wrong prefix":      "tw2." + strings.TrimPrefix(tok, prefix),
		"no signature":      tok[:dot],
		"empty signature":   tok[:dot+1],
		"bad base64 sig":    tok[:dot+1] + "!!!",
		"flipped signature": tok[:dot+1] + flip(tok[dot+1:]),
		"tampered claims":   prefix + flip(tok[len(prefix):dot]) + tok[dot:],
		"other key":         foreign,
		"forged unsigned":   forged + ".AAAA",
		"signed no sub":     signed(noSub),
		"signed not json":   signed(notJSON),
		"signed bad base64": signed(prefix + "###"),
		"only prefix":       prefix + ".",
		"too long":          tok + strings.Repeat("A", 4096),
		"long signature":    tok + "AAAA",
		"short signature":   tok[:len(tok)-4],
		"signature padded":  tok + "=",
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Verify(bad, epoch)
			require.ErrorIs(t, err, ErrBadToken)
			assert.Equal(t, netcode.CodeBadToken, netcode.CodeOf(err))
		})
	}
}

// flip changes the first character of a base64url string to another
// valid one.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestNewSignerKey(t *testing.T) {
	_, err := NewSigner(make([]byte, 31))
	require.ErrorIs(t, err, ErrKeyShort)

	key := append([]byte(nil), testKey...)
	s := signer(t, key)
	tok, _, err := s.Issue(Claims{UserID: "u"}, epoch, time.Hour)
	require.NoError(t, err)
	key[0] ^= 0xff // the signer keeps its own copy
	_, err = s.Verify(tok, epoch)
	require.NoError(t, err)

	assert.Len(t, RandomKey(), 32)
	assert.NotEqual(t, RandomKey(), RandomKey())
	assert.NotEqual(t, NewTokenID(), NewTokenID())
	assert.Len(t, NewTokenID(), 24)
}

// FuzzVerify feeds arbitrary tokens to Verify: it never panics, accepts
// only tokens whose signed part is one the signer issued, and what it
// accepts re-issues to a token that verifies to the same claims.
func FuzzVerify(f *testing.F) {
	s := signer(f, testKey)
	issued := map[string]bool{}
	// Fixed token ids: every fuzz worker must rebuild the same seeds.
	for _, c := range []Claims{
		{UserID: "u_1", Name: "ada", TokenID: "t1"},
		{UserID: "g_2", Name: "guest", Guest: true, TokenID: "t2"},
		{UserID: "u_3", Name: strings.Repeat("ü", 40), TokenID: "t3"},
	} {
		tok, _, err := s.Issue(c, epoch, time.Hour)
		require.NoError(f, err)
		issued[tok[:strings.LastIndexByte(tok, '.')]] = true
		f.Add(tok)
	}
	f.Add("")
	f.Add(prefix + ".")
	f.Add(prefix + "e30.AAAA")

	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok, epoch)
		if err != nil {
			code := netcode.CodeOf(err)
			require.True(t, code == netcode.CodeBadToken || code == netcode.CodeTokenExpired, "code %v", code)
			return
		}
		require.True(t, issued[tok[:strings.LastIndexByte(tok, '.')]], "accepted a token the signer never issued: %q", tok)
		again, _, err := s.Issue(c, time.Unix(c.IssuedAt, 0), time.Unix(c.ExpiresAt, 0).Sub(time.Unix(c.IssuedAt, 0)))
		require.NoError(t, err)
		c2, err := s.Verify(again, epoch)
		require.NoError(t, err)
		require.Equal(t, c, c2)
	})
}

// TestParseClaimsFastPath: the claims Issue writes take the fast path,
// with every field as encoding/json reads them; other forms (another
// order, escapes, spaces) are left to encoding/json, and Verify accepts
// both alike.
func TestParseClaimsFastPath(t *testing.T) {
	s := signer(t, testKey)
	for name, c := range map[string]Claims{
		"user":      {UserID: "u_1", Name: "ada", TokenID: "t1"},
		"guest":     {UserID: "g_1", Name: "storm12", Guest: true},
		"unicode":   {UserID: "u_2", Name: "Zoë 🎮"},
		"no name":   {UserID: "u_3"},
		"escaped":   {UserID: "u_4", Name: `a "quoted" <name>`},
		"negative":  {UserID: "u_5", IssuedAt: -5},
		"old epoch": {UserID: "u_6"},
	} {
		t.Run(name, func(t *testing.T) {
			at := epoch
			if name == "old epoch" {
				at = time.Unix(0, 0)
			}
			tok, issued, err := s.Issue(c, at, time.Hour)
			require.NoError(t, err)
			dot := strings.LastIndexByte(tok, '.')
			body, err := base64.RawURLEncoding.DecodeString(tok[len(prefix):dot])
			require.NoError(t, err)
			fast, ok := parseClaims(body)
			if name == "escaped" {
				assert.False(t, ok, "escapes go to encoding/json")
			} else {
				require.True(t, ok, "%s", body)
				assert.Equal(t, issued, fast)
			}
			got, err := s.Verify(tok, at)
			require.NoError(t, err)
			assert.Equal(t, issued, got)
		})
	}
	for _, body := range []string{
		`{"name":"ada","sub":"u_1","jti":"","iat":1,"exp":2}`,
		`{"sub": "u_1","name":"ada","jti":"","iat":1,"exp":2}`,
		`{"sub":"u_1","name":"ada","guest":false,"jti":"","iat":1,"exp":2}`,
		`{"sub":"u_1","name":"ada","jti":"","iat":01,"exp":2}`,
		`{"sub":"u_1","name":"ada","jti":"","iat":1,"exp":2} `,
		`{"sub":"u_1","name":"a\u0064a","jti":"","iat":1,"exp":2}`,
		`{"sub":"u_1","name":"ada","jti":"","iat":1.5,"exp":2}`,
		`{"sub":"u_1","name":"ada","jti":"","iat":99999999999999999999,"exp":2}`,
	} {
		_, ok := parseClaims([]byte(body))
		assert.False(t, ok, body)
	}
}

// FuzzParseClaims: whatever the fast path accepts, encoding/json reads
// alike (and the fast path never panics).
func FuzzParseClaims(f *testing.F) {
	s := signer(f, testKey)
	for _, c := range []Claims{{UserID: "u_1", Name: "ada", TokenID: "t"}, {UserID: "g", Guest: true, IssuedAt: -1}} {
		tok, _, err := s.Issue(c, epoch, time.Hour)
		require.NoError(f, err)
		dot := strings.LastIndexByte(tok, '.')
		body, err := base64.RawURLEncoding.DecodeString(tok[len(prefix):dot])
		require.NoError(f, err)
		f.Add(body)
	}
	f.Add([]byte(`{"sub":"u","name":"\xff","jti":"","iat":1,"exp":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseClaims(b)
		if !ok {
			return
		}
		var std Claims
		require.NoError(t, json.Unmarshal(b, &std), "%q", b)
		assert.Equal(t, std, fast, "%q", b)
	})
}
