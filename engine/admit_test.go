package engine

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/netcode"
)

func TestVerifyTokenAsHelloDoes(t *testing.T) {
	revoked := errors.New("revoked")
	e, err := New(Config{TokenCheck: func(_ context.Context, c auth.Claims) error {
		if c.UserID == "gone" {
			return netcode.Errorf(netcode.CodeTokenRevoked, "logged out")
		}
		if c.UserID == "plain" {
			return revoked
		}
		return nil
	}})
	require.NoError(t, err)
	issue := func(user string, ttl time.Duration) string {
		tok, _, err := e.Signer().Issue(auth.Claims{UserID: user}, time.Now(), ttl)
		require.NoError(t, err)
		return tok
	}
	ctx := context.Background()
	require.NoError(t, e.VerifyToken(ctx, issue("ok", time.Hour)))
	assert.Equal(t, netcode.CodeBadToken, netcode.CodeOf(e.VerifyToken(ctx, "garbage")))
	assert.Equal(t, netcode.CodeTokenExpired, netcode.CodeOf(e.VerifyToken(ctx, issue("ok", -time.Minute))))
	assert.Equal(t, netcode.CodeTokenRevoked, netcode.CodeOf(e.VerifyToken(ctx, issue("gone", time.Hour))))
	assert.Equal(t, netcode.CodeInternal, netcode.CodeOf(e.VerifyToken(ctx, issue("plain", time.Hour))), "a failed check (the store is down) is internal, as in Hello")
}

func TestAdmitFollowsTheSessionCaps(t *testing.T) {
	e, err := New(Config{MaxSessionsPerIP: 1, MaxSessions: 2})
	require.NoError(t, err)
	a := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}
	b := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 1}
	require.NoError(t, e.Admit(a))
	e.mu.Lock()
	e.perIP[netipOf(t, a)] = 1
	e.sessions[1] = nil
	e.mu.Unlock()
	assert.Equal(t, netcode.CodeTooManySessions, netcode.CodeOf(e.Admit(a)), "per address")
	require.NoError(t, e.Admit(b))
	e.mu.Lock()
	e.sessions[2] = nil
	e.mu.Unlock()
	assert.Equal(t, netcode.CodeTooManySessions, netcode.CodeOf(e.Admit(b)), "global")
	e.mu.Lock()
	e.sessions = map[uint64]*session{}
	e.perIP = nil
	e.closed = true
	e.mu.Unlock()
	assert.Equal(t, netcode.CodeServerShutdown, netcode.CodeOf(e.Admit(b)))
}

func netipOf(t *testing.T, a net.Addr) netip.Addr {
	k, ok := ipKey(a)
	require.True(t, ok)
	return k
}
