package client_test

import (
	"context"
	"errors"
	"log"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/tlsconf"
)

// A server that runs with TLS (here its self-signed development
// certificate, `tickwire -tls-self-signed`): the HTTP API over HTTPS and
// the session over TCP inside TLS (or WSS), both verified against the
// server's certificate file. With a certificate from a public CA, leave
// CAFile empty: the system roots verify it.
func ExampleAPI_tls() {
	ctx := context.Background()
	tc, err := tlsconf.Client(tlsconf.ClientConfig{CAFile: "data/tls-self-signed.crt"})
	if err != nil {
		log.Fatal(err)
	}
	api := client.API{Base: "https://127.0.0.1:7780", HTTP: client.HTTPClient(tc)}
	acct, err := api.Login(ctx, "ada", "correct horse battery")
	if errors.Is(err, netcode.CodeUntrustedCertificate) {
		log.Fatal("not the server we trust: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.Dial(ctx, client.Options{Token: acct.Token,
		Dial: tcp.Dialer{Addr: "127.0.0.1:7778", Config: tcp.Config{TLS: tc}}.Dial})
	// Or WebSocket over TLS:
	//   Dial: ws.Dialer{URL: "wss://127.0.0.1:7780/v1/ws", Token: acct.Token, TLSConfig: tc}.Dial
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}
