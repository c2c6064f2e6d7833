package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/tlsconf"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// tlsHarness is a harness whose server serves HTTPS and TCP over TLS
// with a self-signed certificate; it returns the certificate's file.
func tlsHarness(t *testing.T) (*harness, string) {
	t.Helper()
	h := newHarness(t)
	t.Setenv("TICKCTL_TLS_CA", "")
	data := t.TempDir()
	ts, err := tlsconf.New(tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: data})
	require.NoError(t, err)
	h.srv = servertest.Start(t, server.Config{
		DataDir:  data,
		TLS:      ts.TLSConfig(),
		Accounts: accounts.Config{Argon2: cheapArgon2},
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}, &ws.Transport{}, &longpoll.Transport{},
			&webrtc.Transport{Addr: servertest.Loopback}},
	})
	require.True(t, strings.HasPrefix(h.srv.HTTPURL(), "https://"))
	return h, ts.CertFile()
}

// tickctl against an HTTPS server: refused (untrusted_certificate) until
// it is given the certificate with --tls-ca, which the profile keeps;
// then the HTTP API and every TLS transport work.
func TestTLSServer(t *testing.T) {
	h, ca := tlsHarness(t)

	r := h.run("", "--profile", "ann", "register", "ann", "--password", pw)
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "untrusted_certificate (23)")

	r = h.run("", "--profile", "ann", "--json", "guest", "x")
	assert.Equal(t, exitError, r.code)
	var e errorJSON
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(r.stderr)), &e), r.stderr)
	assert.Equal(t, "untrusted_certificate", e.Error)

	assert.Contains(t, h.ok("", "--profile", "ann", "--tls-ca", ca, "register", "ann", "--password", pw), "registered ann")
	// Later commands trust the saved CA file without the flag.
	assert.Contains(t, h.ok("", "--profile", "ann", "whoami"), "ann")
	for _, tr := range []string{"tcp", "ws", "longpoll", "webrtc"} {
		args := []string{"--profile", "ann", "--transport", tr, "--json", "ping", "--count", "1"}
		if tr == "tcp" {
			args = append([]string{"--addr", h.srv.Addr("tcp")}, args...)
		}
		sum := jsonLines(t, h.ok("", args...), "ping_summary")
		require.Len(t, sum, 1, tr)
		assert.Equal(t, tr, sum[0]["transport"])
	}

	// A CA file that is not the server's is refused just the same.
	other, err := tlsconf.New(tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: t.TempDir()})
	require.NoError(t, err)
	r = h.run("", "--profile", "ann", "--tls-ca", other.CertFile(), "whoami")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "untrusted_certificate (23)")

	// --insecure connects, and says what it gives up.
	r = h.run("", "--profile", "eve", "--insecure", "guest", "eve")
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "not checked")
}

func TestTLSFlagsNeedHTTPS(t *testing.T) {
	h := newHarness(t) // plain http://
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, []byte("x"), 0o600))
	for _, flags := range [][]string{{"--tls-ca", ca}, {"--insecure"}} {
		r := h.run("", append(flags, "guest", "x")...)
		assert.Equal(t, exitUsage, r.code, flags)
		assert.Contains(t, r.stderr, "https://")
	}
}
