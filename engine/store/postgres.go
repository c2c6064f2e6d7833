package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgreSQL is the shared store of a cluster: every node opens the same
// database with OpenPostgres and migrates it with MigratePostgres, giving
// each domain's PostgreSQL migrations (the SQL differs from SQLite's; the
// domains and versions are kept apart in the database's own
// schema_migrations table).

// IsPostgresDSN reports whether dsn names a PostgreSQL database
// (postgres:// or postgresql:// URL).
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// ErrBadDSN is returned for a store DSN that is not a PostgreSQL URL.
var ErrBadDSN = errors.New("store: bad DSN")

// OpenPostgres connects a pool to the PostgreSQL database at dsn (a
// postgres:// URL; pool settings such as pool_max_conns may be given in
// it) and checks that it answers. Commits are as durable as the server's
// synchronous_commit says (on by default: a committed transaction is on
// the server's disk).
func OpenPostgres(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	if !IsPostgresDSN(dsn) {
		return nil, fmt.Errorf("%w: want postgres://…", ErrBadDSN)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDSN, redact(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open postgres %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// redact keeps a DSN parse error from echoing a password.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse the URL")
	}
	return err
}

// migrateLockKey is the advisory lock (pg_advisory_xact_lock) that
// serializes MigratePostgres across nodes starting together.
const migrateLockKey int64 = 0x7469636b_6d696772 // "tickmigr"

// MigratePostgres applies, in one transaction, the migrations whose
// (domain, version) is not yet recorded in schema_migrations. The
// transaction first takes an advisory lock, so that nodes starting at the
// same time apply each migration once: the second waits, then finds them
// recorded. PostgreSQL's DDL is transactional: a failed migration leaves
// nothing half-applied.
func MigratePostgres(ctx context.Context, pool *pgxpool.Pool, migrations []Migration) error {
	next := map[string]int{}
	for _, m := range migrations {
		want := next[m.Domain] + 1
		if m.Version != want {
			return fmt.Errorf("%w: %s version %d, want %d", ErrMigrationOrder, m.Domain, m.Version, want)
		}
		next[m.Domain] = want
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			domain TEXT NOT NULL, version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
			PRIMARY KEY (domain, version))`); err != nil {
			return fmt.Errorf("store: migrations table: %w", err)
		}
		for _, m := range migrations {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE domain = $1 AND version = $2)`,
				m.Domain, m.Version).Scan(&done); err != nil {
				return fmt.Errorf("store: check %s/%d: %w", m.Domain, m.Version, err)
			}
			if done {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("store: migrate %s/%d: %w", m.Domain, m.Version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (domain, version) VALUES ($1, $2)`, m.Domain, m.Version); err != nil {
				return fmt.Errorf("store: record %s/%d: %w", m.Domain, m.Version, err)
			}
		}
		return nil
	})
	return err
}

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation
// (SQLSTATE 23505).
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
