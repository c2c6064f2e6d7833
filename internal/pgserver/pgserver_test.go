package pgserver

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A server started without a testing.TB serves a database, and Stop
// ends its process, removes its directory and is idempotent.
func TestStartServesAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The directory of a process that died without stopping its server.
	const deadPID = 4194303 // the highest pid Linux hands out
	require.False(t, alive(deadPID))
	stale, err := os.MkdirTemp("", fmt.Sprintf("pgserver-%d-", deadPID))
	require.NoError(t, err)
	srv, err := Start(Options{})
	require.NoError(t, err, "PostgreSQL must be installed for these tests")
	_, err = os.Stat(stale)
	assert.True(t, os.IsNotExist(err), "a dead process's directory is swept: %v", err)
	require.NoError(t, srv.Exec(ctx, `CREATE DATABASE bench TEMPLATE template0`))
	conn, err := pgx.Connect(ctx, srv.DSNFor("bench"))
	require.NoError(t, err)
	var one int
	require.NoError(t, conn.QueryRow(ctx, `SELECT 1`).Scan(&one))
	assert.Equal(t, 1, one)
	require.NoError(t, conn.Close(ctx))

	require.NoError(t, srv.Stop())
	select {
	case <-srv.Exited():
	default:
		t.Fatal("postgres still running after Stop")
	}
	_, err = os.Stat(srv.Dir())
	assert.True(t, os.IsNotExist(err), "directory removed: %v", err)
	_, err = pgx.Connect(ctx, srv.DSN())
	require.Error(t, err)
	require.NoError(t, srv.Stop(), "idempotent")
}

func TestFindBin(t *testing.T) {
	dir, err := FindBin()
	require.NoError(t, err, "PostgreSQL must be installed for these tests")
	assert.FileExists(t, dir+"/initdb")
}
