package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
)

// transport is one way tickctl reaches the server: one entry each.
type transport struct {
	// addr is the default realtime address; "" for the transports that
	// go through the HTTP base (--http).
	addr string
	dial func(s settings) client.DialFunc
}

var transports = map[string]transport{
	"kcp": {addr: defaultKCPAddr, dial: dialKCP},
	// TCP is TLS when the server's HTTP API is https:// (the server's one
	// TLS configuration covers both).
	"tcp": {addr: defaultTCPAddr, dial: func(s settings) client.DialFunc {
		return tcp.Dialer{Addr: s.addr, Config: tcp.Config{TLS: s.tls}}.Dial
	}},
	"ws": {dial: func(s settings) client.DialFunc {
		return ws.Dialer{URL: wsURL(s.http), Token: s.token, TLSConfig: s.tls}.Dial
	}},
	"longpoll": {dial: func(s settings) client.DialFunc {
		return longpoll.Dialer{URL: s.http, Token: s.token, TLSConfig: s.tls}.Dial
	}},
	"webrtc": {dial: func(s settings) client.DialFunc {
		d := webrtc.Dialer{URL: s.http, Token: s.token}
		if s.tls != nil {
			d.HTTPClient = client.HTTPClient(s.tls)
		}
		return d.Dial
	}},
}

// dialKCP dials a sealed KCP session with the server's key pinned: the
// one given (-kcp-key), or the one the HTTP API publishes (GET /v1/kcp).
func dialKCP(s settings) client.DialFunc {
	return func(ctx context.Context) (netcode.Conn, error) {
		if s.kcpKey != "" {
			key, err := kcp.ParsePublicKey(s.kcpKey)
			if err != nil {
				return nil, fmt.Errorf("-kcp-key: %w", err)
			}
			return kcp.Dialer{Addr: s.addr, Config: kcp.Config{ServerKey: key}}.Dial(ctx)
		}
		var hc *http.Client
		if s.tls != nil {
			hc = client.HTTPClient(s.tls)
		}
		d, err := kcp.DialerFromHTTP(ctx, hc, s.http, s.addr, kcp.Config{})
		if err != nil {
			return nil, fmt.Errorf("the server's KCP key (give -kcp-key, or an -http that serves %s): %w", kcp.InfoPath, err)
		}
		return d.Dial(ctx)
	}
}

// transportNames lists the transports for help and errors.
func transportNames() string {
	names := make([]string, 0, len(transports))
	for n := range transports {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// wsURL is the WebSocket URL of the server whose HTTP base is base.
func wsURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		base = "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		base = "ws://" + strings.TrimPrefix(base, "http://")
	}
	return base + ws.DefaultPath
}
