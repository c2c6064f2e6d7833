package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Each database is its own: a table made in one is absent from another.
func TestDatabasesAreSeparate(t *testing.T) {
	ctx := ctxT(t)
	a, b := DB(t), DB(t)
	require.NotEqual(t, a, b)
	ca, err := pgx.Connect(ctx, a)
	require.NoError(t, err)
	defer ca.Close(ctx)
	cb, err := pgx.Connect(ctx, b)
	require.NoError(t, err)
	defer cb.Close(ctx)

	_, err = ca.Exec(ctx, `CREATE TABLE x (v INT); INSERT INTO x VALUES (42)`)
	require.NoError(t, err)
	var v int
	require.NoError(t, ca.QueryRow(ctx, `SELECT v FROM x`).Scan(&v))
	assert.Equal(t, 42, v)
	_, err = cb.Exec(ctx, `SELECT v FROM x`)
	require.Error(t, err, "the table is only in the first database")
	assert.Same(t, Start(t), Start(t), "one shared server per binary")
}

// A private server stops on Stop: its process is gone, its directory
// removed, and new connections are refused.
func TestNewStops(t *testing.T) {
	ctx := ctxT(t)
	srv := New(t)
	dsn := srv.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	require.NoError(t, conn.Ping(ctx))
	conn.Close(ctx)

	require.NoError(t, srv.Stop())
	select {
	case <-srv.Exited():
	default:
		t.Fatal("postgres still running after Stop")
	}
	_, err = os.Stat(srv.Dir())
	assert.True(t, os.IsNotExist(err), "directory removed: %v", err)
	_, err = pgx.Connect(ctx, dsn)
	require.Error(t, err)
	require.NoError(t, srv.Stop(), "idempotent")
}

// Without PostgreSQL a test is told what to install.
func TestNotInstalledSaysWhatToInstall(t *testing.T) {
	assert.Contains(t, ErrNotInstalled.Error(), "postgresql package")
}
