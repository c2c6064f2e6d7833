package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tickwire/tickwire/engine/limit"
)

// CoreDomain is the migration domain of the tables no service owns: the
// shared rate-limit counters and the token signing key.
const CoreDomain = "tickwire"

// PostgresCoreMigrations are the CoreDomain tables, applied with
// MigratePostgres before the domains' own:
//
//	limit_counters(key TEXT PRIMARY KEY, window_start BIGINT ms, window_end BIGINT ms, n INTEGER)
//	server_keys(name TEXT PRIMARY KEY, key BYTEA, created_at TIMESTAMPTZ)
func PostgresCoreMigrations() []Migration {
	return []Migration{{
		Domain:  CoreDomain,
		Version: 1,
		SQL: `
CREATE TABLE limit_counters (
	key          TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	window_end   BIGINT NOT NULL,
	n            INTEGER NOT NULL
);
CREATE INDEX limit_counters_window_end ON limit_counters (window_end);
CREATE TABLE server_keys (
	name       TEXT PRIMARY KEY,
	key        BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);`,
	}}
}

// PostgresKey returns the key stored under name, storing fresh first if
// there is none. Nodes starting together each offer their own fresh key;
// the first insert wins (ON CONFLICT DO NOTHING) and every node reads
// back the winner, so they all sign and verify with one key.
func PostgresKey(ctx context.Context, pool *pgxpool.Pool, name string, fresh []byte) ([]byte, error) {
	if len(fresh) == 0 {
		return nil, errors.New("store: empty key offered")
	}
	if _, err := pool.Exec(ctx, `INSERT INTO server_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("store: store key %s: %w", name, err)
	}
	var key []byte
	if err := pool.QueryRow(ctx, `SELECT key FROM server_keys WHERE name = $1`, name).Scan(&key); err != nil {
		return nil, fmt.Errorf("store: read key %s: %w", name, err)
	}
	return key, nil
}

// PostgresLimiter is a limit.Shared on the limit_counters table: one
// upsert per event, which starts the key's window afresh when the stored
// one has ended and otherwise adds one, and returns the count. Rows of
// ended windows are deleted at most once per PurgeEvery, by the Take that
// finds the time come (one indexed DELETE).
type PostgresLimiter struct {
	pool      *pgxpool.Pool
	lastPurge atomic.Int64 // unix ms of the last purge
}

// PurgeEvery is how often a PostgresLimiter deletes ended windows.
const PurgeEvery = time.Minute

var _ limit.Shared = (*PostgresLimiter)(nil)

// NewPostgresLimiter returns the limiter on pool (migrated with
// PostgresCoreMigrations).
func NewPostgresLimiter(pool *pgxpool.Pool) *PostgresLimiter { return &PostgresLimiter{pool: pool} }

// Take implements limit.Shared. Windows are aligned to multiples of
// window since the Unix epoch, so every node puts an event at the same
// instant in the same window whatever its own start time.
func (l *PostgresLimiter) Take(ctx context.Context, key string, allowed int, window time.Duration, now time.Time) (time.Duration, error) {
	w := max(window.Milliseconds(), 1)
	nowMs := now.UnixMilli()
	start := nowMs - nowMs%w
	if err := l.purge(ctx, nowMs); err != nil {
		return 0, err
	}
	var n int64
	err := l.pool.QueryRow(ctx, `INSERT INTO limit_counters AS c (key, window_start, window_end, n) VALUES ($1, $2, $3, 1)
		ON CONFLICT (key) DO UPDATE SET
			n = CASE WHEN c.window_start = excluded.window_start THEN c.n + 1 ELSE 1 END,
			window_start = excluded.window_start, window_end = excluded.window_end
		RETURNING n`, key, start, start+w).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: limit: %w", err)
	}
	if n <= int64(allowed) {
		return 0, nil
	}
	return time.Duration(max(start+w-nowMs, 1)) * time.Millisecond, nil
}

func (l *PostgresLimiter) purge(ctx context.Context, nowMs int64) error {
	last := l.lastPurge.Load()
	if nowMs-last < PurgeEvery.Milliseconds() || !l.lastPurge.CompareAndSwap(last, nowMs) {
		return nil
	}
	if _, err := l.pool.Exec(ctx, `DELETE FROM limit_counters WHERE window_end <= $1`, nowMs); err != nil {
		return fmt.Errorf("store: limit purge: %w", err)
	}
	return nil
}
