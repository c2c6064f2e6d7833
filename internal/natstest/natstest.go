// Package natstest runs a real NATS server (nats-server, in process) for
// tests: on a loopback port, JetStream in a temporary directory, shut
// down when the test ends. A test that needs NATS to go away and come
// back (Stop, Restart) gets the same URL and the same JetStream files.
package natstest

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/cluster"
)

// Server is a NATS server for one test.
type Server struct {
	tb    testing.TB
	dir   string
	mu    sync.Mutex // guards the fields below
	addr  string     // fixed after the first start, so that the URL survives a restart
	url   string
	embed *cluster.Embedded
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
	if s.embed != nil {
		s.embed.Close()
		s.embed = nil
	}
}

// Start starts the server again after Stop, on the same address and
// JetStream directory (it does nothing when it runs).
func (s *Server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.embed != nil {
		return
	}
	e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{Addr: s.addr, StoreDir: s.dir})
	require.NoError(s.tb, err)
	s.embed = e
	s.addr = e.Addr().String()
	s.url = e.URL()
}

// Restart stops the server and starts it again on the same URL.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.Start()
}
