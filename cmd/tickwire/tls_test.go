package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/tlsconf"
)

func TestParseTLS(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, tlsconf.ModeOff, o.tls.Mode, "plain by default (make run on a dev machine)")

	o, err = parse([]string{"-tls-self-signed", "-tls-hosts", "game.lan, 192.168.1.5", "-data", "/tmp/d"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: "/tmp/d", Hosts: []string{"game.lan", "192.168.1.5"}}, o.tls)

	o, err = parse(nil, envOf(map[string]string{"TICKWIRE_TLS_CERT": "c.pem", "TICKWIRE_TLS_KEY": "k.pem"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, tlsconf.Config{Mode: tlsconf.ModeFiles, CertFile: "c.pem", KeyFile: "k.pem"}, o.tls)

	o, err = parse([]string{"-tls-acme-domain", "play.example.com", "-tls-acme-email", "ops@example.com", "-data", "/srv/tw"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, tlsconf.Config{Mode: tlsconf.ModeACME, Hosts: []string{"play.example.com"}, Dir: filepath.Join("/srv/tw", "acme"),
		Email: "ops@example.com"}, o.tls)

	for name, args := range map[string][]string{
		"CertWithoutKey":    {"-tls-cert", "c.pem"},
		"FilesAndSelf":      {"-tls-cert", "c.pem", "-tls-key", "k.pem", "-tls-self-signed"},
		"SelfAndACME":       {"-tls-self-signed", "-tls-acme-domain", "x.example"},
		"HostsWithoutSelf":  {"-tls-hosts", "x"},
		"EmailWithoutACME":  {"-tls-acme-email", "a@b.c"},
		"CacheWithoutACME":  {"-tls-acme-cache", "/tmp/x"},
		"ACMEWithPortInDom": {"-tls-acme-domain", "x.example:443"},
	} {
		t.Run(name, func(t *testing.T) {
			o, err := parse(args, envOf(nil), io.Discard)
			if err == nil { // a malformed domain is tlsconf's to refuse, at start
				_, err = tlsconf.New(o.tls)
			}
			require.Error(t, err)
		})
	}
}

// tickwire -tls-self-signed serves HTTPS and TCP over TLS with the
// certificate it keeps in the data directory and logs its fingerprint.
func TestRunSelfSigned(t *testing.T) {
	logs := logLines{ch: make(chan map[string]any, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := t.TempDir()
	done := make(chan error, 1)
	args := []string{"-kcp", "off", "-webrtc", "off", "-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0", "-data", data,
		"-log-format", "json", "-tls-self-signed"}
	go func() { done <- run(ctx, args, envOf(nil), logs) }()

	var listening, cert map[string]any
	deadline := time.After(10 * time.Second)
	for listening == nil {
		select {
		case m := <-logs.ch:
			switch {
			case m["msg"] == "tickwire listening":
				listening = m
			case m["cert"] != nil:
				cert = m
			}
		case err := <-done:
			t.Fatalf("run ended early: %v", err)
		case <-deadline:
			t.Fatal("server did not start")
		}
	}
	require.NotNil(t, cert, "the certificate is logged before the server listens")
	assert.Equal(t, filepath.Join(data, tlsconf.SelfSignedCertFile), cert["cert"])
	assert.Regexp(t, `^([0-9A-F]{2}:){31}[0-9A-F]{2}$`, cert["sha256"])
	assert.Equal(t, true, listening["tls"])

	cli, err := tlsconf.Client(tlsconf.ClientConfig{CAFile: cert["cert"].(string)})
	require.NoError(t, err)
	base := "https://" + listening["http"].(string)
	hc := client.HTTPClient(cli)
	resp, err := hc.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	hc.CloseIdleConnections()

	tok, err := client.API{Base: base, HTTP: client.HTTPClient(cli)}.GuestToken(ctx, "cli")
	require.NoError(t, err)
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: listening["tcp"].(string), Config: tcp.Config{TLS: cli}}.Dial, Token: tok})
	require.NoError(t, err)
	defer c.Close()
	_, err = client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: listening["tcp"].(string)}.Dial, Token: tok})
	require.Error(t, err, "plain TCP is not served beside TLS")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	<-c.Done()
	assert.ErrorIs(t, c.Err(), netcode.ErrClosed)
}

// SIGHUP makes the real binary (this test binary running main, as a
// child) read -tls-cert and -tls-key again: handshakes after it get the
// new certificate, and a bad pair keeps the old one.
func TestSIGHUPReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install := func(host string) *tlsconf.Server { // a certificate for host, written where the flags point
		s, err := tlsconf.New(tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: t.TempDir(), Hosts: []string{host}})
		require.NoError(t, err)
		for src, dst := range map[string]string{s.CertFile(): certPath, filepath.Join(filepath.Dir(s.CertFile()), tlsconf.SelfSignedKeyFile): keyPath} {
			b, err := os.ReadFile(src)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(dst+".tmp", b, 0o600))
			require.NoError(t, os.Rename(dst+".tmp", dst))
		}
		return s
	}
	first := install("one.test")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-kcp", "off", "-webrtc", "off", "-tcp", "off", "-http", "127.0.0.1:0",
		"-data", t.TempDir(), "-log-format", "json", "-tls-cert", certPath, "-tls-key", keyPath)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	lines := make(chan map[string]any, 256)
	go func() { // reads the child's log to EOF, then reaps it
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case lines <- m:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	var addr string
	for addr == "" {
		select {
		case m := <-lines:
			if m["msg"] == "tickwire listening" {
				addr = m["http"].(string)
			}
		case <-ctx.Done():
			t.Fatal("the child did not start")
		}
	}
	// fingerprint is the SHA-256 of the certificate the server presents.
	served := func() string {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		require.NoError(t, err)
		defer c.Close()
		sum := sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
		return fmt.Sprintf("%X", sum[:])
	}
	hexOf := func(s *tlsconf.Server) string { return strings.ReplaceAll(s.Fingerprint(), ":", "") }
	require.Equal(t, hexOf(first), served())

	second := install("two.test")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return served() == hexOf(second) }, 10*time.Second, 20*time.Millisecond,
		"the reloaded certificate is served")

	require.NoError(t, os.WriteFile(keyPath, []byte("not a key"), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	for failed := false; !failed; {
		select {
		case m := <-lines:
			failed = m["msg"] == "TLS reload failed; the previous certificate stays"
		case <-ctx.Done():
			t.Fatal("the failed reload was not logged")
		}
	}
	assert.Equal(t, hexOf(second), served(), "a bad pair keeps the certificate served")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("the child did not stop")
	}
}
