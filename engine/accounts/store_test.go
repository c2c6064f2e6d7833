package accounts

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/store"
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
