package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
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
