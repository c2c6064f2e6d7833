package auth

import (
	"bytes"
	"encoding/base64"
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
