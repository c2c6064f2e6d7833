package cluster

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
)

// Defaults applied to zero Config fields.
const (
	DefaultSubjectPrefix     = "tw"
	DefaultHeartbeatInterval = time.Second
	// DefaultMissedHeartbeats is how many heartbeat intervals may pass
	// without news of a node before it is declared gone.
	DefaultMissedHeartbeats = 3
	DefaultReconnectBuffer  = 8 << 20
	DefaultReconnectMin     = 50 * time.Millisecond
	DefaultReconnectMax     = 2 * time.Second
	DefaultRequestTimeout   = 2 * time.Second

	// MaxNodeIDLen bounds a node id; ids are [A-Za-z0-9_-].
	MaxNodeIDLen = 64
	// MaxURLLen bounds an advertised URL.
	MaxURLLen = 512
)

// Config configures a Node. NodeID, URLs and Advertise are required;
// every other zero field takes the default named beside it.
type Config struct {
	// NodeID names the node in the cluster: 1–64 of [A-Za-z0-9_-],
	// unique among the live nodes.
	NodeID string
	// URLs are the NATS servers to connect to ("nats://host:4222"); the
	// client picks among them and fails over.
	URLs []string
	// Advertise is the base URL of this node's HTTP API as clients reach
	// it ("https://eu1.example.com:7780"): redirects send clients there.
	Advertise string
	// SubjectPrefix is the first token of every subject the cluster uses
	// (default "tw"), so that several clusters can share one NATS.
	SubjectPrefix string
	// HeartbeatInterval is how often the node announces itself (default
	// 1s); MissedHeartbeats (default 3) intervals without news and a node
	// is declared gone. The detection bound is docs/CLUSTER.md's
	// (MissedHeartbeats+0.25) × HeartbeatInterval.
	HeartbeatInterval time.Duration
	MissedHeartbeats  int
	// ReconnectBuffer bounds the bytes published while NATS is
	// unreachable, sent once it is back (default 8 MiB). Past it a
	// publish fails and is counted (Stats.PublishDropped).
	ReconnectBuffer int
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// reconnection attempts (defaults 50ms, 2s; ±25 % jitter).
	ReconnectMin, ReconnectMax time.Duration
	// RequestTimeout bounds a request to another node (directory
	// snapshots; default 2s).
	RequestTimeout time.Duration
	// Options are extra nats.go options (credentials, TLS, a name).
	Options []nats.Option
	// Logger receives the node's logs (default: discarded).
	Logger *slog.Logger
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
}

func (c *Config) populate() error {
	c.SubjectPrefix = cmp.Or(c.SubjectPrefix, DefaultSubjectPrefix)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.MissedHeartbeats = cmp.Or(c.MissedHeartbeats, DefaultMissedHeartbeats)
	c.ReconnectBuffer = cmp.Or(c.ReconnectBuffer, DefaultReconnectBuffer)
	c.ReconnectMin = cmp.Or(c.ReconnectMin, DefaultReconnectMin)
	c.ReconnectMax = cmp.Or(c.ReconnectMax, DefaultReconnectMax)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	switch {
	case !validNodeID(c.NodeID):
		return fmt.Errorf("%w: NodeID %q: want 1–%d of [A-Za-z0-9_-]", ErrBadConfig, c.NodeID, MaxNodeIDLen)
	case len(c.URLs) == 0:
		return fmt.Errorf("%w: no NATS URLs", ErrBadConfig)
	case !validURL(c.Advertise):
		return fmt.Errorf("%w: Advertise %q: want an absolute http(s) URL", ErrBadConfig, c.Advertise)
	case !validNodeID(c.SubjectPrefix):
		return fmt.Errorf("%w: SubjectPrefix %q", ErrBadConfig, c.SubjectPrefix)
	case c.HeartbeatInterval < 10*time.Millisecond:
		return fmt.Errorf("%w: HeartbeatInterval %v", ErrBadConfig, c.HeartbeatInterval)
	case c.MissedHeartbeats < 2:
		return fmt.Errorf("%w: MissedHeartbeats %d (at least 2)", ErrBadConfig, c.MissedHeartbeats)
	case c.ReconnectBuffer < 0 || c.ReconnectMin <= 0 || c.ReconnectMax < c.ReconnectMin:
		return fmt.Errorf("%w: reconnect settings", ErrBadConfig)
	}
	return nil
}

// DeathBound is how long after a node's last heartbeat the others have
// declared it gone, at the latest: MissedHeartbeats intervals, plus the
// sweep period (a quarter interval).
func (c Config) DeathBound() time.Duration {
	hb := cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval)
	return time.Duration(cmp.Or(c.MissedHeartbeats, DefaultMissedHeartbeats))*hb + hb/4
}

func validNodeID(s string) bool {
	if s == "" || len(s) > MaxNodeIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func validURL(s string) bool {
	if s == "" || len(s) > MaxURLLen {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}
