package tcp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// Defaults applied to zero Config fields.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultIdleTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 5 * time.Second

	// MaxMessageSizeLimit is the largest MaxMessageSize a Config may ask
	// for; the read buffer of a Conn grows up to MaxMessageSize.
	MaxMessageSizeLimit = 16 << 20

	// closeWriteTimeout bounds the best-effort close record written by Close.
	closeWriteTimeout = 250 * time.Millisecond
)

// ErrBadConfig is returned by Listen and Dial for an invalid Config.
var ErrBadConfig = errors.New("tcp: invalid config")

// Config tunes a TCP transport. The zero value means defaults.
type Config struct {
	// MaxMessageSize is the largest message payload written or accepted
	// (default netcode.DefaultMaxMessageSize). Both ends must agree: a
	// record above the reader's limit is a protocol error.
	MaxMessageSize int
	// HeartbeatInterval: a heartbeat record is sent when nothing else was
	// sent for this long (default 1 s).
	HeartbeatInterval time.Duration
	// IdleTimeout: when nothing at all is received for this long,
	// ReadMessage returns an error matching netcode.ErrIdleTimeout and the
	// Conn closes (default 10 s). Must exceed HeartbeatInterval.
	IdleTimeout time.Duration
	// WriteTimeout bounds every write; past it WriteMessage returns an
	// error matching netcode.ErrWriteTimeout (default 5 s).
	WriteTimeout time.Duration
	// Logger receives connection-level events (default: discard).
	Logger *slog.Logger
	// TLS, when set, wraps every connection in TLS: on a Listener it is
	// the server's configuration (a certificate or GetCertificate is
	// required), on a Dialer the client's (its RootCAs verify the
	// server; ServerName defaults to the host of the dialed address).
	// MinVersion defaults to TLS 1.3. The records inside are the same.
	// Nil means plain TCP (loopback benchmarks, a TLS-terminating proxy
	// in front). The Config is cloned: later changes to it do not apply.
	TLS *tls.Config
}

// populate fills defaults and validates; it is called once per Listen,
// Dial or NewConn.
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
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.TLS != nil {
		c.TLS = c.TLS.Clone()
		if c.TLS.MinVersion == 0 {
			c.TLS.MinVersion = tls.VersionTLS13
		}
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
	case c.IdleTimeout <= c.HeartbeatInterval:
		return c, fmt.Errorf("%w: IdleTimeout %v must exceed HeartbeatInterval %v", ErrBadConfig, c.IdleTimeout, c.HeartbeatInterval)
	}
	return c, nil
}

// defaults returns the default Config (keeping the Logger), which always validates.
func (c Config) defaults() Config {
	d, err := Config{Logger: c.Logger}.populate()
	if err != nil {
		c.Logger.Error("tcp: default config invalid", "err", err) // cannot happen: covered by TestConfig
	}
	return d
}

// Validate reports whether c (after defaults) is usable.
func (c Config) Validate() error {
	_, err := c.populate()
	return err
}
