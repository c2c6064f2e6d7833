package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tickwire/tickwire/engine/store"
)

// PostgresMigrations is the accounts schema on PostgreSQL (applied with
// store.MigratePostgres): the same tables and units as Migrations.
func PostgresMigrations() []store.Migration {
	return []store.Migration{{
		Domain:  Domain,
		Version: 1,
		SQL: `
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	username_key  TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL,
	password_hash BYTEA,
	created_at    BIGINT NOT NULL
);
CREATE TABLE revoked_tokens (
	token_id   TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);`,
	}, {
		// When each revocation was recorded, by the database's clock, so
		// that every node can follow the others' (SharedRevocations).
		Domain:  Domain,
		Version: 2,
		SQL: `
ALTER TABLE revoked_tokens ADD COLUMN revoked_at BIGINT NOT NULL
	DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
CREATE INDEX revoked_tokens_revoked_at ON revoked_tokens (revoked_at);`,
	}}
}

// PostgresStore is the Store on a PostgreSQL pool migrated with
// PostgresMigrations. The pool is safe for concurrent use; the store holds
// nothing else.
type PostgresStore struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

var (
	_ Store             = (*PostgresStore)(nil)
	_ SharedRevocations = (*PostgresStore)(nil)
)

// NewPostgresStore returns a Store on pool.
func NewPostgresStore(pool *pgxpool.Pool) *PostgresStore {
	return &PostgresStore{pool: pool, now: time.Now}
}

// CreateUser implements Store.
func (s *PostgresStore) CreateUser(ctx context.Context, username, displayName string, passwordHash []byte) (User, error) {
	name, key, err := NormalizeUsername(username)
	if err != nil {
		return User{}, err
	}
	display, err := NormalizeDisplayName(displayName, name)
	if err != nil {
		return User{}, err
	}
	u := User{ID: newUserID(), Username: name, DisplayName: display, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	_, err = s.pool.Exec(ctx,
		`INSERT INTO users (id, username, username_key, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, u.Username, key, u.DisplayName, passwordHash, u.CreatedAt.UnixMilli()) // a nil hash is NULL
	if err != nil {
		if store.IsUniqueViolation(err) {
			return User{}, ErrUsernameTaken
		}
		return User{}, fmt.Errorf("accounts: create user: %w", err)
	}
	return u, nil
}

func pgScanUser(row pgx.Row, extra ...any) (User, error) {
	var u User
	var created int64
	dest := append([]any{&u.ID, &u.Username, &u.DisplayName, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return User{}, ErrUserNotFound
		}
		return User{}, fmt.Errorf("accounts: read user: %w", err)
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	return u, nil
}

// UserByID implements Store.
func (s *PostgresStore) UserByID(ctx context.Context, id string) (User, error) {
	return pgScanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// UserByName implements Store.
func (s *PostgresStore) UserByName(ctx context.Context, username string) (User, error) {
	key := UsernameKey(username)
	if key == "" {
		return User{}, ErrUserNotFound
	}
	return pgScanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username_key = $1`, key))
}

// UsersByIDs implements Store: one query with the ids as an array
// parameter (PostgreSQL has no small parameter limit to chunk around).
func (s *PostgresStore) UsersByIDs(ctx context.Context, ids []string) (map[string]User, error) {
	out := make(map[string]User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("accounts: read users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := pgScanUser(rows)
		if err != nil {
			return nil, err
		}
		out[u.ID] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: read users: %w", err)
	}
	return out, nil
}

// Credentials implements Store.
func (s *PostgresStore) Credentials(ctx context.Context, username string) (User, []byte, error) {
	key := UsernameKey(username)
	if key == "" {
		return User{}, nil, ErrUserNotFound
	}
	var hash []byte
	u, err := pgScanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE username_key = $1`, key), &hash)
	if err != nil {
		return User{}, nil, err
	}
	return u, hash, nil
}

// SetPasswordHash implements Store.
func (s *PostgresStore) SetPasswordHash(ctx context.Context, userID string, hash []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
	if err != nil {
		return fmt.Errorf("accounts: set password: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrUserNotFound
	}
	return nil
}

// SetDisplayName implements Store.
func (s *PostgresStore) SetDisplayName(ctx context.Context, userID, displayName string) (User, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return User{}, err
	}
	d, err := NormalizeDisplayName(displayName, u.Username)
	if err != nil {
		return User{}, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE users SET display_name = $1 WHERE id = $2`, d, userID)
	if err != nil {
		return User{}, fmt.Errorf("accounts: set display name: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return User{}, ErrUserNotFound
	}
	u.DisplayName = d
	return u, nil
}

// RevokeToken implements Store.
func (s *PostgresStore) RevokeToken(ctx context.Context, t RevokedToken) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO revoked_tokens (token_id, user_id, expires_at) VALUES ($1, $2, $3)
		 ON CONFLICT (token_id) DO NOTHING`, t.TokenID, t.UserID, t.ExpiresAt.Unix())
	if err != nil {
		return fmt.Errorf("accounts: revoke token: %w", err)
	}
	return nil
}

// RevokedTokens implements Store.
func (s *PostgresStore) RevokedTokens(ctx context.Context, now time.Time) ([]RevokedToken, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT token_id, user_id, expires_at FROM revoked_tokens WHERE expires_at > $1`, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("accounts: read revoked tokens: %w", err)
	}
	defer rows.Close()
	var out []RevokedToken
	for rows.Next() {
		var t RevokedToken
		var exp int64
		if err := rows.Scan(&t.TokenID, &t.UserID, &exp); err != nil {
			return nil, fmt.Errorf("accounts: read revoked tokens: %w", err)
		}
		t.ExpiresAt = time.Unix(exp, 0).UTC()
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: read revoked tokens: %w", err)
	}
	return out, nil
}

// PurgeRevokedTokens implements Store.
func (s *PostgresStore) PurgeRevokedTokens(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at <= $1`, now.Unix())
	if err != nil {
		return 0, fmt.Errorf("accounts: purge revoked tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RevokeTokenOnce implements SharedRevocations.
func (s *PostgresStore) RevokeTokenOnce(ctx context.Context, t RevokedToken) (bool, error) {
	tag, err := s.pool.Exec(ctx,
		`INSERT INTO revoked_tokens (token_id, user_id, expires_at) VALUES ($1, $2, $3)
		 ON CONFLICT (token_id) DO NOTHING`, t.TokenID, t.UserID, t.ExpiresAt.Unix())
	if err != nil {
		return false, fmt.Errorf("accounts: revoke token: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RevokedSince implements SharedRevocations. revoked_at is the database's
// clock when the row was written; a revocation committed a moment after
// a read with an earlier revoked_at is found by the next call as long as
// the caller overlaps its windows (the service re-reads the last
// revocationOverlap).
func (s *PostgresStore) RevokedSince(ctx context.Context, since, now time.Time) ([]RevokedToken, time.Time, error) {
	var sinceMs int64
	if !since.IsZero() {
		sinceMs = since.UnixMilli()
	}
	var dbNow int64
	if err := s.pool.QueryRow(ctx, `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint`).Scan(&dbNow); err != nil {
		return nil, time.Time{}, fmt.Errorf("accounts: read revoked tokens: %w", err)
	}
	rows, err := s.pool.Query(ctx,
		`SELECT token_id, user_id, expires_at FROM revoked_tokens WHERE revoked_at >= $1 AND expires_at > $2`, sinceMs, now.Unix())
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("accounts: read revoked tokens: %w", err)
	}
	defer rows.Close()
	var out []RevokedToken
	for rows.Next() {
		var t RevokedToken
		var exp int64
		if err := rows.Scan(&t.TokenID, &t.UserID, &exp); err != nil {
			return nil, time.Time{}, fmt.Errorf("accounts: read revoked tokens: %w", err)
		}
		t.ExpiresAt = time.Unix(exp, 0).UTC()
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("accounts: read revoked tokens: %w", err)
	}
	return out, time.UnixMilli(dbNow), nil
}
