// Package storetest is the one test suite every accounts.Store passes
// (SQLite and PostgreSQL alike): each store's package runs Run with a
// function that makes a fresh database.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/netcode"
)

// Fresh makes an empty, migrated database for t and returns open, which
// returns a new handle (its own connection or pool) on that database each
// time it is called. Handles are closed when t ends.
type Fresh func(t *testing.T) (open func() accounts.Store)

// Run runs the suite.
func Run(t *testing.T, fresh Fresh) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open func() accounts.Store)
	}{
		{"CreateAndLookup", createAndLookup},
		{"UsersByIDsMany", usersByIDsMany},
		{"RevokedTokensPersistAndPurge", revokedTokensPersistAndPurge},
		{"ConcurrentRegistrationsOfOneName", concurrentRegistrations},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func createAndLookup(t *testing.T, open func() accounts.Store) {
	ctx := ctxT(t)
	st := open()

	alice, err := st.CreateUser(ctx, "Alice", "", []byte("hash"))
	require.NoError(t, err)
	assert.Len(t, alice.ID, 32)
	assert.Equal(t, "Alice", alice.Username)
	assert.Equal(t, "Alice", alice.DisplayName, "empty display name defaults to the username")
	assert.WithinDuration(t, time.Now(), alice.CreatedAt, time.Minute)

	bob, err := st.CreateUser(ctx, "bob", "  Bobby Tables  ", nil)
	require.NoError(t, err)
	assert.Equal(t, "Bobby Tables", bob.DisplayName)
	assert.NotEqual(t, alice.ID, bob.ID)

	for _, name := range []string{"Alice", "alice", "ALICE", "ａｌｉｃｅ"} {
		got, err := st.UserByName(ctx, name)
		require.NoError(t, err, name)
		assert.Equal(t, alice, got, name)
	}
	got, err := st.UserByID(ctx, bob.ID)
	require.NoError(t, err)
	assert.Equal(t, bob, got)

	for _, name := range []string{"ALICE", "ａｌｉｃｅ", "alice"} {
		_, err = st.CreateUser(ctx, name, "", nil)
		require.ErrorIs(t, err, accounts.ErrUsernameTaken, name)
		assert.Equal(t, netcode.CodeUsernameTaken, netcode.CodeOf(err))
	}

	_, err = st.UserByID(ctx, "nope")
	require.ErrorIs(t, err, accounts.ErrUserNotFound)
	assert.Equal(t, netcode.CodeUserNotFound, netcode.CodeOf(err))
	_, err = st.UserByName(ctx, "carol")
	require.ErrorIs(t, err, accounts.ErrUserNotFound)
	_, err = st.UserByName(ctx, "x") // breaks the rules: simply not found
	require.ErrorIs(t, err, accounts.ErrUserNotFound)
	_, _, err = st.Credentials(ctx, "carol")
	require.ErrorIs(t, err, accounts.ErrUserNotFound)

	u, hash, err := st.Credentials(ctx, "ALICE")
	require.NoError(t, err)
	assert.Equal(t, alice, u)
	assert.Equal(t, []byte("hash"), hash)
	_, hash, err = st.Credentials(ctx, "bob")
	require.NoError(t, err)
	assert.Nil(t, hash, "no password")

	require.NoError(t, st.SetPasswordHash(ctx, bob.ID, []byte("h2")))
	_, hash, err = st.Credentials(ctx, "bob")
	require.NoError(t, err)
	assert.Equal(t, []byte("h2"), hash)
	require.ErrorIs(t, st.SetPasswordHash(ctx, "nope", []byte("x")), accounts.ErrUserNotFound)

	bob2, err := st.SetDisplayName(ctx, bob.ID, "Robert 🎲")
	require.NoError(t, err)
	assert.Equal(t, "Robert 🎲", bob2.DisplayName)
	_, err = st.SetDisplayName(ctx, bob.ID, "evil\u202Eeman")
	assert.Equal(t, netcode.CodeBadText, netcode.CodeOf(err))
	_, err = st.SetDisplayName(ctx, "nope", "x")
	require.ErrorIs(t, err, accounts.ErrUserNotFound)

	m, err := st.UsersByIDs(ctx, []string{alice.ID, "nope", bob.ID})
	require.NoError(t, err)
	require.Len(t, m, 2)
	assert.Equal(t, bob2, m[bob.ID])
	m, err = st.UsersByIDs(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, m)

	_, err = st.CreateUser(ctx, "no spaces", "", nil)
	assert.Equal(t, netcode.CodeBadUsername, netcode.CodeOf(err))

	// A second handle on the same database sees the same users.
	got, err = open().UserByName(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, alice, got)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// More ids than SQLite takes parameters in one statement.
func usersByIDsMany(t *testing.T, open func() accounts.Store) {
	ctx := ctxT(t)
	st := open()
	ids := make([]string, 0, 1200)
	u, err := st.CreateUser(ctx, "solo", "", nil)
	require.NoError(t, err)
	for range 1199 {
		ids = append(ids, randomID())
	}
	ids = append(ids, u.ID)
	m, err := st.UsersByIDs(ctx, ids)
	require.NoError(t, err)
	require.Len(t, m, 1)
	assert.Equal(t, u, m[u.ID])
}

func revokedTokensPersistAndPurge(t *testing.T, open func() accounts.Store) {
	ctx := ctxT(t)
	st := open()
	now := time.Unix(1_800_000_000, 0)
	require.NoError(t, st.RevokeToken(ctx, accounts.RevokedToken{TokenID: "a", UserID: "u", ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, st.RevokeToken(ctx, accounts.RevokedToken{TokenID: "a", UserID: "u", ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, st.RevokeToken(ctx, accounts.RevokedToken{TokenID: "b", UserID: "u", ExpiresAt: now.Add(-time.Second)}))

	st2 := open() // a second handle on the same database sees the rows
	got, err := st2.RevokedTokens(ctx, now)
	require.NoError(t, err)
	require.Equal(t, []accounts.RevokedToken{{TokenID: "a", UserID: "u", ExpiresAt: now.Add(time.Hour).UTC()}}, got)

	n, err := st2.PurgeRevokedTokens(ctx, now)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	n, err = st2.PurgeRevokedTokens(ctx, now.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	got, err = st.RevokedTokens(ctx, now)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// Two nodes registering the same name (in different cases) at once: one
// wins, every other gets ErrUsernameTaken, never a storage error.
func concurrentRegistrations(t *testing.T, open func() accounts.Store) {
	ctx := ctxT(t)
	stores := []accounts.Store{open(), open()}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = stores[i%2].CreateUser(ctx, []string{"Dana", "dana", "DANA", "ｄａｎａ"}[i%4], "", nil)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, accounts.ErrUsernameTaken)
	}
	assert.Equal(t, 1, won)
}
