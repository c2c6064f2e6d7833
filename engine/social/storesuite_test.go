package social_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/social/storetest"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/internal/pgtest"
)

func TestSQLiteStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() storetest.Handle {
		path := filepath.Join(t.TempDir(), "social.db")
		return func() storetest.Handle {
			ctx := context.Background()
			db, err := store.OpenSQLite(ctx, path)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			require.NoError(t, store.Migrate(ctx, db, append(accounts.Migrations(), social.Migrations()...)))
			return storetest.Handle{Social: social.NewSQLiteStore(db), Users: accounts.NewSQLiteStore(db)}
		}
	})
}

func TestPostgresStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() storetest.Handle {
		dsn := pgtest.DB(t)
		return func() storetest.Handle {
			pool := openPG(t, dsn)
			return storetest.Handle{Social: social.NewPostgresStore(pool), Users: accounts.NewPostgresStore(pool)}
		}
	})
}

// openPG opens a pool on dsn, migrated for accounts and social, closed
// when t ends.
func openPG(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := store.OpenPostgres(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, store.MigratePostgres(ctx, pool, append(accounts.PostgresMigrations(), social.PostgresMigrations()...)))
	return pool
}
