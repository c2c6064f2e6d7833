// Package pgtest runs a real PostgreSQL server for tests: initdb in a
// temporary directory, the postgres server on a free 127.0.0.1 port (and a
// unix socket in that directory), a fresh database per test, and a fast
// shutdown with pg_ctl when the tests end.
//
// One server serves a whole test binary: run the tests through Main (or
// conntest.VerifyTestMain(M(m)) where transports are tested) from TestMain, then
// DB(t) in each test for a DSN of an empty database of its own. A test
// that needs to stop the server mid-test (a store failure) starts a
// private one with New.
//
// The binaries are found on PATH, else in the highest version under
// /usr/lib/postgresql/*/bin (Debian's postgresql package). When the tests
// run as root, which initdb refuses, the server runs as the "postgres"
// system user. fsync is off: these servers trade durability for speed and
// are for tests only (Durable starts one with PostgreSQL's defaults, for
// benchmarks). The postgres process is started directly (not
// daemonized) with a parent-death signal, so that a test binary that dies
// of a panic or a timeout does not leave a server behind. Without
// PostgreSQL installed, a test that asks for a server fails with a message
// saying what to install; it never skips.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/tickwire/tickwire/internal/pgserver"
)

// StartTimeout bounds initdb plus the wait for the server to accept
// connections.
const StartTimeout = pgserver.StartTimeout

// ErrNotInstalled is why a test fails on a machine without PostgreSQL.
var ErrNotInstalled = pgserver.ErrNotInstalled

// Server is one running PostgreSQL server (DSN, Port, Stop and the rest
// are pgserver.Server's).
type Server struct {
	*pgserver.Server
	dbs atomic.Int64 // names the databases NewDatabase creates
}

func start(durable bool) (*Server, error) {
	srv, err := pgserver.Start(pgserver.Options{Durable: durable})
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return &Server{Server: srv}, nil
}

var shared struct {
	mu     sync.Mutex // guards the fields below
	inMain bool       // Main/M is running the tests
	srv    *Server
	err    error // the first start failure, repeated to later tests
}

// TestingM is what M returns and goleak.VerifyTestMain accepts.
type TestingM interface{ Run() int }

type mainM struct{ m *testing.M }

// M wraps m so that its Run also stops the shared server after the tests:
// conntest.VerifyTestMain(pgtest.M(m)) or goleak.VerifyTestMain(pgtest.M(m)).
func M(m *testing.M) TestingM { return mainM{m} }

func (w mainM) Run() int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := w.m.Run()
	shared.mu.Lock()
	srv := shared.srv
	shared.srv, shared.inMain = nil, false
	shared.mu.Unlock()
	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Main runs the package's tests, stops the shared server, then fails the
// run if a goroutine is left (goleak.VerifyTestMain with opts) and exits:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// A package that already checks leaks with conntest.VerifyTestMain passes
// it M(m) instead.
func Main(m *testing.M, opts ...goleak.Option) { goleak.VerifyTestMain(M(m), opts...) }

// Start returns the test binary's shared server, starting it on first
// use. It requires TestMain to run the tests through Main or M, which stop
// it.
func Start(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		tb.Fatal("pgtest: the shared server needs TestMain to call pgtest.Main(m) (or run pgtest.M(m)), which stops it")
	}
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	if shared.srv == nil {
		srv, err := start(false)
		if err != nil {
			shared.err = err
			tb.Fatal(err)
		}
		shared.srv = srv
	}
	return shared.srv
}

// DB returns the DSN of a fresh, empty database on the shared server,
// dropped when tb ends.
func DB(tb testing.TB) string {
	tb.Helper()
	return Start(tb).NewDatabase(tb)
}

// New starts a server of tb's own, stopped when tb ends (or earlier with
// Stop, to see what a store does when its database goes away).
func New(tb testing.TB) *Server {
	tb.Helper()
	return newServer(tb, false)
}

func newServer(tb testing.TB, durable bool) *Server {
	tb.Helper()
	srv, err := start(durable)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return srv
}

// Durable starts a server of tb's own, like New, but with PostgreSQL's
// default durability (fsync, synchronous_commit and full_page_writes on):
// for benchmarks that compare it with SQLite's synchronous=FULL.
func Durable(tb testing.TB) *Server {
	tb.Helper()
	return newServer(tb, true)
}

// NewDatabase creates an empty database and returns its DSN. The database
// is dropped (closing what is still connected to it) when tb ends.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := s.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0`); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		select {
		case <-s.Exited():
			return // stopped with the database in it
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		if err := s.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	return s.DSNFor(name)
}
