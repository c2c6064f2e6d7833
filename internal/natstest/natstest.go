// Package natstest runs a real NATS server (nats-server, in process) for
// tests: on a loopback port, JetStream in a temporary directory, shut
// down when the test ends. A test that needs NATS to go away and come
// back (Stop, Restart) gets the same URL and the same JetStream files.
package natstest

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
)

// Server is a NATS server for one test.
type Server struct {
	tb   testing.TB
	dir  string
	mu   sync.Mutex // guards the fields below
	addr string     // fixed after the first start, so that the URL survives a restart
	url  string
	srv  *server.Server
}

// Start starts a NATS server (JetStream on) and stops it in tb.Cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, dir: tb.TempDir(), addr: "127.0.0.1:0"}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's client URL; it stays the same across Restart.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Stop shuts the server down: clients lose their connection and start
// reconnecting. It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Start starts the server again after Stop, on the same address and
// JetStream directory (it does nothing when it runs).
func (s *Server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	host, p, err := net.SplitHostPort(s.addr)
	require.NoError(s.tb, err)
	port, err := strconv.Atoi(p)
	require.NoError(s.tb, err)
	if port == 0 {
		port = -1 // a free port, the first time
	}
	srv, err := server.NewServer(&server.Options{Host: host, Port: port, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: s.dir})
	require.NoError(s.tb, err)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		require.FailNow(s.tb, "natstest: NATS not ready")
	}
	s.srv = srv
	s.addr = srv.Addr().String()
	s.url = srv.ClientURL()
}

// Restart stops the server and starts it again on the same URL.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.Start()
}
