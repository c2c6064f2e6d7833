package longpoll

import (
	"cmp"
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
	DefaultMaxWait           = 5 * time.Second
	DefaultWriteTimeout      = 5 * time.Second
	DefaultCloseLinger       = 2 * time.Second
	DefaultMaxUnackedFrames  = 1024
	DefaultMaxUnackedBytes   = 1 << 20
	DefaultMaxBatchFrames    = 256
	DefaultMaxBatchBytes     = 256 << 10
	DefaultMaxSessions       = 10000
	DefaultMaxPendingPerIP   = 8
	DefaultBacklog           = 128

	// MaxMessageSizeLimit is the largest MaxMessageSize a Config may ask for.
	MaxMessageSizeLimit = 16 << 20
)

// ErrBadConfig is returned by Listen and Dial for an invalid Config.
var ErrBadConfig = errors.New("longpoll: invalid config")

// Config tunes both ends of the long-poll transport. The zero value means
// defaults. The server advertises its limits when a session opens; a
// client takes the smaller of its own and the server's.
type Config struct {
	// MaxMessageSize is the largest frame carried (default: the engine's
	// frame limit on a server opened by the assembly, else
	// netcode.DefaultMaxMessageSize).
	MaxMessageSize int
	// HeartbeatInterval and IdleTimeout: a session whose client sends no
	// request for IdleTimeout closes (ReadMessage returns an error
	// matching netcode.ErrIdleTimeout); a client that gets no answer for
	// IdleTimeout does the same. Defaults 1 s and 10 s; the assembly's
	// engine values are used when zero.
	HeartbeatInterval, IdleTimeout time.Duration
	// MaxWait is the longest a recv request is held (default 5 s, at most
	// IdleTimeout/2). A client asks for this wait; wait=0 is polling.
	// Reverse proxies and the HTTP server's write timeout must allow it.
	MaxWait time.Duration
	// WriteTimeout bounds a WriteMessage that waits for room in a full
	// window; past it the session closes as a slow consumer (code 14)
	// and the call returns an error matching netcode.ErrWriteTimeout
	// (default 5 s).
	WriteTimeout time.Duration
	// MaxUnackedFrames and MaxUnackedBytes bound each direction's window:
	// frames written and not yet acknowledged (default 1024 frames,
	// 1 MiB). On the receiving side they bound the frames delivered and
	// not yet read; a send batch that does not fit is refused with 503
	// server_busy and retried.
	MaxUnackedFrames, MaxUnackedBytes int
	// MaxBatchFrames and MaxBatchBytes bound one request or response body
	// (default 256 records, 256 KiB; MaxBatchBytes must hold one record
	// of MaxMessageSize).
	MaxBatchFrames, MaxBatchBytes int

	// Server only.

	// MaxSessions caps the listener's sessions, open or lingering
	// (default 10000).
	MaxSessions int
	// MaxPendingPerIP caps the sessions one client address has opened
	// that the engine has not accepted yet (default 8); the engine's own
	// per-address cap (Env.Admit) applies after that.
	MaxPendingPerIP int
	// Backlog is the number of opened sessions waiting for Accept
	// (default 128); an open beyond it is refused with server_busy.
	Backlog int
	// CloseLinger is how long a session the server closed keeps its close
	// record for the client to fetch (default 2 s).
	CloseLinger time.Duration

	// Logger receives transport events (default: discard).
	Logger *slog.Logger
}

// populate fills defaults and validates.
func (c Config) populate() (Config, error) {
	c.MaxMessageSize = cmp.Or(c.MaxMessageSize, netcode.DefaultMaxMessageSize)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, max(DefaultIdleTimeout, 2*c.HeartbeatInterval))
	c.MaxWait = cmp.Or(c.MaxWait, min(DefaultMaxWait, c.IdleTimeout/2))
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.CloseLinger = cmp.Or(c.CloseLinger, DefaultCloseLinger)
	c.MaxUnackedFrames = cmp.Or(c.MaxUnackedFrames, DefaultMaxUnackedFrames)
	c.MaxUnackedBytes = cmp.Or(c.MaxUnackedBytes, max(DefaultMaxUnackedBytes, 2*c.MaxMessageSize))
	c.MaxBatchFrames = cmp.Or(c.MaxBatchFrames, DefaultMaxBatchFrames)
	c.MaxBatchBytes = cmp.Or(c.MaxBatchBytes, max(DefaultMaxBatchBytes, batchHeaderSize+recordHeaderSize+c.MaxMessageSize))
	c.MaxSessions = cmp.Or(c.MaxSessions, DefaultMaxSessions)
	c.MaxPendingPerIP = cmp.Or(c.MaxPendingPerIP, DefaultMaxPendingPerIP)
	c.Backlog = cmp.Or(c.Backlog, DefaultBacklog)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	bad := func(format string, args ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...)
	}
	switch {
	case c.MaxMessageSize < 0 || c.MaxMessageSize > MaxMessageSizeLimit:
		return bad("MaxMessageSize %d outside 1..%d", c.MaxMessageSize, MaxMessageSizeLimit)
	case c.HeartbeatInterval < 0, c.IdleTimeout < 0, c.MaxWait < 0, c.WriteTimeout < 0, c.CloseLinger < 0:
		return bad("negative duration")
	case c.IdleTimeout <= c.HeartbeatInterval:
		return bad("IdleTimeout %v must exceed HeartbeatInterval %v", c.IdleTimeout, c.HeartbeatInterval)
	case c.MaxWait > c.IdleTimeout/2:
		return bad("MaxWait %v above half the IdleTimeout %v", c.MaxWait, c.IdleTimeout)
	case c.MaxBatchFrames < 1, c.MaxUnackedFrames < c.MaxBatchFrames:
		return bad("MaxBatchFrames %d must be in 1..MaxUnackedFrames %d", c.MaxBatchFrames, c.MaxUnackedFrames)
	case c.MaxBatchBytes < batchHeaderSize+recordHeaderSize+c.MaxMessageSize:
		return bad("MaxBatchBytes %d cannot hold a record of MaxMessageSize %d", c.MaxBatchBytes, c.MaxMessageSize)
	case c.MaxUnackedBytes < c.MaxBatchBytes:
		return bad("MaxUnackedBytes %d below MaxBatchBytes %d", c.MaxUnackedBytes, c.MaxBatchBytes)
	case c.MaxSessions < 0, c.MaxPendingPerIP < 0, c.Backlog < 0:
		return bad("negative session limit")
	}
	return c, nil
}

// Validate reports whether c (after defaults) is usable.
func (c Config) Validate() error {
	_, err := c.populate()
	return err
}
