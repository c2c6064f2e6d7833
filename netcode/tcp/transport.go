package tcp

import (
	"context"

	"github.com/tickwire/tickwire/netcode"
)

var _ netcode.Transport = (*Transport)(nil)

// DefaultAddr is the address a Transport with no Addr listens on.
const DefaultAddr = ":7778"

// Transport is framed TCP as the server assembly opens it.
type Transport struct {
	// Addr is the TCP address to listen on (default DefaultAddr; port 0 picks one).
	Addr string
	// Config tunes the connections; its HeartbeatInterval and IdleTimeout
	// must be zero (the engine's are used) or equal to the engine's, a
	// nil Logger takes the assembly's, and a nil TLS the server's
	// (netcode.Env.TLS: with server.Config.TLS set, TCP is TLS too).
	Config Config
}

// Name is "tcp".
func (t *Transport) Name() string { return "tcp" }

// Listen opens the TCP listener.
func (t *Transport) Listen(env netcode.Env) (netcode.Listener, error) {
	cfg := t.Config
	if cfg.TLS == nil {
		cfg.TLS = env.TLS // the server's, cloned by Listen
	}
	if err := env.Configure(&cfg.HeartbeatInterval, &cfg.IdleTimeout, &cfg.Logger, nil); err != nil {
		return nil, err
	}
	addr := t.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	return netcode.AsListener(Listen(addr, cfg))
}

// Dialer dials a framed-TCP server: its Dial is what a client SDK takes as
// its dial function (client.Options.Dial).
type Dialer struct {
	Addr   string // the server's TCP address
	Config Config
}

// Dial connects.
func (d Dialer) Dial(ctx context.Context) (netcode.Conn, error) {
	return netcode.AsConn(Dial(ctx, d.Addr, d.Config))
}
