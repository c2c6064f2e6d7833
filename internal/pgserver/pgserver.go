// Package pgserver runs a private PostgreSQL server from the installed
// binaries: initdb in a temporary directory, the postgres server on a
// free 127.0.0.1 port (and a unix socket in that directory), trust
// authentication for the superuser, and a fast shutdown with pg_ctl that
// removes the directory. internal/pgtest wraps it for tests; tickbench
// starts one for a cluster run that is given no --store.
//
// The binaries are found on PATH, else in the highest version under
// /usr/lib/postgresql/*/bin (Debian's postgresql package). When running
// as root, which initdb refuses, the server runs as the "postgres" system
// user. Unless Options.Durable, fsync is off: such a server trades
// durability for speed. The postgres process is started directly (not
// daemonized) with a parent-death signal, so that a process that dies
// does not leave a server behind.
//
// Concurrency: a Server's methods are safe from any goroutine; one
// goroutine per server waits for the postgres process and ends with it.
package pgserver

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
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure Start. The zero value is a fast server for tests.
type Options struct {
	// Durable keeps PostgreSQL's default durability (fsync,
	// synchronous_commit and full_page_writes on), for benchmarks.
	Durable bool
}

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
}

// DSN is the URL of the server's "postgres" database, as the superuser.
func (s *Server) DSN() string { return s.dsn("postgres") }

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, db)
}

// DSNFor is the URL of database db on the server, as the superuser.
func (s *Server) DSNFor(db string) string { return s.dsn(db) }

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Dir is the server's temporary directory (data/, its unix socket,
// server.log), removed by Stop.
func (s *Server) Dir() string { return s.dir }

// Exited is closed once the postgres process has exited (after Stop, or
// a crash).
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Exec runs one SQL statement on the "postgres" database as the
// superuser (CREATE DATABASE, DROP DATABASE).
func (s *Server) Exec(ctx context.Context, sql string) error {
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
			errs = append(errs, fmt.Errorf("pgserver: pg_ctl stop: %w: %s", err, bytes.TrimSpace(out)))
		}
		select {
		case <-s.exited:
		case <-time.After(StartTimeout):
			errs = append(errs, errors.New("pgserver: postgres did not exit; killing it"))
			_ = s.cmd.Process.Kill() // the error would only say it is gone already
			<-s.exited
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgserver: %w", err))
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
// Start makes a cluster in a new temporary directory (initdb) and starts a
// server on it on a free 127.0.0.1 port, retrying with another port if
// the chosen one was taken meanwhile. Stop stops it and removes the
// directory. Without PostgreSQL installed it fails with ErrNotInstalled.
func Start(o Options) (*Server, error) {
	durable := o.Durable
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", fmt.Sprintf("pgserver-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	s := &Server{dir: dir, bin: bin, cred: cred, durable: durable}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir) // the start error is the one to report
			return nil, fmt.Errorf("pgserver: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	out, err := s.command(ctx, "initdb", "-D", s.data(), "-U", superuser, "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(dir) // the start error is the one to report
		return nil, fmt.Errorf("pgserver: initdb: %w: %s", err, bytes.TrimSpace(out))
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

// removeStale deletes the directories left by processes that died
// without cleaning up (a panic, a timeout: their server went with them,
// by the parent-death signal): pgserver-<pid>-* whose pid is gone and
// whose postmaster is not running.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgserver-*-*")) // the pattern is valid
	for _, d := range dirs {
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), "pgserver-"), "-")
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
		_ = os.RemoveAll(d) // best effort: another process may be sweeping it too
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
		return fmt.Errorf("pgserver: %w", err)
	}
	defer logf.Close() // the child has its own descriptor
	if s.cred != nil {
		if err := logf.Chown(int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("pgserver: %w", err)
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
		return fmt.Errorf("pgserver: start postgres: %w", err)
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
			return fmt.Errorf("pgserver: postgres exited (%w): %s", s.waitErr, tail(logPath))
		case <-ctx.Done():
			_ = cmd.Process.Kill() // it failed to start in time; the error would say it is gone
			<-s.exited
			return fmt.Errorf("pgserver: postgres not accepting connections within %v: %w: %s", StartTimeout, err, tail(logPath))
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
		return 0, fmt.Errorf("pgserver: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ErrNotInstalled is why Start fails on a machine without PostgreSQL.
var ErrNotInstalled = errors.New("PostgreSQL not found (initdb, pg_ctl and postgres on PATH or in /usr/lib/postgresql/*/bin): install Debian's postgresql package (.ci/run does)")

// FindBin finds the directory holding initdb, pg_ctl and postgres: PATH
// first, then the highest version of /usr/lib/postgresql/*/bin.
func FindBin() (string, error) {
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
		return nil, fmt.Errorf("pgserver: running as root, and initdb refuses root: the \"postgres\" system user (made by Debian's postgresql package) is needed to run the server: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgserver: postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}
