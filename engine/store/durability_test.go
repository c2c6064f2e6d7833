//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// synchronousOf reads back PRAGMA synchronous: 1 is NORMAL, 2 is FULL.
func synchronousOf(t *testing.T, ctx context.Context, path string, opts ...Option) int {
	t.Helper()
	db, err := OpenSQLite(ctx, path, opts...)
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	var v int
	require.NoError(t, db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&v))
	return v
}

func TestSynchronousFullByDefault(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	assert.Equal(t, 2, synchronousOf(t, ctx, filepath.Join(dir, "a.db")), "FULL by default")
	assert.Equal(t, 2, synchronousOf(t, ctx, filepath.Join(dir, "b.db"), WithSynchronous("")), "zero value is the default")
	assert.Equal(t, 1, synchronousOf(t, ctx, filepath.Join(dir, "c.db"), WithSynchronous(SyncNormal)))
	_, err := OpenSQLite(ctx, filepath.Join(dir, "d.db"), WithSynchronous("OFF"))
	require.ErrorIs(t, err, ErrBadOption)

	for in, want := range map[string]Synchronous{"full": SyncFull, "FULL": SyncFull, "Normal": SyncNormal} {
		got, err := ParseSynchronous(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"", "off", "extra", "2"} {
		_, err := ParseSynchronous(in)
		require.ErrorIs(t, err, ErrBadOption, "%q", in)
	}
}

// TestFilesArePrivate opens a database under a umask that would leave it
// world-readable and checks that the file, its -wal and -shm files and
// the directory created for it are readable by the owner only.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "t.db")
	db, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, Migrate(ctx, db, []Migration{{Domain: "a", Version: 1, SQL: `CREATE TABLE t (v TEXT)`}}))
	_, err = db.ExecContext(ctx, `INSERT INTO t (v) VALUES ('secret')`)
	require.NoError(t, err)

	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		require.NoError(t, err, "%s exists while the database is open in WAL mode", p)
		assert.Equal(t, FileMode, fi.Mode().Perm(), p)
	}
	fi, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, DirMode, fi.Mode().Perm())
}

// TestExistingFilesNarrowed: a database left world-readable by an older
// version is narrowed to FileMode on open.
func TestExistingFilesNarrowed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	for _, p := range []string{path, path + "-wal"} {
		require.NoError(t, os.WriteFile(p, nil, 0o600))
		require.NoError(t, os.Chmod(p, 0o644))
	}
	db, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, FileMode, fi.Mode().Perm(), p)
	}
}
