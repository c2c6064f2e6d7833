package ws

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// Defaults applied to zero Config fields.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultIdleTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 5 * time.Second
	DefaultHandshakeTimeout  = 5 * time.Second
	DefaultMaxPending        = 256
	DefaultAcceptBacklog     = 128

	// MaxMessageSizeLimit is the largest MaxMessageSize a Config may ask
	// for; the read buffer of a Conn grows up to MaxMessageSize+1.
	MaxMessageSizeLimit = 16 << 20

	// MaxTokenSize caps a bearer token checked before the upgrade (as the
	// protocol caps the token in Hello).
	MaxTokenSize = 4096

	// closeTimeout bounds the close handshake Close performs.
	closeTimeout = 250 * time.Millisecond
)

// ErrBadConfig is returned by NewListener, Listen and Dial for an invalid
// Config.
var ErrBadConfig = errors.New("ws: invalid config")

// Config tunes a WebSocket transport. The zero value means defaults.
// Fields marked "server" are ignored by Dial.
type Config struct {
	// MaxMessageSize is the largest message body written or accepted
	// (default: the engine's frame limit when the assembly opens the
	// transport, else netcode.DefaultMaxMessageSize). A WebSocket message
	// carries one mark byte more. A larger message read closes the
	// connection with frame_too_large.
	MaxMessageSize int
	// HeartbeatInterval: a heartbeat message is sent when nothing else
	// was sent for this long (default 1 s).
	HeartbeatInterval time.Duration
	// IdleTimeout: when nothing at all (message, heartbeat, ping or pong)
	// is received for this long while ReadMessage waits, ReadMessage
	// returns an error matching netcode.ErrIdleTimeout and the peer is
	// sent a close with idle_timeout (default 10 s). Must exceed
	// HeartbeatInterval.
	IdleTimeout time.Duration
	// WriteTimeout bounds every write; past it WriteMessage returns an
	// error matching netcode.ErrWriteTimeout (default 5 s).
	WriteTimeout time.Duration

	// HandshakeTimeout (server): an upgraded connection whose first
	// message has not arrived within it is closed with handshake_timeout
	// (default 5 s).
	HandshakeTimeout time.Duration
	// MaxPending (server) caps the connections upgraded whose first
	// message has not arrived yet; further upgrades are refused with 503
	// server_busy (default 256; negative = no cap).
	MaxPending int
	// AcceptBacklog (server) caps the upgraded connections waiting for
	// Accept; further upgrades are refused with 503 server_busy (default
	// 128).
	AcceptBacklog int
	// AllowedOrigins (server) are origin patterns allowed to upgrade
	// besides the assembly's (netcode.Env.AllowedOrigins, which the HTTP
	// API's CORS shares): "https://game.example.com",
	// "game.example.com:8443", "*.example.com", "*". The rule is
	// httpapi.OriginPolicy, the engine's one: requests without an Origin
	// header (not a browser), from the request's own host, and from
	// localhost, 127.0.0.1 or [::1] (any port) are always allowed.
	// Others get 403 forbidden.
	AllowedOrigins []string
	// RequireToken (server) refuses an upgrade that carries no bearer
	// token (Authorization header or a "tickwire.bearer.<token>"
	// subprotocol) with 401 not_authenticated. A token that is present is
	// always checked before the upgrade, required or not.
	RequireToken bool

	// Logger receives connection-level events (default: discard).
	Logger *slog.Logger
}

// populate fills defaults and validates; it is called once per
// NewListener or Dial.
func (c Config) populate() (Config, error) {
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = netcode.DefaultMaxMessageSize
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = max(DefaultIdleTimeout, 2*c.HeartbeatInterval)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.AcceptBacklog == 0 {
		c.AcceptBacklog = DefaultAcceptBacklog
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.MaxMessageSize < 0 || c.MaxMessageSize > MaxMessageSizeLimit:
		return c, fmt.Errorf("%w: MaxMessageSize %d outside 1..%d", ErrBadConfig, c.MaxMessageSize, MaxMessageSizeLimit)
	case c.HeartbeatInterval < 0:
		return c, fmt.Errorf("%w: negative HeartbeatInterval", ErrBadConfig)
	case c.IdleTimeout < 0:
		return c, fmt.Errorf("%w: negative IdleTimeout", ErrBadConfig)
	case c.WriteTimeout < 0:
		return c, fmt.Errorf("%w: negative WriteTimeout", ErrBadConfig)
	case c.HandshakeTimeout < 0:
		return c, fmt.Errorf("%w: negative HandshakeTimeout", ErrBadConfig)
	case c.AcceptBacklog < 0:
		return c, fmt.Errorf("%w: negative AcceptBacklog", ErrBadConfig)
	case c.IdleTimeout <= c.HeartbeatInterval:
		return c, fmt.Errorf("%w: IdleTimeout %v must exceed HeartbeatInterval %v", ErrBadConfig, c.IdleTimeout, c.HeartbeatInterval)
	}
	if _, err := httpapi.NewOriginPolicy(c.AllowedOrigins); err != nil {
		return c, fmt.Errorf("%w: AllowedOrigins: %w", ErrBadConfig, err)
	}
	return c, nil
}

// Validate reports whether c (after defaults) is usable.
func (c Config) Validate() error {
	_, err := c.populate()
	return err
}
