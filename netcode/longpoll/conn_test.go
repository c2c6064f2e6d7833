package longpoll

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

const waitFor = 10 * time.Second

// server is a Listener on a real loopback HTTP server.
type server struct {
	ln  *Listener
	srv *httptest.Server
	url string
}

// startServer starts a Listener with env and cfg on an httptest server
// (127.0.0.1) that keeps each request's connection in its context, as
// the assembly's does; the test shuts both down.
func startServer(t testing.TB, env netcode.Env, cfg Config) *server {
	t.Helper()
	mux := http.NewServeMux()
	ln, err := Listen(mux, env, cfg)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnContext = httpapi.ConnContext // as the assembly's server: a session's RTT reads its request's socket
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, ln.Shutdown(ctx))
	})
	return &server{ln: ln, srv: srv, url: srv.URL}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// accept takes the next session within waitFor.
func (s *server) accept(t testing.TB) *session {
	t.Helper()
	return conntest.Accept(t, s.ln, waitFor).(*session)
}

// dial opens a client Conn to s, closed at the end of the test.
func (s *server) dial(t testing.TB, cfg Config) *clientConn {
	t.Helper()
	c, err := Dialer{URL: s.url, Token: "tok", Config: cfg}.dial(ctxT(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
	return c
}

// pair returns a client Conn and the server's session.
func pair(t testing.TB, cfg Config) (*clientConn, *session) {
	s := startServer(t, netcode.Env{}, cfg)
	c := s.dial(t, cfg)
	return c, s.accept(t)
}

func TestConformance(t *testing.T) {
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		c, s := pair(t, Config{})
		return c, s
	}, conntest.Options{})
}

func TestConformanceSmallMax(t *testing.T) {
	cfg := Config{MaxMessageSize: 5000, MaxBatchBytes: 6000, MaxUnackedBytes: 12000}
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		c, s := pair(t, cfg)
		return c, s
	}, conntest.Options{MaxMessageSize: 5000})
}

// The server's session reads the kernel's RTT of the connection its last
// request came on through RTT, not Stats (a scrape of every session's
// Stats makes no system call). The client end has no socket of its own
// to read (its requests go through an http.Client): its RTT stays 0.
func TestRTTNotInStats(t *testing.T) {
	c, s := pair(t, Config{})
	conntest.Exchange(t, c, s, waitFor)
	conntest.CheckRTTer(t, s, waitFor)
	assert.Zero(t, netcode.RTTOf(c))
}
