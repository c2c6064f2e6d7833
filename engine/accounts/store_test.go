package accounts

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/netcode"
)

// openDB opens a migrated SQLite file at path.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, path)
	require.NoError(t, err)
	require.NoError(t, store.Migrate(ctx, db, Migrations()))
	return db
}

func newTestStore(t testing.TB) (Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "accounts.db")
	db := openDB(t, path)
	t.Cleanup(func() { db.Close() })
	return NewSQLiteStore(db), path
}

func TestStoreCreateAndLookup(t *testing.T) {
	ctx := context.Background()
	st, _ := newTestStore(t)

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
		require.ErrorIs(t, err, ErrUsernameTaken, name)
		assert.Equal(t, netcode.CodeUsernameTaken, netcode.CodeOf(err))
	}

	_, err = st.UserByID(ctx, "nope")
	require.ErrorIs(t, err, ErrUserNotFound)
	assert.Equal(t, netcode.CodeUserNotFound, netcode.CodeOf(err))
	_, err = st.UserByName(ctx, "carol")
	require.ErrorIs(t, err, ErrUserNotFound)
	_, err = st.UserByName(ctx, "x") // breaks the rules: simply not found
	require.ErrorIs(t, err, ErrUserNotFound)

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
	require.ErrorIs(t, st.SetPasswordHash(ctx, "nope", []byte("x")), ErrUserNotFound)

	bob2, err := st.SetDisplayName(ctx, bob.ID, "Robert 🎲")
	require.NoError(t, err)
	assert.Equal(t, "Robert 🎲", bob2.DisplayName)
	_, err = st.SetDisplayName(ctx, bob.ID, "evil\u202Eeman")
	assert.Equal(t, netcode.CodeBadText, netcode.CodeOf(err))

	m, err := st.UsersByIDs(ctx, []string{alice.ID, "nope", bob.ID})
	require.NoError(t, err)
	require.Len(t, m, 2)
	assert.Equal(t, bob2, m[bob.ID])
	m, err = st.UsersByIDs(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, m)

	_, err = st.CreateUser(ctx, "no spaces", "", nil)
	assert.Equal(t, netcode.CodeBadUsername, netcode.CodeOf(err))
}

func TestStoreUsersByIDsManyChunks(t *testing.T) {
	ctx := context.Background()
	st, _ := newTestStore(t)
	ids := make([]string, 0, 1200)
	u, err := st.CreateUser(ctx, "solo", "", nil)
	require.NoError(t, err)
	for range 1199 {
		ids = append(ids, newUserID())
	}
	ids = append(ids, u.ID)
	m, err := st.UsersByIDs(ctx, ids)
	require.NoError(t, err)
	require.Len(t, m, 1)
	assert.Equal(t, u, m[u.ID])
}

func TestStoreRevokedTokensPersistAndPurge(t *testing.T) {
	ctx := context.Background()
	st, path := newTestStore(t)
	now := time.Unix(1_800_000_000, 0)
	require.NoError(t, st.RevokeToken(ctx, RevokedToken{TokenID: "a", UserID: "u", ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, st.RevokeToken(ctx, RevokedToken{TokenID: "a", UserID: "u", ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, st.RevokeToken(ctx, RevokedToken{TokenID: "b", UserID: "u", ExpiresAt: now.Add(-time.Second)}))

	db2 := openDB(t, path) // a second handle on the same file sees the rows
	defer db2.Close()
	st2 := NewSQLiteStore(db2)
	got, err := st2.RevokedTokens(ctx, now)
	require.NoError(t, err)
	require.Equal(t, []RevokedToken{{TokenID: "a", UserID: "u", ExpiresAt: now.Add(time.Hour).UTC()}}, got)

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
