package server

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/limit"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/store"
)

// tokenKeyName names the token signing key in the PostgreSQL store.
const tokenKeyName = "token"

// stores is what the services are built on: SQLite in DataDir (one
// node), or the PostgreSQL database of Config.StoreDSN that every node of
// a cluster shares.
type stores struct {
	users    accounts.Store
	social   social.Store
	shared   limit.Shared // nil with SQLite: the limits stay in memory
	tokenKey []byte       // loaded or created when Engine.TokenKey is nil
	closers  []func() error
	kind     string // "sqlite" or "postgres", for the start log
}

// openStores opens and migrates the configured store (accounts' tables
// first: social's reference users), and loads or creates the token key
// when none is configured: in DataDir/token.key with SQLite, in the
// database with PostgreSQL (so that every node signs with the same key).
// On error, what was opened is in closers.
func openStores(ctx context.Context, cfg Config) (*stores, error) {
	st := &stores{}
	if cfg.StoreDSN != "" {
		st.kind = "postgres"
		pool, err := store.OpenPostgres(ctx, cfg.StoreDSN)
		if err != nil {
			return st, fmt.Errorf("%w: StoreDSN: %w", ErrBadConfig, err)
		}
		st.closers = append(st.closers, func() error { pool.Close(); return nil })
		migs := append(append(store.PostgresCoreMigrations(), accounts.PostgresMigrations()...), social.PostgresMigrations()...)
		if err := store.MigratePostgres(ctx, pool, migs); err != nil {
			return st, err
		}
		if cfg.Engine.TokenKey == nil {
			if st.tokenKey, err = store.PostgresKey(ctx, pool, tokenKeyName, auth.RandomKey()); err != nil {
				return st, err
			}
		}
		st.users, st.social = accounts.NewPostgresStore(pool), social.NewPostgresStore(pool)
		st.shared = store.NewPostgresLimiter(pool)
		return st, nil
	}
	st.kind = "sqlite"
	dbPath := filepath.Join(cfg.DataDir, DBFile)
	db, err := store.OpenSQLite(ctx, dbPath, store.WithSynchronous(cfg.Synchronous))
	if err != nil {
		return st, err
	}
	st.closers = append(st.closers, db.Close)
	if err := store.Migrate(ctx, db, append(accounts.Migrations(), social.Migrations()...)); err != nil {
		return st, err
	}
	if cfg.Engine.TokenKey == nil {
		// One key for the engine and accounts, kept beside the database
		// so that tokens outlive a restart.
		if st.tokenKey, err = loadOrCreateKey(filepath.Join(cfg.DataDir, KeyFile)); err != nil {
			return st, err
		}
	}
	st.users, st.social = accounts.NewSQLiteStore(db), social.NewSQLiteStore(db)
	return st, nil
}
