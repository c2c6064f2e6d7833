package accounts

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tickwire/tickwire/engine/store"
)

// Domain is the migration domain of this package's tables.
const Domain = "accounts"

// User is a registered account as other packages see it (never with its
// password hash).
type User struct {
	ID          string
	Username    string // as registered, NFKC, case kept
	DisplayName string
	CreatedAt   time.Time
}

// RevokedToken is one logged-out token id, kept until the token would have
// expired anyway.
type RevokedToken struct {
	TokenID   string
	UserID    string
	ExpiresAt time.Time
}

// Migrations returns the schema of the accounts domain. Other domains'
// migrations may reference users(id) (run them after these).
//
//	users(id TEXT PRIMARY KEY, username TEXT, username_key TEXT UNIQUE,
//	      display_name TEXT, password_hash BLOB NULL, created_at INTEGER ms)
//	revoked_tokens(token_id TEXT PRIMARY KEY, user_id TEXT, expires_at INTEGER s)
func Migrations() []store.Migration {
	return []store.Migration{{
		Domain:  Domain,
		Version: 1,
		SQL: `
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	username_key  TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL,
	password_hash BLOB,
	created_at    INTEGER NOT NULL
);
CREATE TABLE revoked_tokens (
	token_id   TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);`,
	}}
}

// Store persists users and revoked tokens. Implementations are safe for
// concurrent use. Errors: ErrUserNotFound, ErrUsernameTaken, and
// CodeBadUsername / CodeBadRequest coded errors for names that break the
// rules; anything else is a storage failure.
type Store interface {
	// CreateUser registers username (checked and normalized by
	// NormalizeUsername; uniqueness is case-insensitive). An empty
	// displayName defaults to the username. A nil passwordHash makes an
	// account that cannot log in with a password (tests, imports).
	CreateUser(ctx context.Context, username, displayName string, passwordHash []byte) (User, error)
	// UserByID returns the user or ErrUserNotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// UserByName looks a user up by username, case-insensitively and
	// after normalization; ErrUserNotFound if none.
	UserByName(ctx context.Context, username string) (User, error)
	// UsersByIDs returns the users found among ids, keyed by id; unknown
	// ids are absent.
	UsersByIDs(ctx context.Context, ids []string) (map[string]User, error)
	// Credentials returns the user and its password hash (nil if it has
	// none) by username; ErrUserNotFound if none.
	Credentials(ctx context.Context, username string) (User, []byte, error)
	// SetPasswordHash replaces a user's hash (rehash on login after a
	// parameter change); ErrUserNotFound if none.
	SetPasswordHash(ctx context.Context, userID string, hash []byte) error
	// SetDisplayName changes a user's display name (checked by
	// NormalizeDisplayName; empty means the username).
	SetDisplayName(ctx context.Context, userID, displayName string) (User, error)
	// RevokeToken records a token id as revoked until expiresAt.
	// Revoking twice is not an error.
	RevokeToken(ctx context.Context, t RevokedToken) error
	// RevokedTokens lists the revocations still in force at now.
	RevokedTokens(ctx context.Context, now time.Time) ([]RevokedToken, error)
	// PurgeRevokedTokens deletes revocations of tokens expired at now and
	// reports how many went.
	PurgeRevokedTokens(ctx context.Context, now time.Time) (int64, error)
}

// SharedRevocations is implemented by a Store that several nodes share
// (PostgresStore). The service then learns the revocations other nodes
// made (a logout on one node refuses the token on every node within
// Config.RevocationSync) and a token is revoked once across all of them
// (two refreshes of one token on two nodes cannot both succeed).
type SharedRevocations interface {
	// RevokeTokenOnce records t and reports whether this call did: false
	// if the token was revoked already, by any node.
	RevokeTokenOnce(ctx context.Context, t RevokedToken) (bool, error)
	// RevokedSince lists the revocations recorded at or after since (by
	// the store's clock; the zero time lists all) that are still in force
	// at now, and returns the store's clock at the time of the read: the
	// since of the next call.
	RevokedSince(ctx context.Context, since, now time.Time) ([]RevokedToken, time.Time, error)
}

// SQLiteStore is the Store on the database opened by store.OpenSQLite and
// migrated with Migrations.
type SQLiteStore struct {
	db  *sql.DB
	now func() time.Time
}

var _ Store = (*SQLiteStore)(nil)

// NewSQLiteStore returns a Store on db, which must have had Migrations
// applied.
func NewSQLiteStore(db *sql.DB) Store { return &SQLiteStore{db: db, now: time.Now} }

// newUserID returns 16 random bytes in hex.
func newUserID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// CreateUser implements Store.
func (s *SQLiteStore) CreateUser(ctx context.Context, username, displayName string, passwordHash []byte) (User, error) {
	name, key, err := NormalizeUsername(username)
	if err != nil {
		return User{}, err
	}
	display, err := NormalizeDisplayName(displayName, name)
	if err != nil {
		return User{}, err
	}
	u := User{ID: newUserID(), Username: name, DisplayName: display, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	var hash any // NULL when there is no password
	if passwordHash != nil {
		hash = passwordHash
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO users (id, username, username_key, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, key, u.DisplayName, hash, u.CreatedAt.UnixMilli())
	if err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			return User{}, ErrUsernameTaken
		}
		return User{}, fmt.Errorf("accounts: create user: %w", err)
	}
	return u, nil
}

const userColumns = `id, username, display_name, created_at`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var created int64
	dest := append([]any{&u.ID, &u.Username, &u.DisplayName, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, ErrUserNotFound
		}
		return User{}, fmt.Errorf("accounts: read user: %w", err)
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	return u, nil
}

// UserByID implements Store.
func (s *SQLiteStore) UserByID(ctx context.Context, id string) (User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserByName implements Store.
func (s *SQLiteStore) UserByName(ctx context.Context, username string) (User, error) {
	key := UsernameKey(username)
	if key == "" {
		return User{}, ErrUserNotFound
	}
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username_key = ?`, key))
}

// usersByIDsChunk keeps each IN list well under SQLite's parameter limit.
const usersByIDsChunk = 500

// UsersByIDs implements Store.
func (s *SQLiteStore) UsersByIDs(ctx context.Context, ids []string) (map[string]User, error) {
	out := make(map[string]User, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), usersByIDsChunk)
		chunk := ids[:n]
		ids = ids[n:]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := `SELECT ` + userColumns + ` FROM users WHERE id IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		if err := s.queryUsers(ctx, q, args, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *SQLiteStore) queryUsers(ctx context.Context, q string, args []any, out map[string]User) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("accounts: read users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return err
		}
		out[u.ID] = u
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("accounts: read users: %w", err)
	}
	return nil
}

// Credentials implements Store.
func (s *SQLiteStore) Credentials(ctx context.Context, username string) (User, []byte, error) {
	key := UsernameKey(username)
	if key == "" {
		return User{}, nil, ErrUserNotFound
	}
	var hash []byte
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE username_key = ?`, key), &hash)
	if err != nil {
		return User{}, nil, err
	}
	return u, hash, nil
}

// SetPasswordHash implements Store.
func (s *SQLiteStore) SetPasswordHash(ctx context.Context, userID string, hash []byte) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	if err != nil {
		return fmt.Errorf("accounts: set password: %w", err)
	}
	return oneRow(res, "set password")
}

// SetDisplayName implements Store.
func (s *SQLiteStore) SetDisplayName(ctx context.Context, userID, displayName string) (User, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return User{}, err
	}
	d, err := NormalizeDisplayName(displayName, u.Username)
	if err != nil {
		return User{}, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE users SET display_name = ? WHERE id = ?`, d, userID)
	if err != nil {
		return User{}, fmt.Errorf("accounts: set display name: %w", err)
	}
	if err := oneRow(res, "set display name"); err != nil {
		return User{}, err
	}
	u.DisplayName = d
	return u, nil
}

func oneRow(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("accounts: %s: %w", what, err)
	}
	if n == 0 {
		return ErrUserNotFound
	}
	return nil
}

// RevokeToken implements Store.
func (s *SQLiteStore) RevokeToken(ctx context.Context, t RevokedToken) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO revoked_tokens (token_id, user_id, expires_at) VALUES (?, ?, ?)
		 ON CONFLICT (token_id) DO NOTHING`, t.TokenID, t.UserID, t.ExpiresAt.Unix())
	if err != nil {
		return fmt.Errorf("accounts: revoke token: %w", err)
	}
	return nil
}

// RevokedTokens implements Store.
func (s *SQLiteStore) RevokedTokens(ctx context.Context, now time.Time) ([]RevokedToken, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT token_id, user_id, expires_at FROM revoked_tokens WHERE expires_at > ?`, now.Unix())
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
func (s *SQLiteStore) PurgeRevokedTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at <= ?`, now.Unix())
	if err != nil {
		return 0, fmt.Errorf("accounts: purge revoked tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("accounts: purge revoked tokens: %w", err)
	}
	return n, nil
}
