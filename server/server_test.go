package server_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/internal/pgtest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// TestMain checks for goroutine leaks (kcp-go's process-wide workers
// excepted).
func TestMain(m *testing.M) { conntest.VerifyTestMain(pgtest.M(m)) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStartBindsAndShutsDown(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	for _, a := range []string{srv.Addr("kcp"), srv.Addr("tcp"), srv.HTTPAddr()} {
		host, port, err := net.SplitHostPort(a)
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
		assert.NotEqual(t, "0", port)
	}
	assert.Empty(t, srv.Addr("nope"), "no transport of that name")
	resp, err := http.Get(srv.HTTPURL() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Nil(t, srv.Err())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	<-srv.Done()
	require.NoError(t, srv.Shutdown(ctx), "idempotent")
	_, err = http.Get(srv.HTTPURL() + "/healthz")
	assert.Error(t, err, "HTTP listener closed")
}

// The server serves exactly the transports it is given.
func TestServesTheListedTransports(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		HTTPAddr:   server.Off,
	})
	assert.Empty(t, srv.Addr("kcp"))
	assert.Empty(t, srv.HTTPAddr())
	assert.NotEmpty(t, srv.Addr("tcp"))
}

// The data directory and the token key are private to the server's user,
// even when the directory existed with wider permissions.
func TestDataDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	servertest.Start(t, server.Config{DataDir: dir})
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	info, err = os.Stat(filepath.Join(dir, server.KeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

// A port already in use fails Start, and what Start had opened (the KCP
// socket) is released.
func TestStartFailureReleasesListeners(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	kcpAddr := udp.LocalAddr().String()
	require.NoError(t, udp.Close())

	_, err = server.Start(context.Background(), server.Config{
		Transports: []netcode.Transport{&kcp.Transport{Addr: kcpAddr}, &tcp.Transport{Addr: busy.Addr().String()}},
		HTTPAddr:   "127.0.0.1:0", DataDir: t.TempDir(),
	})
	require.Error(t, err)
	again, err := net.ListenPacket("udp", kcpAddr)
	require.NoError(t, err, "the KCP socket was released")
	require.NoError(t, again.Close())
}

// Welcome advertises the engine's heartbeat and idle timeout, so a
// transport configured with other values is refused rather than lied
// about; equal values are fine.
func TestTransportTimeoutsMustMatchWelcome(t *testing.T) {
	for name, tr := range map[string]netcode.Transport{
		"kcp idle":      &kcp.Transport{Addr: servertest.Loopback, Config: kcp.Config{IdleTimeout: 3 * time.Second}},
		"tcp heartbeat": &tcp.Transport{Addr: servertest.Loopback, Config: tcp.Config{HeartbeatInterval: 200 * time.Millisecond}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := server.Start(context.Background(), server.Config{
				Transports: []netcode.Transport{tr}, HTTPAddr: servertest.Loopback, DataDir: t.TempDir(),
			})
			require.ErrorContains(t, err, "Welcome advertises")
		})
	}
	cfg := server.Config{Transports: []netcode.Transport{
		&kcp.Transport{Addr: servertest.Loopback, Config: kcp.Config{IdleTimeout: 4 * time.Second}},
	}}
	cfg.Engine.IdleTimeout = 4 * time.Second
	srv := servertest.Start(t, cfg)
	require.NotEmpty(t, srv.Addr("kcp"))
}

// Without a configured key, the server keeps one in its data directory:
// a token issued before a restart still opens a session after it.
func TestTokensOutliveARestart(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	cfg := server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		HTTPAddr:   servertest.Loopback, DataDir: dir,
	}
	srv, err := server.Start(ctx, cfg)
	require.NoError(t, err)
	token, err := client.GuestToken(ctx, srv.HTTPURL(), "ada")
	require.NoError(t, err)
	require.NoError(t, srv.Shutdown(ctx))

	srv, err = server.Start(ctx, cfg)
	require.NoError(t, err)
	defer srv.Shutdown(ctx) //nolint:errcheck // the test's own cleanup
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: token})
	require.NoError(t, err)
	assert.Equal(t, "ada", c.Welcome().DisplayName)
	require.NoError(t, c.Close())

	// A damaged key file is refused rather than silently replaced.
	require.NoError(t, srv.Shutdown(ctx))
	require.NoError(t, os.WriteFile(filepath.Join(dir, server.KeyFile), []byte("not hex"), 0o600))
	_, err = server.Start(ctx, cfg)
	require.Error(t, err)
}

func TestNilTransportIsRefused(t *testing.T) {
	_, err := server.Start(context.Background(), server.Config{
		Transports: []netcode.Transport{nil}, HTTPAddr: server.Off, DataDir: t.TempDir(),
	})
	require.ErrorContains(t, err, "Transports[0] is nil")
}
