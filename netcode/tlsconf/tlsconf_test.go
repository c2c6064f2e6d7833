package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tickwire/tickwire/netcode"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// handshake serves one TLS handshake with srv on a loopback socket and
// returns what the client saw: the server's certificate, or the error.
func handshake(t *testing.T, srv *tls.Config, cli *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_ = tls.Server(c, srv).Handshake() // the client's side is what the test checks
	}()
	defer func() { <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := tls.Dialer{Config: cli}
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return nil, netcode.TLSFailure(err)
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

func client(t *testing.T, c ClientConfig) *tls.Config {
	t.Helper()
	cfg, err := Client(c)
	require.NoError(t, err)
	return cfg
}

// The self-signed mode keeps its certificate in the directory: a restart
// serves the same one (clients that pinned it keep working); a new host
// name or a certificate near its end replaces it.
func TestSelfSignedIsStableAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	first, err := New(Config{Mode: ModeSelfSigned, Dir: dir, Hosts: []string{"game.test"}, Now: clock})
	require.NoError(t, err)
	require.NotEmpty(t, first.Fingerprint())
	assert.Regexp(t, `^([0-9A-F]{2}:){31}[0-9A-F]{2}$`, first.Fingerprint())
	assert.Equal(t, filepath.Join(dir, SelfSignedCertFile), first.CertFile())
	st, err := os.Stat(filepath.Join(dir, SelfSignedKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the key is private")

	again, err := New(Config{Mode: ModeSelfSigned, Dir: dir, Hosts: []string{"game.test"}, Now: clock})
	require.NoError(t, err)
	assert.Equal(t, first.Fingerprint(), again.Fingerprint(), "a restart reuses the stored certificate")
	assert.Equal(t, first.SPKIHash(), again.SPKIHash())

	// Every default host and the given one are covered, and a client
	// that trusts the stored file verifies the server by each name.
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "game.test"} {
		cert, err := handshake(t, again.TLSConfig(), client(t, ClientConfig{CAFile: again.CertFile(), ServerName: host}))
		require.NoError(t, err, host)
		assert.Equal(t, first.cert.Load().Leaf.Raw, cert.Raw)
	}

	other, err := New(Config{Mode: ModeSelfSigned, Dir: dir, Hosts: []string{"game.test", "lan.test"}, Now: clock})
	require.NoError(t, err)
	assert.NotEqual(t, first.Fingerprint(), other.Fingerprint(), "a host the stored certificate lacks makes a new one")
	require.NoError(t, other.cert.Load().Leaf.VerifyHostname("lan.test"))

	now = now.Add(selfSignedLifetime - selfSignedRenewBefore + time.Hour)
	renewed, err := New(Config{Mode: ModeSelfSigned, Dir: dir, Hosts: []string{"game.test", "lan.test"}, Now: clock})
	require.NoError(t, err)
	assert.NotEqual(t, other.Fingerprint(), renewed.Fingerprint(), "a certificate near its end is replaced")
}

// A client that trusts only the system roots, or another certificate,
// refuses the self-signed server with untrusted_certificate; the
// insecure mode accepts it.
func TestClientVerifies(t *testing.T) {
	srv, err := New(Config{Mode: ModeSelfSigned, Dir: t.TempDir()})
	require.NoError(t, err)
	elsewhere, err := New(Config{Mode: ModeSelfSigned, Dir: t.TempDir()})
	require.NoError(t, err)

	for name, cc := range map[string]ClientConfig{
		"SystemRoots":  {ServerName: "localhost"},
		"OtherCert":    {ServerName: "localhost", CAFile: elsewhere.CertFile()},
		"WrongName":    {ServerName: "not-this-server.test", CAFile: srv.CertFile()},
		"PinnedButIP6": {ServerName: "::2", CAFile: srv.CertFile()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := handshake(t, srv.TLSConfig(), client(t, cc))
			require.Error(t, err)
			assert.ErrorIs(t, err, netcode.CodeUntrustedCertificate)
			assert.Equal(t, netcode.CodeUntrustedCertificate, netcode.CodeOf(err))
			assert.False(t, netcode.CodeOf(err).MayReconnect())
		})
	}
	t.Run("Insecure", func(t *testing.T) {
		_, err := handshake(t, srv.TLSConfig(), client(t, ClientConfig{InsecureSkipVerify: true}))
		require.NoError(t, err)
	})
	t.Run("TLS12Refused", func(t *testing.T) {
		cli := client(t, ClientConfig{CAFile: srv.CertFile(), ServerName: "localhost"})
		cli.MinVersion, cli.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		_, err := handshake(t, srv.TLSConfig(), cli)
		require.Error(t, err, "the server takes TLS 1.3 only")
		assert.NotErrorIs(t, err, netcode.CodeUntrustedCertificate)
	})
}

func TestClientConfigErrors(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	_, err := Client(ClientConfig{CAFile: notPEM})
	assert.ErrorIs(t, err, ErrBadConfig)
	_, err = Client(ClientConfig{CAFile: filepath.Join(t.TempDir(), "missing.pem")})
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = Client(ClientConfig{CAFile: notPEM, InsecureSkipVerify: true})
	assert.ErrorIs(t, err, ErrBadConfig)
	cfg, err := Client(ClientConfig{})
	require.NoError(t, err)
	assert.Nil(t, cfg.RootCAs, "the zero value trusts the system roots")
	assert.False(t, cfg.InsecureSkipVerify)
	assert.Equal(t, uint16(tls.VersionTLS13), cfg.MinVersion)
}

// ModeFiles serves the files' certificate; Reload takes a replaced pair
// for new handshakes and keeps the old one when the new files are bad.
func TestFilesReload(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(host string) {
		c, k, err := generateSelfSigned([]string{host}, time.Now())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(certPath, c, 0o600))
		require.NoError(t, os.WriteFile(keyPath, k, 0o600))
	}
	write("one.test")
	srv, err := New(Config{Mode: ModeFiles, CertFile: certPath, KeyFile: keyPath})
	require.NoError(t, err)
	assert.Equal(t, certPath, srv.CertFile())
	cert, err := handshake(t, srv.TLSConfig(), client(t, ClientConfig{CAFile: certPath, ServerName: "one.test"}))
	require.NoError(t, err)
	require.NoError(t, cert.VerifyHostname("one.test"))

	write("two.test")
	require.NoError(t, srv.Reload())
	cert, err = handshake(t, srv.TLSConfig(), client(t, ClientConfig{CAFile: certPath, ServerName: "two.test"}))
	require.NoError(t, err, "the reloaded certificate serves the next handshake")
	require.NoError(t, cert.VerifyHostname("two.test"))

	require.NoError(t, os.WriteFile(keyPath, []byte("garbage"), 0o600))
	require.Error(t, srv.Reload())
	cert, err = handshake(t, srv.TLSConfig(), client(t, ClientConfig{CAFile: certPath, ServerName: "two.test"}))
	require.NoError(t, err, "a failed reload keeps the certificate served so far")
	require.NoError(t, cert.VerifyHostname("two.test"))

	_, err = New(Config{Mode: ModeFiles, CertFile: certPath})
	assert.ErrorIs(t, err, ErrBadConfig)
	_, err = New(Config{Mode: ModeFiles, CertFile: certPath, KeyFile: filepath.Join(dir, "missing")})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// ACME wiring without a CA: a certificate autocert finds in its cache
// directory is served for an allowed domain, a domain not listed is
// refused at the handshake (without contacting the CA), and the
// TLS-ALPN-01 protocol is offered.
func TestACMEWiring(t *testing.T) {
	cache := t.TempDir()
	const domain = "game.example.test"
	certPEM, keyPEM, err := generateSelfSigned([]string{domain}, time.Now())
	require.NoError(t, err)
	// autocert.DirCache's format: the key, then the chain, under the
	// domain's name (ECDSA).
	require.NoError(t, os.WriteFile(filepath.Join(cache, domain), append(keyPEM, certPEM...), 0o600))

	// A directory URL nobody answers: the test fails rather than reach a
	// real CA if anything tries.
	srv, err := New(Config{Mode: ModeACME, Hosts: []string{domain}, Dir: cache, Email: "ops@example.test",
		DirectoryURL: "https://127.0.0.1:1/directory"})
	require.NoError(t, err)
	assert.Equal(t, ModeACME, srv.Mode())
	assert.Contains(t, srv.TLSConfig().NextProtos, "acme-tls/1")
	assert.Empty(t, srv.CertFile())
	assert.Empty(t, srv.Fingerprint())

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, certPEM, 0o600))
	cert, err := handshake(t, srv.TLSConfig(), client(t, ClientConfig{CAFile: caFile, ServerName: domain}))
	require.NoError(t, err)
	require.NoError(t, cert.VerifyHostname(domain))

	_, err = handshake(t, srv.TLSConfig(), client(t, ClientConfig{InsecureSkipVerify: true, ServerName: "other.example.test"}))
	require.Error(t, err, "a domain not listed gets no certificate")

	for name, cfg := range map[string]Config{
		"NoDomain": {Mode: ModeACME, Dir: cache},
		"NoCache":  {Mode: ModeACME, Hosts: []string{domain}},
		"BadHost":  {Mode: ModeACME, Hosts: []string{"https://x.test"}, Dir: cache},
	} {
		_, err := New(cfg)
		assert.ErrorIs(t, err, ErrBadConfig, name)
	}
}

func TestModeOffAndNames(t *testing.T) {
	srv, err := New(Config{})
	require.NoError(t, err)
	assert.Nil(t, srv)
	_, err = New(Config{Mode: ModeSelfSigned})
	assert.ErrorIs(t, err, ErrBadConfig)
	_, err = New(Config{Mode: Mode(9)})
	assert.ErrorIs(t, err, ErrBadConfig)
	assert.Equal(t, "self-signed", ModeSelfSigned.String())
	assert.Equal(t, "mode(9)", Mode(9).String())
	assert.False(t, errors.Is(netcode.TLSFailure(errors.New("other")), netcode.CodeUntrustedCertificate))
	assert.Nil(t, netcode.TLSFailure(nil))
}
