package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/tlsconf"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// tlsServer starts a server whose HTTP API and TCP fallback use a
// self-signed certificate kept in its data directory, and returns the
// client TLS configuration that trusts that certificate.
func tlsServer(t *testing.T) (*server.Server, *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	ts, err := tlsconf.New(tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: dir})
	require.NoError(t, err)
	srv := servertest.Start(t, server.Config{
		DataDir: dir,
		TLS:     ts.TLSConfig(),
		Transports: []netcode.Transport{
			&tcp.Transport{Addr: servertest.Loopback}, &ws.Transport{}, &longpoll.Transport{},
		},
	})
	cli, err := tlsconf.Client(tlsconf.ClientConfig{CAFile: ts.CertFile()})
	require.NoError(t, err)
	return srv, cli
}

// Over TLS everywhere: register and log in over HTTPS, then a TCP client
// over TLS, a WebSocket client over WSS and a long-poll client over HTTPS
// share a relay room and hear each other's inputs through the engine.
func TestTLSEveryTransport(t *testing.T) {
	srv, cli := tlsServer(t)
	require.True(t, strings.HasPrefix(srv.HTTPURL(), "https://"), srv.HTTPURL())
	ctx := ctxT(t)
	api := client.API{Base: srv.HTTPURL(), HTTP: client.HTTPClient(cli)}
	_, err := api.Register(ctx, "tls_alice", "correct horse battery")
	require.NoError(t, err)
	acct, err := api.Login(ctx, "tls_alice", "correct horse battery")
	require.NoError(t, err)
	wsTok, err := api.GuestToken(ctx, "wss")
	require.NoError(t, err)
	lpTok, err := api.GuestToken(ctx, "lp")
	require.NoError(t, err)

	dial := func(d client.DialFunc, tok string) *client.Client {
		c, err := client.Dial(ctx, client.Options{Dial: d, Token: tok})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a := dial(tcp.Dialer{Addr: srv.Addr("tcp"), Config: tcp.Config{TLS: cli}}.Dial, acct.Token)
	b := dial(ws.Dialer{URL: "wss://" + srv.HTTPAddr() + ws.DefaultPath, Token: wsTok, TLSConfig: cli}.Dial, wsTok)
	c := dial(longpoll.Dialer{URL: srv.HTTPURL(), Token: lpTok, TLSConfig: cli}.Dial, lpTok)
	_, err = a.Ping(ctx)
	require.NoError(t, err)

	ra, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "tls", Capacity: 3, TickRate: 30})
	require.NoError(t, err)
	rb, err := b.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)
	rc, err := c.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)
	_, err = ra.SendInput(netcode.Reliable, []byte("sealed"))
	require.NoError(t, err)
	for name, p := range map[string]struct {
		c *client.Client
		r *client.Room
	}{"wss": {b, rb}, "longpoll": {c, rc}} {
		heard := false
		for !heard {
			select {
			case m, ok := <-p.c.Messages():
				require.True(t, ok, "%s client ended: %v", name, p.c.Err())
				u, isRoom, err := client.DecodeRoomUpdate(m)
				require.NoError(t, err)
				if !isRoom || !p.r.Owns(u) || u.Tick == nil {
					continue
				}
				for _, in := range u.Tick.Inputs {
					if in.Member == ra.Me() {
						assert.Equal(t, []byte("sealed"), in.Data, name)
						heard = true
					}
				}
			case <-ctx.Done():
				t.Fatalf("%s never heard the input", name)
			}
		}
	}
}

// A client that does not trust the certificate is refused with
// untrusted_certificate on every path (HTTP API, TCP, WebSocket, long-
// poll); the server counts the TCP handshakes it lost.
func TestTLSUntrustedClientRefused(t *testing.T) {
	srv, cli := tlsServer(t)
	ctx := ctxT(t)
	tok, err := client.API{Base: srv.HTTPURL(), HTTP: client.HTTPClient(cli)}.GuestToken(ctx, "ok")
	require.NoError(t, err)

	roots, err := tlsconf.Client(tlsconf.ClientConfig{}) // the system roots only
	require.NoError(t, err)
	_, err = client.GuestToken(ctx, srv.HTTPURL(), "no")
	assert.ErrorIs(t, err, netcode.CodeUntrustedCertificate, "HTTP API")
	for name, d := range map[string]client.DialFunc{
		"tcp":      tcp.Dialer{Addr: srv.Addr("tcp"), Config: tcp.Config{TLS: roots}}.Dial,
		"ws":       ws.Dialer{URL: "wss://" + srv.HTTPAddr() + ws.DefaultPath, Token: tok, TLSConfig: roots}.Dial,
		"longpoll": longpoll.Dialer{URL: srv.HTTPURL(), Token: tok, TLSConfig: roots}.Dial,
	} {
		_, err := client.Dial(ctx, client.Options{Dial: d, Token: tok})
		assert.ErrorIs(t, err, netcode.CodeUntrustedCertificate, name)
	}
	require.Eventually(t, func() bool {
		st, ok := srv.Engine().ServiceStats().Listeners["tcp/"+srv.Addr("tcp")]
		return ok && st.Refused["tls_handshake"] == 1
	}, 5*time.Second, 10*time.Millisecond, "the refused TCP handshake is counted")
	require.Eventually(t, func() bool {
		return srv.Engine().ServiceStats().HTTP.TLSHandshakeFailures >= 3 // guest token, WebSocket, long-poll
	}, 5*time.Second, 10*time.Millisecond, "the refused HTTPS handshakes are counted")

	insecure, err := tlsconf.Client(tlsconf.ClientConfig{InsecureSkipVerify: true})
	require.NoError(t, err)
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp"), Config: tcp.Config{TLS: insecure}}.Dial, Token: tok})
	require.NoError(t, err, "the insecure development mode connects")
	_ = c.Close()
}

// Plain HTTP to the HTTPS port gets a 400 at once, and a plain TCP
// client on the TLS port is cut off: neither hangs.
func TestTLSPlainClientsDoNotHang(t *testing.T) {
	srv, _ := tlsServer(t)
	start := time.Now()
	conn, err := net.DialTimeout("tcp", srv.HTTPAddr(), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Less(t, time.Since(start), 2*time.Second)

	_, err = client.Dial(ctxT(t), client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: "whatever"})
	require.Error(t, err, "a plain TCP client gets no session")
	assert.Less(t, time.Since(start), 3*time.Second)
}

// The self-signed certificate survives a restart: a client that trusted
// the file keeps connecting to the restarted server.
func TestTLSSelfSignedReusedOnRestart(t *testing.T) {
	dir := t.TempDir()
	start := func() (*server.Server, *tlsconf.Server) {
		ts, err := tlsconf.New(tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: dir})
		require.NoError(t, err)
		srv, err := server.Start(context.Background(), server.Config{DataDir: dir, HTTPAddr: servertest.Loopback, TLS: ts.TLSConfig()})
		require.NoError(t, err)
		return srv, ts
	}
	srv, ts := start()
	cli, err := tlsconf.Client(tlsconf.ClientConfig{CAFile: ts.CertFile()}) // read once, before the restart
	require.NoError(t, err)
	_, err = client.API{Base: srv.HTTPURL(), HTTP: client.HTTPClient(cli)}.GuestToken(ctxT(t), "one")
	require.NoError(t, err)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(sctx))

	srv2, ts2 := start()
	t.Cleanup(func() { _ = srv2.Shutdown(sctx) })
	assert.Equal(t, ts.Fingerprint(), ts2.Fingerprint())
	_, err = client.API{Base: srv2.HTTPURL(), HTTP: client.HTTPClient(cli)}.GuestToken(ctxT(t), "two")
	require.NoError(t, err, "the pinned certificate still verifies")
}

// lockedLog is a log destination safe for the server's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Without TLS the server warns when it listens beyond loopback (make
// run's ":7780"), and stays quiet on loopback (tests, a local proxy in
// front) and with TLS.
func TestPlainServerWarnsBeyondLoopback(t *testing.T) {
	for name, tc := range map[string]struct {
		addr string
		tls  bool
		warn bool
	}{
		"Loopback":         {addr: "127.0.0.1:0"},
		"AllInterfaces":    {addr: ":0", warn: true},
		"AllInterfacesTLS": {addr: ":0", tls: true},
	} {
		t.Run(name, func(t *testing.T) {
			var out lockedLog
			cfg := server.Config{HTTPAddr: tc.addr, Transports: []netcode.Transport{},
				Logger: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))}
			if tc.tls {
				ts, err := tlsconf.New(tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: t.TempDir()})
				require.NoError(t, err)
				cfg.TLS = ts.TLSConfig()
			}
			servertest.Start(t, cfg)
			assert.Equal(t, tc.warn, strings.Contains(out.String(), "TLS is off"), out.String())
		})
	}
}
