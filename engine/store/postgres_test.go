package store

import (
	"context"
	"sync"
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
