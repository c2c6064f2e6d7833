package accounts_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/accounts/storetest"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/internal/pgtest"
)

func TestSQLiteStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() accounts.Store {
		path := filepath.Join(t.TempDir(), "accounts.db")
		return func() accounts.Store {
			ctx := context.Background()
			db, err := store.OpenSQLite(ctx, path)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			require.NoError(t, store.Migrate(ctx, db, accounts.Migrations()))
			return accounts.NewSQLiteStore(db)
		}
	})
}

func TestPostgresStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() accounts.Store {
		dsn := pgtest.DB(t)
		return func() accounts.Store { return accounts.NewPostgresStore(openPG(t, dsn)) }
	})
}

// openPG opens a pool on dsn, migrated, closed when t ends.
func openPG(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := store.OpenPostgres(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, store.MigratePostgres(ctx, pool, accounts.PostgresMigrations()))
	return pool
}

// The PostgreSQL store lets nodes follow each other's revocations and
// revoke a token once across them.
func TestPostgresSharedRevocations(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	a, b := accounts.NewPostgresStore(openPG(t, dsn)), accounts.NewPostgresStore(openPG(t, dsn))
	now := time.Now()
	tok := accounts.RevokedToken{TokenID: "t1", UserID: "u", ExpiresAt: now.Add(time.Hour).Truncate(time.Second).UTC()}

	list, since, err := b.RevokedSince(ctx, time.Time{}, now)
	require.NoError(t, err)
	assert.Empty(t, list)
	first, err := a.RevokeTokenOnce(ctx, tok)
	require.NoError(t, err)
	assert.True(t, first)
	first, err = b.RevokeTokenOnce(ctx, tok)
	require.NoError(t, err)
	assert.False(t, first, "already revoked by the other node")

	list, next, err := b.RevokedSince(ctx, since, now)
	require.NoError(t, err)
	assert.Equal(t, []accounts.RevokedToken{tok}, list)
	assert.False(t, next.Before(since))
	list, _, err = b.RevokedSince(ctx, next.Add(time.Second), now)
	require.NoError(t, err)
	assert.Empty(t, list, "nothing recorded after the last read")
	list, _, err = b.RevokedSince(ctx, time.Time{}, now.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Empty(t, list, "expired ones are not listed")
}
