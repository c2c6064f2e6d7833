// Package store opens tickwire's embedded SQLite database and applies
// versioned schema migrations. Each domain (accounts, social, ...) keeps
// its own tables, queries and store interface in its own package and hands
// its migrations to Migrate; this package knows no domain.
//
// The *sql.DB is safe for concurrent use. SQLite runs in WAL mode with a
// busy timeout so that readers never block the writer.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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

// OpenSQLite opens (creating if needed) the database file at path, with
// WAL, foreign keys and a busy timeout. The parent directory is created.
func OpenSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
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
