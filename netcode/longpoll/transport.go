package longpoll

import (
	"github.com/tickwire/tickwire/netcode"
)

var _ netcode.Transport = (*Transport)(nil)

// Transport is HTTP long-polling as the server assembly opens it: its
// routes go on the assembly's one HTTP server, under Prefix.
type Transport struct {
	// Config tunes the sessions; its HeartbeatInterval and IdleTimeout
	// must be zero (the engine's are used) or equal to the engine's, a
	// zero MaxMessageSize takes the engine's frame limit, and a nil
	// Logger takes the assembly's.
	Config Config
}

// Name is "longpoll".
func (t *Transport) Name() string { return transportName }

// Listen mounts the routes on env.HTTP (netcode.ErrNoHTTP when the HTTP
// server is off).
func (t *Transport) Listen(env netcode.Env) (netcode.Listener, error) {
	if env.HTTP == nil {
		return nil, netcode.ErrNoHTTP
	}
	cfg := t.Config
	if err := env.Configure(&cfg.HeartbeatInterval, &cfg.IdleTimeout, &cfg.Logger, &cfg.MaxMessageSize); err != nil {
		return nil, err
	}
	return netcode.AsListener(Listen(env.HTTP, env, cfg))
}
