package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/tlsconf"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// tickbench measures a server that serves TLS: the stream transports
// (TCP over TLS, WSS, long-poll over HTTPS) echo, also through an impair
// proxy in front (the certificate is checked against the server's name,
// not the proxy's); without the certificate's CA nothing connects.
func TestEchoOverTLS(t *testing.T) {
	data := t.TempDir()
	ts, err := tlsconf.New(tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: data})
	require.NoError(t, err)
	srv := servertest.Start(t, server.Config{DataDir: data, TLS: ts.TLSConfig(),
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}, &ws.Transport{}, &longpoll.Transport{}}})
	cli, err := tlsconf.Client(tlsconf.ClientConfig{CAFile: ts.CertFile(), ServerName: "localhost"})
	require.NoError(t, err)
	target := Target{TCP: srv.Addr("tcp"), HTTP: srv.HTTPAddr()}
	streams := []string{TransportTCP, TransportWS, TransportLongPoll}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for name, imp := range map[string]Impairment{"direct": {}, "proxied": {Delay: time.Millisecond}} {
		rep, err := RunEcho(ctx, &Env{Target: target.WithTLS(cli)}, EchoConfig{Transports: streams, Count: 30,
			Duration: 10 * time.Second, Impairment: imp})
		require.NoError(t, err, name)
		require.Len(t, rep.Results, len(streams))
		for _, r := range rep.Results {
			require.EqualValues(t, 30, r.Received, "%s %s", name, r.Name)
		}
	}

	roots, err := tlsconf.Client(tlsconf.ClientConfig{ServerName: "localhost"})
	require.NoError(t, err)
	_, err = RunEcho(ctx, &Env{Target: target.WithTLS(roots)}, EchoConfig{Transports: []string{TransportTCP}, Count: 5, Duration: 5 * time.Second})
	require.ErrorIs(t, err, netcode.CodeUntrustedCertificate)
}
