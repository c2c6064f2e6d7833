package social

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Users is what the service needs of the account store
// (accounts.Store satisfies it). Lookups of unknown users return an error
// matching accounts.ErrUserNotFound (code CodeUserNotFound).
type Users interface {
	UserByID(ctx context.Context, id string) (accounts.User, error)
	UserByName(ctx context.Context, username string) (accounts.User, error)
	UsersByIDs(ctx context.Context, ids []string) (map[string]accounts.User, error)
}

// Authenticator checks the bearer token of an HTTP request
// (*accounts.Service satisfies it).
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Claims, error)
}

// Defaults for zero Config fields.
const (
	DefaultPresenceGrace     = 5 * time.Second
	DefaultAwayAfter         = 5 * time.Minute
	DefaultMaxMessageBytes   = 4096
	DefaultMessagesPerSecond = 10
	DefaultMessageBurst      = 20
	DefaultMaxStatusText     = 128
	DefaultMaxFriends        = 500
	DefaultMaxGroupMembers   = 2000
	DefaultMaxGroupsPerUser  = 100
	DefaultHistoryLimit      = 50
	DefaultBacklogWindow     = 256
	DefaultPendingLimit      = 256
	DefaultSyncWorkers       = 4
	DefaultWorkers           = 4
	DefaultInboxSize         = 1024
	DefaultMaxQueuedPerPeer  = 32
	DefaultMaxPendingInvites = 100
	DefaultAckFlush          = time.Second
	DefaultOpTimeout         = 5 * time.Second

	DefaultMaxSignalBytes       = 12 << 10
	DefaultSignalsPerSecond     = 20
	DefaultSignalBurst          = 50
	DefaultRingTimeout          = 30 * time.Second
	DefaultCallInvitesPerMinute = 10
	DefaultCallInviteBurst      = 5
	DefaultMaxCalls             = 100_000
)

// Rooms is what the signaling relay needs of the room service
// (*rooms.Hub satisfies it): whether a session holds a seat in a room.
type Rooms interface {
	InRoom(sessionID, roomID uint64) bool
}

// Config configures a Service. Users and one of DB or Store are
// required; every other zero field means its default.
type Config struct {
	// DB is the database, migrated with accounts.Migrations() and then
	// Migrations(). The default Store is the SQLite store on it.
	DB *sql.DB
	// Store is the social storage (default NewSQLiteStore(DB)). When set,
	// it wins over DB.
	Store Store
	// Users looks up accounts.
	Users Users
	// Auth authenticates HTTP requests. Without it the service offers
	// no HTTP routes.
	Auth Authenticator
	// Logger receives service events (default: discard).
	Logger *slog.Logger
	// Now is the clock of the timer loop and the HTTP API (default
	// time.Now). Frame handlers use the time the engine passes in.
	Now func() time.Time

	// PresenceGrace is how long a user whose last session closed still
	// shows their last presence, so that a quick reconnect does not flap
	// to offline (default 5s).
	PresenceGrace time.Duration
	// AwayAfter is how long without activity (any room or social frame other
	// than MessageAck) before an online user shows as away (default 5m;
	// negative disables the idle timer).
	AwayAfter time.Duration
	// TickInterval is the period of the timer loop (default a quarter of
	// the shorter of PresenceGrace and AwayAfter, within 10ms–1s).
	TickInterval time.Duration

	// MaxMessageBytes bounds a message body (default 4096, at most
	// frame.MaxMessageBody).
	MaxMessageBytes int
	// MessagesPerSecond and MessageBurst are the per-user token bucket
	// for sending messages (defaults 10/s, burst 20).
	MessagesPerSecond float64
	MessageBurst      int
	// MaxStatusText bounds a custom status text in bytes (default 128,
	// at most frame.MaxStatusText).
	MaxStatusText int
	// MaxFriends bounds a user's friends plus pending requests (default 500).
	MaxFriends int
	// MaxGroupMembers bounds a group's members (default 2000).
	MaxGroupMembers int
	// MaxGroupsPerUser bounds the groups a user belongs to (default 100).
	MaxGroupsPerUser int
	// MaxPendingInvites bounds the pending group invitations a user
	// holds (default 100); one more is refused with CodeSocialLimit.
	MaxPendingInvites int
	// HistoryLimit is the page size of History when the request says 0
	// (default 50; requests may ask up to frame.MaxHistoryLimit).
	HistoryLimit int
	// BacklogWindow is how many backlog messages a logging-in session is
	// sent before the server waits for its MessageAck (default 256; keep
	// it well below the engine's reliable queue).
	BacklogWindow int
	// PendingLimit bounds the live messages held for a session while its
	// backlog is being sent (default 256). Beyond it they are dropped from
	// memory (counted) and read back from the database instead.
	PendingLimit int
	// SyncWorkers is the number of goroutines sending backlogs (default 4).
	SyncWorkers int
	// Workers is the number of goroutines performing realtime requests
	// (default 4). A session's reader only decodes a request and queues
	// it; every request of one user goes to the same worker, in order.
	Workers int
	// InboxSize bounds the requests queued to one worker (default 1024).
	// A request that finds it full is refused with CodeServerBusy.
	InboxSize int
	// MaxQueuedPerPeer bounds the requests one session has queued and not
	// yet answered (default 32): beyond it CodeServerBusy, so that one
	// session cannot fill a worker's inbox.
	MaxQueuedPerPeer int
	// AckFlush is how often acknowledgement cursors are written to the
	// database (default 1s). A crash loses at most this much of them:
	// those messages are delivered again, never lost.
	AckFlush time.Duration
	// OpTimeout bounds each database operation (default 5s).
	OpTimeout time.Duration

	// Rooms answers "is this session in that room" for signals addressed
	// within a room. Without it, such signals are refused with
	// CodeUnsupported; signals to friends and within calls still work.
	Rooms Rooms
	// MaxSignalBytes bounds a Signal's payload (default 12 KiB, at most
	// frame.MaxSignalPayload). The engine's MaxFrameSize (default 16 KiB)
	// applies to the whole frame first: raise both for larger payloads.
	MaxSignalBytes int
	// SignalsPerSecond and SignalBurst are the per-session token bucket
	// for Signal frames (defaults 20/s, burst 50: a WebRTC negotiation
	// sends an offer, an answer and a burst of ICE candidates).
	SignalsPerSecond float64
	SignalBurst      int
	// RingTimeout is how long a call rings before it ends unanswered
	// (default 30s). Its resolution is TickInterval.
	RingTimeout time.Duration
	// CallInvitesPerMinute and CallInviteBurst are the per-user token
	// bucket for CallInvite (defaults 10/min, burst 5).
	CallInvitesPerMinute float64
	CallInviteBurst      int
	// MaxCalls bounds the calls (ringing or active) on the server
	// (default 100,000); beyond, invites get CodeServerBusy.
	MaxCalls int

	// Broker connects the nodes of a cluster (cluster.go,
	// docs/CLUSTER.md): with it, messages, friend and group events,
	// presence, calls and signals reach users' sessions on every node
	// that shares the Store. Nil (the default) is a single node, as fast
	// as ever.
	Broker Broker
	// NodeID names this node among the Broker's (required with a Broker;
	// the cluster membership's node id, so that NodeGone matches it).
	NodeID string
	// ClusterPrefix starts every subject (default "tw.social").
	ClusterPrefix string
	// ClusterSettle is how long an acknowledgement waits before it moves
	// the stored cursor in a cluster (default OpTimeout + 1s: by then any
	// message with a lower id is committed, or never will be).
	ClusterSettle time.Duration
}

// ErrConfig is returned by New for an invalid Config.
var ErrConfig = errors.New("social: invalid config")

func (c *Config) populate() error {
	if (c.DB == nil && c.Store == nil) || c.Users == nil {
		return errors.Join(ErrConfig, errors.New("DB (or Store) and Users are required"))
	}
	if c.Store == nil {
		c.Store = NewSQLiteStore(c.DB)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	defDur(&c.PresenceGrace, DefaultPresenceGrace)
	defDur(&c.AwayAfter, DefaultAwayAfter)
	defDur(&c.AckFlush, DefaultAckFlush)
	defDur(&c.OpTimeout, DefaultOpTimeout)
	if c.TickInterval == 0 {
		shortest := c.PresenceGrace
		if c.AwayAfter > 0 && c.AwayAfter < shortest {
			shortest = c.AwayAfter
		}
		c.TickInterval = min(max(shortest/4, 10*time.Millisecond), time.Second)
	}
	defInt(&c.MaxMessageBytes, DefaultMaxMessageBytes)
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = DefaultMessagesPerSecond
	}
	defInt(&c.MessageBurst, DefaultMessageBurst)
	defInt(&c.MaxStatusText, DefaultMaxStatusText)
	defInt(&c.MaxFriends, DefaultMaxFriends)
	defInt(&c.MaxGroupMembers, DefaultMaxGroupMembers)
	defInt(&c.MaxGroupsPerUser, DefaultMaxGroupsPerUser)
	defInt(&c.HistoryLimit, DefaultHistoryLimit)
	defInt(&c.BacklogWindow, DefaultBacklogWindow)
	defInt(&c.PendingLimit, DefaultPendingLimit)
	defInt(&c.SyncWorkers, DefaultSyncWorkers)
	defInt(&c.Workers, DefaultWorkers)
	defInt(&c.InboxSize, DefaultInboxSize)
	defInt(&c.MaxQueuedPerPeer, DefaultMaxQueuedPerPeer)
	defInt(&c.MaxPendingInvites, DefaultMaxPendingInvites)
	defInt(&c.MaxSignalBytes, DefaultMaxSignalBytes)
	if c.SignalsPerSecond == 0 {
		c.SignalsPerSecond = DefaultSignalsPerSecond
	}
	defInt(&c.SignalBurst, DefaultSignalBurst)
	defDur(&c.RingTimeout, DefaultRingTimeout)
	if c.CallInvitesPerMinute == 0 {
		c.CallInvitesPerMinute = DefaultCallInvitesPerMinute
	}
	defInt(&c.CallInviteBurst, DefaultCallInviteBurst)
	defInt(&c.MaxCalls, DefaultMaxCalls)
	if c.ClusterPrefix == "" {
		c.ClusterPrefix = "tw.social"
	}
	defDur(&c.ClusterSettle, c.OpTimeout+time.Second)
	if c.Broker != nil && c.NodeID == "" {
		return errors.Join(ErrConfig, errors.New("NodeID is required with a Broker"))
	}
	if c.ClusterSettle < 0 {
		return errors.Join(ErrConfig, errors.New("negative ClusterSettle"))
	}
	switch {
	case c.MaxSignalBytes < 0 || c.MaxSignalBytes > frame.MaxSignalPayload:
		return errors.Join(ErrConfig, fmt.Errorf("MaxSignalBytes must be within 1..%d", frame.MaxSignalPayload))
	case c.SignalsPerSecond < 0, c.SignalBurst < 0, c.RingTimeout < 0, c.CallInvitesPerMinute < 0,
		c.CallInviteBurst < 0, c.MaxCalls < 0:
		return errors.Join(ErrConfig, errors.New("negative signaling or call limit"))
	}
	switch {
	case c.PresenceGrace < 0, c.TickInterval < 0, c.AckFlush < 0, c.OpTimeout < 0:
		return errors.Join(ErrConfig, errors.New("negative duration"))
	case c.MaxMessageBytes < 0 || c.MaxMessageBytes > 16<<10:
		return errors.Join(ErrConfig, errors.New("MaxMessageBytes must be within 1..16384"))
	case c.MaxStatusText < 0 || c.MaxStatusText > frame.MaxStatusText:
		return errors.Join(ErrConfig, fmt.Errorf("MaxStatusText must be within 1..%d", frame.MaxStatusText))
	case c.MessagesPerSecond < 0, c.MessageBurst < 0, c.MaxFriends < 0, c.MaxGroupMembers < 0,
		c.MaxGroupsPerUser < 0, c.HistoryLimit < 0, c.BacklogWindow < 0, c.PendingLimit < 0, c.SyncWorkers < 0,
		c.Workers < 0, c.InboxSize < 0, c.MaxQueuedPerPeer < 0, c.MaxPendingInvites < 0:
		return errors.Join(ErrConfig, errors.New("negative limit"))
	case c.HistoryLimit > 200:
		return errors.Join(ErrConfig, errors.New("HistoryLimit above 200"))
	}
	return nil
}

func defDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

func defInt(i *int, v int) {
	if *i == 0 {
		*i = v
	}
}
