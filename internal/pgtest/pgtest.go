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
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// StartTimeout bounds initdb plus the wait for the server to accept
// connections.
const StartTimeout = 60 * time.Second

// superuser is the name of the cluster's superuser (initdb -U).
const superuser = "tickwire"

// Server is one running PostgreSQL server.
type Server struct {
	dir     string // temporary directory: data/, the socket, server.log
	bin     string // directory of initdb, pg_ctl, postgres
	port    int
	cred    *syscall.Credential // nil: run as the current user
	durable bool                // fsync and synchronous commits on (Durable)

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postgres process has exited
	waitErr error         // set before exited closes

	stopOnce sync.Once
	stopErr  error

	dbs atomic.Int64 // names the databases NewDatabase creates
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

// DSN is the URL of the server's "postgres" database, as the superuser.
func (s *Server) DSN() string { return s.dsn("postgres") }

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, db)
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// NewDatabase creates an empty database and returns its DSN. The database
// is dropped (closing what is still connected to it) when tb ends.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := s.exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0`); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		select {
		case <-s.exited:
			return // stopped with the database in it
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		if err := s.exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	return s.dsn(name)
}

func (s *Server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background()) //nolint:errcheck // closing a one-statement connection
	_, err = conn.Exec(ctx, sql)
	return err
}

// Stop shuts the server down (pg_ctl stop -m fast: connections are cut,
// nothing waits for clients), waits for its process to exit and removes
// its directory. It is idempotent.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	var errs []error
	select {
	case <-s.exited:
	default:
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		out, err := s.command(ctx, "pg_ctl", "stop", "-D", s.data(), "-m", "fast", "-w", "-t", "30").CombinedOutput()
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("pgtest: pg_ctl stop: %w: %s", err, bytes.TrimSpace(out)))
		}
		select {
		case <-s.exited:
		case <-time.After(StartTimeout):
			errs = append(errs, errors.New("pgtest: postgres did not exit; killing it"))
			_ = s.cmd.Process.Kill() // the error would only say it is gone already
			<-s.exited
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgtest: %w", err))
	}
	return errors.Join(errs...)
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// command runs one of the PostgreSQL binaries as the server's user.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"HOME=" + s.dir, "LANG=C", "LC_ALL=C", "PATH=" + s.bin + ":/usr/bin:/bin", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

// start makes a cluster in a new temporary directory and starts a server
// on it, retrying with another port if the chosen one was taken meanwhile.
func start(durable bool) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", fmt.Sprintf("pgtest-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir, bin: bin, cred: cred, durable: durable}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir) // the start error is the one to report
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	out, err := s.command(ctx, "initdb", "-D", s.data(), "-U", superuser, "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(dir) // the start error is the one to report
		return nil, fmt.Errorf("pgtest: initdb: %w: %s", err, bytes.TrimSpace(out))
	}
	for attempt := 0; ; attempt++ {
		err = s.run(ctx)
		if err == nil {
			return s, nil
		}
		if attempt == 2 || ctx.Err() != nil {
			_ = os.RemoveAll(dir) // the start error is the one to report
			return nil, err
		}
	}
}

// removeStale deletes the directories left by test binaries that died
// without cleaning up (a panic, a timeout: their server went with them,
// by the parent-death signal): pgtest-<pid>-* whose pid is gone and whose
// postmaster is not running.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*-*")) // the pattern is valid
	for _, d := range dirs {
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), "pgtest-"), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if pm, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && alive(pm) {
				continue
			}
		}
		_ = os.RemoveAll(d) // best effort: another binary may be sweeping it too
	}
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// run starts postgres on a free port and waits until it accepts a
// connection, or fails with the tail of its log.
func (s *Server) run(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.port = port
	logPath := filepath.Join(s.dir, "server.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close() // the child has its own descriptor
	if s.cred != nil {
		if err := logf.Chown(int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	// Not CommandContext: the server outlives ctx, which bounds the start.
	args := []string{"-D", s.data(),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port=" + strconv.Itoa(port),
		"-c", "unix_socket_directories=" + s.dir,
		"-c", "max_connections=200",
		"-c", "shared_buffers=32MB",
		"-c", "logging_collector=off"}
	if !s.durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := s.command(context.Background(), "postgres", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A test binary killed by a panic or a timeout takes the server with it
	// (SIGINT is postgres's fast shutdown). Go sets this after switching
	// credentials, which would clear it.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGINT
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { // ends when postgres exits, which Stop waits for
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.DSN())
		cancel()
		if err == nil {
			conn.Close(ctx) //nolint:errcheck // a probe
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("pgtest: postgres exited (%w): %s", s.waitErr, tail(logPath))
		case <-ctx.Done():
			_ = cmd.Process.Kill() // it failed to start in time; the error would say it is gone
			<-s.exited
			return fmt.Errorf("pgtest: postgres not accepting connections within %v: %w: %s", StartTimeout, err, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ErrNotInstalled is why a test fails on a machine without PostgreSQL.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL not found (initdb, pg_ctl and postgres on PATH or in /usr/lib/postgresql/*/bin): install Debian's postgresql package (.ci/run does)")

// findBin finds the directory holding initdb, pg_ctl and postgres: PATH
// first, then the highest version of /usr/lib/postgresql/*/bin.
func findBin() (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if dir := filepath.Dir(p); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin") // the pattern is valid
	version := func(dir string) float64 {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int {
		switch va, vb := version(a), version(b); {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

// credential is the user the server runs as: nil (the current user), or
// the postgres system user when running as root, which initdb refuses.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and initdb refuses root: the \"postgres\" system user (made by Debian's postgresql package) is needed to run the server: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}
