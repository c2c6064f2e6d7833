package social_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
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

// The delivery and history queries have indexes to search on PostgreSQL
// too: with sequential scans priced out, the planner finds an index for
// each (on an empty table it would rightly scan).
func TestPostgresMessageQueriesHaveIndexes(t *testing.T) {
	ctx := context.Background()
	pool := openPG(t, pgtest.DB(t))
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
	require.NoError(t, err)
	defer conn.Exec(ctx, `RESET enable_seqscan`) //nolint:errcheck // the pool is closed after the test
	for name, c := range map[string]struct{ q, index string }{
		"inbox direct":  {`SELECT id FROM social_messages WHERE to_id = 'x' AND id > 5 ORDER BY id LIMIT 50`, "social_messages_to"},
		"inbox group":   {`SELECT m.id FROM social_members g JOIN social_messages m ON m.group_id = g.group_id AND m.id > GREATEST(5, g.after_id) WHERE g.user_id = 'x' AND m.from_id <> 'x'`, "social_messages_group"},
		"history group": {`SELECT id FROM social_messages WHERE group_id = 3 AND id < 100 ORDER BY id DESC LIMIT 5`, "social_messages_group"},
		"history dm":    {`SELECT id FROM social_messages WHERE conv = 'd:a:b' AND id < 100 ORDER BY id DESC LIMIT 5`, "social_messages_conv"},
		"cursor":        {`SELECT acked_id FROM social_cursors WHERE user_id = 'x'`, "social_cursors_pkey"},
	} {
		rows, err := conn.Query(ctx, "EXPLAIN "+c.q)
		require.NoError(t, err, name)
		var plan []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			plan = append(plan, line)
		}
		require.NoError(t, rows.Err())
		joined := strings.Join(plan, "\n")
		assert.NotContains(t, joined, "Seq Scan", name)
		assert.Contains(t, joined, c.index, name)
	}
}
