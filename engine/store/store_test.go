package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMigrateIsIdempotentAndPersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "t.db")
	migs := []Migration{
		{Domain: "a", Version: 1, SQL: `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`},
		{Domain: "a", Version: 2, SQL: `ALTER TABLE t ADD COLUMN w TEXT`},
	}
	db, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	require.NoError(t, Migrate(ctx, db, migs))
	require.NoError(t, Migrate(ctx, db, migs)) // second run applies nothing
	_, err = db.ExecContext(ctx, `INSERT INTO t (v, w) VALUES (?, ?)`, "x'; DROP TABLE t; --", "y")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	db, err = OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	var v string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT v FROM t`).Scan(&v))
	require.Equal(t, "x'; DROP TABLE t; --", v)
	var mode string
	require.NoError(t, db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "wal", mode)

	err = Migrate(ctx, db, []Migration{{Domain: "b", Version: 2, SQL: `SELECT 1`}})
	require.ErrorIs(t, err, ErrMigrationOrder)
}
