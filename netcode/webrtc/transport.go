package webrtc

import (
	"context"
	"fmt"
	"net"

	"github.com/tickwire/tickwire/netcode"
)

var _ netcode.Transport = (*Transport)(nil)

// DefaultAddr is the UDP address a Transport with no Addr listens on
// (KCP has 7777, TCP 7778, HTTP 7780).
const DefaultAddr = ":7779"

// Transport is WebRTC as the server assembly opens it: the offer route
// on the one HTTP server, and one UDP port on Addr for every session.
type Transport struct {
	// Addr is the UDP address all sessions share (default DefaultAddr;
	// port 0 picks one). Bind a specific IP on hosts with several
	// interfaces; a loopback IP makes loopback candidates (tests).
	Addr string
	// Config tunes the listener; its HeartbeatInterval and IdleTimeout
	// must be zero (the engine's are used) or equal to the engine's; a
	// zero MaxMessageSize takes the engine's frame limit; a nil Logger
	// takes the assembly's.
	Config Config

	// conn, when set (tests), is the socket to serve on instead of Addr.
	conn net.PacketConn
}

// Name is "webrtc".
func (t *Transport) Name() string { return transportName }

// Listen opens the UDP port and mounts POST /v1/rtc/offer on env.HTTP.
func (t *Transport) Listen(env netcode.Env) (netcode.Listener, error) {
	return netcode.AsListener(t.listen(env))
}

func (t *Transport) listen(env netcode.Env) (*Listener, error) {
	if env.HTTP == nil {
		return nil, netcode.ErrNoHTTP
	}
	cfg := t.Config
	if err := env.Configure(&cfg.HeartbeatInterval, &cfg.IdleTimeout, &cfg.Logger, &cfg.MaxMessageSize); err != nil {
		return nil, err
	}
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	sock := t.conn
	if sock == nil {
		addr := t.Addr
		if addr == "" {
			addr = DefaultAddr
		}
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("webrtc: listen %q: %w", addr, err)
		}
		uc, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, fmt.Errorf("webrtc: listen %q: %w", addr, err)
		}
		sock = uc
	}
	return listen(sock, cfg, env)
}

// Dialer connects to a tickwire server's WebRTC transport: its Dial is
// what a client SDK takes as its dial function (client.Options.Dial).
type Dialer struct {
	// URL is the server's HTTP base URL ("http://127.0.0.1:7780"); the
	// offer goes to URL + OfferPath.
	URL string
	// Token is the bearer token the offer presents (the same token the
	// session's Hello carries).
	Token string
	// Config tunes the client side; leave HeartbeatInterval and
	// IdleTimeout to match the server's (Welcome advertises them).
	Config Config
	// HTTPClient posts the offer (default: a client with a 10 s timeout).
	HTTPClient HTTPDoer
}

// Dial posts an offer, applies the answer and waits until both data
// channels are open.
func (d Dialer) Dial(ctx context.Context) (netcode.Conn, error) {
	return netcode.AsConn(Dial(ctx, d))
}
