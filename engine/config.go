package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/limit"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultGuestTokenTTL      = 24 * time.Hour
	DefaultGuestsPerIP        = 10 // guest tokens per client address per minute
	DefaultHandshakeTimeout   = 5 * time.Second
	DefaultMaxFrameSize       = 16 << 10
	DefaultMaxFramesPerSecond = 200
	DefaultMaxBadFrames       = 10
	DefaultReliableQueue      = 1024
	DefaultUnreliableQueue    = 256
	DefaultHeartbeatInterval  = 1 * time.Second
	DefaultIdleTimeout        = 10 * time.Second
	DefaultShutdownTimeout    = 5 * time.Second
	DefaultLogSummaryInterval = 60 * time.Second
	DefaultRTTSampleInterval  = 5 * time.Second
	DefaultCloseLinger        = time.Second
	DefaultMaxSessionsPerIP   = 32
	DefaultMaxSessions        = 10_000
	DefaultRateLimitGrace     = 5 * time.Second
	DefaultResumeWindow       = 30 * time.Second
	DefaultReplayFrames       = 512
	DefaultReplayBytes        = 256 << 10
	DefaultMaxParkedPerUser   = 8
)

// Config configures an Engine. The zero value is a working configuration:
// every zero field takes the default named beside it.
type Config struct {
	// Logger receives the engine's logs (default: discarded).
	Logger *slog.Logger

	// TokenKey signs and verifies tokens; at least 32 bytes. Nil means a
	// random key per process (tokens die with the process).
	TokenKey []byte
	// GuestTokenTTL is how long a guest token from POST /v1/auth/guest
	// stays valid (default 24h).
	GuestTokenTTL time.Duration
	// GuestsPerIP is how many guest tokens one client address (an IPv4
	// address or an IPv6 /64) may get per minute, with a burst of the
	// same (default 10). Past it POST /v1/auth/guest answers 429
	// rate_limited with Retry-After, counted in Stats.HTTP. Negative
	// lifts the limit.
	GuestsPerIP int
	// SharedLimits, when set, counts GuestsPerIP there (fixed windows of
	// a minute) instead of in this node's memory, so that the limit holds
	// across a cluster (server sets the PostgreSQL store's limiter). A
	// failing SharedLimits refuses the guest token with an internal error.
	SharedLimits limit.Shared
	// TrustedProxies are the proxies (load balancers) whose
	// X-Forwarded-For names the HTTP client; the per-address HTTP limits
	// (guests, logins, registrations) then key on that client (default
	// none: the TCP peer is the client). See httpapi.ClientIP.
	TrustedProxies []netip.Prefix
	// AllowedOrigins are the browser origins allowed to use the server
	// besides the request's own host and localhost (any port), as
	// httpapi.OriginPolicy patterns: "https://game.example.com",
	// "game.example.com:8443", "*.example.com", or "*" for any origin
	// (the API takes bearer tokens, never cookies). It is the one policy
	// of the HTTP API's CORS (HTTPConfig) and of the transports that
	// check Origin (the assembly passes it as netcode.Env.AllowedOrigins
	// to the WebSocket upgrade). Default none.
	AllowedOrigins []string
	// AdminToken is the bearer token of the admin listener (package
	// server: /metrics, pprof, GET /v1/stats, the admin API), which the
	// engine does not serve itself. Empty by default.
	AdminToken string

	// HandshakeTimeout bounds the time from accept to a valid Hello
	// (default 5s); past it the session is closed with
	// CodeHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxFrameSize is the largest frame a client may send (default 16 KiB);
	// larger ones are answered with CodeFrameTooLarge.
	MaxFrameSize int
	// MaxFramesPerSecond limits each session's input rate, with a burst of
	// the same size (default 200); frames above it are dropped and answered
	// with CodeRateLimited. Negative disables the limit (benchmarks).
	MaxFramesPerSecond int
	// RateLimitGrace is how long a session may keep sending above
	// MaxFramesPerSecond before it is closed with CodeRateLimited (which
	// may reconnect) (default 5s). The excess counts as one run while
	// refusals come less than a second apart. Negative: never close,
	// only drop.
	RateLimitGrace time.Duration
	// MaxBadFrames is how many bad input frames (the protocol-input codes:
	// bad_frame, frame_too_large, unknown_kind, not_authenticated) a
	// session may send before it is closed with CodeTooManyErrors
	// (default 10). Frames over the rate limit are not bad frames.
	MaxBadFrames int
	// MaxSessionsPerIP caps the sessions open at once from one client
	// address, on every transport together (default 32): an IPv4 address,
	// or the /64 of an IPv6 one. Addresses without an IP (in-memory links)
	// are not capped per IP. MaxSessions caps the sessions open on the
	// engine (default 10000). A connection above either is closed at once
	// with CodeTooManySessions, before any service sees it. Negative
	// lifts the cap.
	MaxSessionsPerIP int
	MaxSessions      int
	// ReliableQueue is the capacity, in frames, of each session's reliable
	// send queue (default 1024). Overflow closes the session with
	// CodeSlowConsumer.
	ReliableQueue int
	// UnreliableQueue is the capacity of each session's unreliable send
	// ring (default 256). Overflow drops the oldest frame (counted).
	UnreliableQueue int

	// ResumeWindow is how long a session whose connection was lost is
	// kept for a Resume (default 30s; docs/RESUME.md): its rooms see the
	// member away, friends see no change, numbered frames sent to it are
	// kept for the replay. Negative turns resume off: a lost connection
	// ends its session at once, Welcome offers no secret.
	ResumeWindow time.Duration
	// ReplayFrames and ReplayBytes bound each session's replay buffer,
	// the numbered frames sent and not yet acknowledged (defaults 512,
	// capped below ReliableQueue, and 256 KiB). A connected client that
	// does not acknowledge loses its oldest ones (a later Resume is then
	// refused with CodeResumeOverflow); a parked session that overflows
	// ends.
	ReplayFrames int
	ReplayBytes  int
	// MaxParked, MaxParkedPerIP and MaxParkedPerUser cap the sessions
	// waiting for a Resume, in all, per client address (as
	// MaxSessionsPerIP) and per user (defaults MaxSessions,
	// MaxSessionsPerIP, 8). A lost session above a cap ends at once
	// (counted in Stats.Resume.ParkRefused). Negative lifts a cap.
	MaxParked        int
	MaxParkedPerIP   int
	MaxParkedPerUser int

	// HeartbeatInterval and IdleTimeout are advertised to clients in
	// Welcome (defaults 1s and 10s). The transports enforce them; give
	// them the same values.
	HeartbeatInterval time.Duration
	IdleTimeout       time.Duration

	// CloseLinger is how long a session that sent its Close frame waits
	// for the peer to close its end before closing the connection itself
	// (default 1s). It lets the final frames (an Error, the Close) be
	// delivered, and retransmitted under loss, before the transport stops.
	CloseLinger time.Duration

	// ShutdownTimeout bounds the graceful shutdown Run performs when its
	// context is cancelled (default 5s).
	ShutdownTimeout time.Duration

	// LogSummaryInterval is how often the engine logs, at Info, one
	// "activity" line with the counters that moved since the previous one
	// (sessions opened, handshakes, closes, refusals and drops by reason,
	// listeners' handshakes, refusals and drops); nothing is logged when
	// nothing moved. Default 60s; negative turns the line off. Per-session
	// events are logged at Debug only (docs/OPERATIONS.md, "Logs").
	LogSummaryInterval time.Duration

	// RTTSampleInterval is how often the engine reads every live
	// session's round-trip time from its transport (netcode.RTTOf:
	// KCP's estimate, the kernel's TCP_INFO for TCP, WebSocket and
	// long-poll, SCTP's for WebRTC) into the tickwire_transport_rtt_seconds histogram, one
	// observation per session that has one. Default 5s; negative turns
	// the sampling off.
	RTTSampleInterval time.Duration

	// Services handle the frame kinds the engine does not (rooms,
	// social). Two services may not claim the same kind.
	Services []service.Service

	// TokenCheck, if set, is called for every Hello whose token verified,
	// e.g. to reject revoked tokens. A non-nil error rejects the session
	// with the error's code (netcode.CodeOf).
	TokenCheck func(ctx context.Context, c auth.Claims) error

	// Now is the clock (default time.Now).
	Now func() time.Time
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.TokenKey == nil {
		c.TokenKey = auth.RandomKey()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.GuestTokenTTL, DefaultGuestTokenTTL)
	defInt(&c.GuestsPerIP, DefaultGuestsPerIP)
	def(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.ShutdownTimeout, DefaultShutdownTimeout)
	def(&c.LogSummaryInterval, DefaultLogSummaryInterval)
	def(&c.RTTSampleInterval, DefaultRTTSampleInterval)
	def(&c.CloseLinger, DefaultCloseLinger)
	defInt(&c.MaxFrameSize, DefaultMaxFrameSize)
	defInt(&c.MaxFramesPerSecond, DefaultMaxFramesPerSecond)
	defInt(&c.MaxBadFrames, DefaultMaxBadFrames)
	defInt(&c.MaxSessionsPerIP, DefaultMaxSessionsPerIP)
	defInt(&c.MaxSessions, DefaultMaxSessions)
	def(&c.RateLimitGrace, DefaultRateLimitGrace)
	defInt(&c.ReliableQueue, DefaultReliableQueue)
	defInt(&c.UnreliableQueue, DefaultUnreliableQueue)
	if c.Now == nil {
		c.Now = time.Now
	}
	def(&c.ResumeWindow, DefaultResumeWindow)
	defInt(&c.ReplayFrames, min(DefaultReplayFrames, max(c.ReliableQueue-8, 1)))
	defInt(&c.ReplayBytes, DefaultReplayBytes)
	defInt(&c.MaxParked, c.MaxSessions)
	defInt(&c.MaxParkedPerIP, c.MaxSessionsPerIP)
	defInt(&c.MaxParkedPerUser, DefaultMaxParkedPerUser)

	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...)
	}
	switch {
	case len(c.TokenKey) < 32:
		return bad("TokenKey has %d bytes, want at least 32", len(c.TokenKey))
	case c.GuestTokenTTL < 0, c.HandshakeTimeout < 0, c.HeartbeatInterval < 0, c.IdleTimeout < 0, c.ShutdownTimeout < 0, c.CloseLinger < 0:
		return bad("durations must not be negative")
	case c.MaxFrameSize < 64 || c.MaxFrameSize > netcode.DefaultMaxMessageSize:
		return bad("MaxFrameSize %d outside [64, %d]", c.MaxFrameSize, netcode.DefaultMaxMessageSize)
	case c.MaxBadFrames < 0, c.ReliableQueue < 0, c.UnreliableQueue < 0:
		return bad("limits must not be negative")
	case c.ReplayFrames < 1, c.ReplayBytes < 1:
		return bad("ReplayFrames and ReplayBytes must be positive")
	case c.ReplayFrames >= c.ReliableQueue:
		return bad("ReplayFrames %d must be below ReliableQueue %d (a replay is queued whole)", c.ReplayFrames, c.ReliableQueue)
	case c.IdleTimeout <= c.HeartbeatInterval:
		return bad("IdleTimeout %v must exceed HeartbeatInterval %v", c.IdleTimeout, c.HeartbeatInterval)
	}
	for i, p := range c.TrustedProxies {
		if !p.IsValid() {
			return bad("TrustedProxies[%d] is not a valid prefix", i)
		}
	}
	if _, err := httpapi.NewOriginPolicy(c.AllowedOrigins); err != nil {
		return bad("AllowedOrigins: %w", err)
	}
	seen := map[frame.Kind]string{}
	for i, s := range c.Services {
		if s == nil {
			return bad("Services[%d] is nil", i)
		}
		for k := 0; k < 256; k++ {
			if !s.Handles(frame.Kind(k)) {
				continue
			}
			if k < int(frame.FirstServiceKind) {
				return bad("service %q claims session kind %d", s.Name(), k)
			}
			if other, ok := seen[frame.Kind(k)]; ok {
				return bad("services %q and %q both claim kind %d", other, s.Name(), k)
			}
			seen[frame.Kind(k)] = s.Name()
		}
	}
	return c, nil
}
