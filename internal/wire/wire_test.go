package wire_test

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
	"github.com/tickwire/tickwire/internal/wire"
	"github.com/tickwire/tickwire/internal/wire/wiretest"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestMain checks for goroutine leaks (kcp-go's process-wide workers
// excepted).
func TestMain(m *testing.M) { conntest.VerifyTestMain(m) }

func TestStartBindsAndShutsDown(t *testing.T) {
	srv := wiretest.Start(t, wire.Config{})
	for _, a := range []string{srv.KCPAddr(), srv.TCPAddr(), srv.HTTPAddr()} {
		host, port, err := net.SplitHostPort(a)
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
		assert.NotEqual(t, "0", port)
	}
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

func TestListenersCanBeTurnedOff(t *testing.T) {
	srv := wiretest.Start(t, wire.Config{KCPAddr: wire.Off, HTTPAddr: wire.Off})
	assert.Empty(t, srv.KCPAddr())
	assert.Empty(t, srv.HTTPAddr())
	assert.NotEmpty(t, srv.TCPAddr())
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

	_, err = wire.Start(context.Background(), wire.Config{
		KCPAddr: kcpAddr, TCPAddr: busy.Addr().String(), HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(),
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
	base := wire.Config{KCPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"}
	for name, mut := range map[string]func(c *wire.Config){
		"kcp idle":      func(c *wire.Config) { c.KCP.IdleTimeout = 3 * time.Second },
		"tcp heartbeat": func(c *wire.Config) { c.TCP.HeartbeatInterval = 200 * time.Millisecond },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			cfg.DataDir = t.TempDir()
			mut(&cfg)
			_, err := wire.Start(context.Background(), cfg)
			require.ErrorContains(t, err, "Welcome advertises")
		})
	}
	cfg := base
	cfg.DataDir = t.TempDir()
	cfg.Engine.IdleTimeout = 4 * time.Second
	cfg.KCP.IdleTimeout = 4 * time.Second
	srv := wiretest.Start(t, cfg)
	require.NotEmpty(t, srv.KCPAddr())
}

// Without a configured key, the server keeps one in its data directory:
// a token issued before a restart still opens a session after it.
func TestTokensOutliveARestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := wire.Config{KCPAddr: wire.Off, TCPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: dir}
	srv, err := wire.Start(ctx, cfg)
	require.NoError(t, err)
	token, err := client.GuestToken(ctx, srv.HTTPURL(), "ada")
	require.NoError(t, err)
	require.NoError(t, srv.Shutdown(ctx))

	info, err := os.Stat(filepath.Join(dir, wire.KeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	srv, err = wire.Start(ctx, cfg)
	require.NoError(t, err)
	defer srv.Shutdown(ctx) //nolint:errcheck // the test's own cleanup
	c, err := client.Dial(ctx, client.Options{Transport: client.TransportTCP, Addr: srv.TCPAddr(), Token: token})
	require.NoError(t, err)
	assert.Equal(t, "ada", c.Welcome().DisplayName)
	require.NoError(t, c.Close())

	// A damaged key file is refused rather than silently replaced.
	require.NoError(t, srv.Shutdown(ctx))
	require.NoError(t, os.WriteFile(filepath.Join(dir, wire.KeyFile), []byte("not hex"), 0o600))
	_, err = wire.Start(ctx, cfg)
	require.Error(t, err)
}
