package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func openPG(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := OpenPostgres(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// Nodes starting together migrate the shared database once: the
// advisory lock makes the second wait and find the versions recorded.
// Without it, both would create the table (one fails) or both would
// insert the row.
func TestMigratePostgresConcurrentNodes(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	migs := []Migration{
		{Domain: "a", Version: 1, SQL: `CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x')`},
		{Domain: "a", Version: 2, SQL: `ALTER TABLE t ADD COLUMN w TEXT`},
	}
	const nodes = 4
	pools := make([]*pgxpool.Pool, nodes)
	for i := range pools {
		pools[i] = openPG(t, dsn)
	}
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { errs[i] = MigratePostgres(ctx, pools[i], migs) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var rows, recorded int
	require.NoError(t, pools[0].QueryRow(ctx, `SELECT COUNT(*) FROM t`).Scan(&rows))
	require.NoError(t, pools[0].QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&recorded))
	assert.Equal(t, 1, rows, "version 1 ran once")
	assert.Equal(t, 2, recorded)

	// A later release adds version 3; a failing version 4 leaves nothing
	// of itself or of 3 (one transaction).
	bad := append(migs, Migration{Domain: "a", Version: 3, SQL: `ALTER TABLE t ADD COLUMN z TEXT`},
		Migration{Domain: "a", Version: 4, SQL: `ALTER TABLE nope ADD COLUMN z TEXT`})
	require.Error(t, MigratePostgres(ctx, pools[1], bad))
	require.NoError(t, pools[0].QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&recorded))
	assert.Equal(t, 2, recorded)
	require.NoError(t, MigratePostgres(ctx, pools[1], bad[:3]))
	_, err := pools[0].Exec(ctx, `UPDATE t SET z = 'ok'`)
	require.NoError(t, err)

	err = MigratePostgres(ctx, pools[0], []Migration{{Domain: "b", Version: 2, SQL: `SELECT 1`}})
	require.ErrorIs(t, err, ErrMigrationOrder)
}

func TestOpenPostgresRefusesOtherDSNs(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"", "file:x.db", "mysql://x", "postgres://%zz"} {
		_, err := OpenPostgres(ctx, dsn)
		require.ErrorIs(t, err, ErrBadDSN, dsn)
	}
	_, err := OpenPostgres(ctx, "postgres://u:secret@/db?host=/nonexistent&connect_timeout=1")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
}

func migratedCore(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	dsn := pgtest.DB(t)
	pool := openPG(t, dsn)
	require.NoError(t, MigratePostgres(context.Background(), pool, PostgresCoreMigrations()))
	return dsn, pool
}

// Two nodes' limiters on one database share each key's budget; the
// window is aligned to the epoch, refusals say how long until it ends,
// and the next window starts afresh.
func TestPostgresLimiterSharedAcrossNodes(t *testing.T) {
	ctx := context.Background()
	dsn, pool := migratedCore(t)
	nodes := []*PostgresLimiter{NewPostgresLimiter(pool), NewPostgresLimiter(openPG(t, dsn))}
	base := time.UnixMilli(1_800_000_000_000) // a multiple of the minute
	for i := range 3 {
		wait, err := nodes[i%2].Take(ctx, "login-user:ann", 3, time.Minute, base.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		require.Zero(t, wait, "take %d", i)
	}
	wait, err := nodes[1].Take(ctx, "login-user:ann", 3, time.Minute, base.Add(10*time.Second))
	require.NoError(t, err)
	assert.Equal(t, 50*time.Second, wait, "refused until the window ends")
	wait, err = nodes[0].Take(ctx, "login-user:bob", 3, time.Minute, base.Add(10*time.Second))
	require.NoError(t, err)
	assert.Zero(t, wait, "keys are separate")
	wait, err = nodes[0].Take(ctx, "login-user:ann", 3, time.Minute, base.Add(time.Minute))
	require.NoError(t, err)
	assert.Zero(t, wait, "a new window")

	// Concurrent takes from both nodes: exactly the budget passes.
	var wg sync.WaitGroup
	var passed atomic.Int32
	for i := range 20 {
		wg.Go(func() {
			w, err := nodes[i%2].Take(ctx, "guest-ip:10.0.0.1", 7, time.Minute, base.Add(2*time.Minute))
			assert.NoError(t, err)
			if err == nil && w == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(7), passed.Load())

	// Ended windows are purged by a later take.
	_, err = nodes[0].Take(ctx, "other", 1, time.Minute, base.Add(time.Hour))
	require.NoError(t, err)
	var rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT COUNT(*) FROM limit_counters`).Scan(&rows))
	assert.Equal(t, 1, rows)
}

// Nodes starting together agree on one signing key.
func TestPostgresKeyOneWinner(t *testing.T) {
	ctx := context.Background()
	dsn, _ := migratedCore(t)
	const nodes = 4
	got := make([][]byte, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		pool := openPG(t, dsn)
		wg.Go(func() {
			var err error
			got[i], err = PostgresKey(ctx, pool, "token", []byte{byte(i + 1), 2, 3})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	for i := range nodes {
		assert.Equal(t, got[0], got[i])
	}
	assert.Contains(t, [][]byte{{1, 2, 3}, {2, 2, 3}, {3, 2, 3}, {4, 2, 3}}, got[0])
	again, err := PostgresKey(ctx, openPG(t, dsn), "token", []byte{9})
	require.NoError(t, err)
	assert.Equal(t, got[0], again, "a restart keeps the key")
}
