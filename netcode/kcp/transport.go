package kcp

import (
	"context"

	"github.com/tickwire/tickwire/netcode"
)

var _ netcode.Transport = (*Transport)(nil)

// DefaultAddr is the address a Transport with no Addr listens on.
const DefaultAddr = ":7777"

// Transport is KCP as the server assembly opens it: one UDP socket on
// Addr for every session, reliable and unreliable channels on it.
type Transport struct {
	// Addr is the UDP address to listen on (default DefaultAddr; port 0 picks one).
	Addr string
	// Config tunes the listener; its HeartbeatInterval and IdleTimeout
	// must be zero (the engine's are used) or equal to the engine's, and
	// a nil Logger takes the assembly's.
	Config Config
}

// Name is "kcp".
func (t *Transport) Name() string { return "kcp" }

// Listen opens the UDP socket.
func (t *Transport) Listen(env netcode.Env) (netcode.Listener, error) {
	cfg := t.Config
	if err := env.Configure(&cfg.HeartbeatInterval, &cfg.IdleTimeout, &cfg.Logger, nil); err != nil {
		return nil, err
	}
	addr := t.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	return netcode.AsListener(Listen(addr, cfg))
}

// Dialer dials a KCP server: its Dial is what a client SDK takes as its
// dial function (client.Options.Dial).
type Dialer struct {
	Addr   string // the server's UDP address
	Config Config
	// Socket, when set, carries the session on a shared ClientSocket
	// (whose own Config then applies) instead of a socket of its own.
	Socket *ClientSocket
}

// Dial connects and completes the handshake.
func (d Dialer) Dial(ctx context.Context) (netcode.Conn, error) {
	if d.Socket != nil {
		return netcode.AsConn(d.Socket.Dial(ctx, d.Addr))
	}
	return netcode.AsConn(Dial(ctx, d.Addr, d.Config))
}
