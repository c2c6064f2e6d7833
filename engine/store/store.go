// Package store opens tickwire's embedded SQLite database and applies
// versioned schema migrations. Each domain (accounts, social, ...) keeps
// its own tables, queries and store interface in its own package and hands
// its migrations to Migrate; this package knows no domain.
//
// The *sql.DB is safe for concurrent use. SQLite runs in WAL mode with a
// busy timeout so that readers never block the writer, and with
// synchronous=FULL by default, so that a committed transaction survives a
// power loss (SyncNormal trades that away for speed). The database file
// and its -wal and -shm files are created 0600 whatever the umask.
package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// Migration is one schema step of one domain. Versions start at 1 and
// increase by one; a migration, once released, never changes.
type Migration struct {
	Domain  string
	Version int
	SQL     string
}

// ErrMigrationOrder is returned when a domain's versions are not 1, 2, 3...
var ErrMigrationOrder = errors.New("store: migrations out of order")

// Synchronous is SQLite's synchronous setting, which decides what a
// committed transaction survives. Parse it with ParseSynchronous.
type Synchronous string

const (
	// SyncFull (the default) syncs the WAL on every commit: a
	// transaction that returned survives power loss and an operating
	// system crash. This is what makes "an acknowledged message is
	// stored" true.
	SyncFull Synchronous = "FULL"
	// SyncNormal syncs the WAL only at checkpoints: commits are faster,
	// the database stays consistent, but the last transactions before a
	// power loss or OS crash may be lost (a process crash loses nothing).
	// It weakens the durability promise; choose it knowingly.
	SyncNormal Synchronous = "NORMAL"
)

// ErrBadOption is returned for an invalid open option.
var ErrBadOption = errors.New("store: bad option")

// ParseSynchronous parses "full" or "normal" (any case).
func ParseSynchronous(s string) (Synchronous, error) {
	switch v := Synchronous(strings.ToUpper(s)); v {
	case SyncFull, SyncNormal:
		return v, nil
	}
	return "", fmt.Errorf("%w: synchronous %q, want full or normal", ErrBadOption, s)
}

// String returns the pragma value ("FULL" or "NORMAL").
func (s Synchronous) String() string { return string(s) }

// Option is an optional setting of OpenSQLite.
type Option func(*options)

type options struct {
	sync Synchronous
}

// WithSynchronous sets the synchronous mode (default SyncFull; the zero
// value means the default).
func WithSynchronous(s Synchronous) Option {
	return func(o *options) { o.sync = cmp.Or(s, o.sync) }
}

// FileMode is the mode of the database file and of its -wal and -shm
// files (SQLite gives those the database file's mode), whatever the
// process umask. The parent directory, when OpenSQLite creates it, is
// DirMode.
const (
	FileMode os.FileMode = 0o600
	DirMode  os.FileMode = 0o700
)

// OpenSQLite opens (creating if needed) the database file at path, with
// WAL, foreign keys, a busy timeout and synchronous=FULL unless an option
// says otherwise. A missing parent directory is created with DirMode. The
// file is created with FileMode, and an existing file with wider
// permissions is narrowed to it, so that the accounts' password hashes and
// the messages are readable by the server's user only.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*sql.DB, error) {
	o := options{sync: SyncFull}
	for _, opt := range opts {
		opt(&o)
	}
	if _, err := ParseSynchronous(string(o.sync)); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=synchronous(" + o.sync.String() + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// createPrivate creates path with FileMode if it does not exist, and
// narrows its mode (and that of its -wal and -shm files) to FileMode if it
// does. The mode is set with chmod, not
// left to the umask.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		return fmt.Errorf("store: chmod %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	// SQLite gives new -wal and -shm files the database file's mode, but
	// leaves files left by an earlier run as they are.
	for _, side := range []string{path + "-wal", path + "-shm"} {
		if err := os.Chmod(side, FileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: chmod %s: %w", side, err)
		}
	}
	return nil
}

// Migrate applies, in order and each in its own transaction, the
// migrations whose (domain, version) is not yet recorded.
func Migrate(ctx context.Context, db *sql.DB, migrations []Migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		domain TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL DEFAULT (unixepoch()),
		PRIMARY KEY (domain, version))`); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	next := map[string]int{}
	for _, m := range migrations {
		want := next[m.Domain] + 1
		if m.Version != want {
			return fmt.Errorf("%w: %s version %d, want %d", ErrMigrationOrder, m.Domain, m.Version, want)
		}
		next[m.Domain] = want
		if err := apply(ctx, db, m); err != nil {
			return err
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE domain = ? AND version = ?`, m.Domain, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("store: check %s/%d: %w", m.Domain, m.Version, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("store: migrate %s/%d: %w", m.Domain, m.Version, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (domain, version) VALUES (?, ?)`, m.Domain, m.Version); err != nil {
		return fmt.Errorf("store: record %s/%d: %w", m.Domain, m.Version, err)
	}
	return tx.Commit()
}
