package rooms

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/room/voice"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultInboxSize          = 1024
	DefaultMaxRoomsPerSession = 8
	DefaultMaxAudioLinks      = 1024
	DefaultCapacity           = 16
	DefaultMaxCapacity        = 256
	DefaultTickRate           = 30
	DefaultEmptyTimeout       = 30 * time.Second
	DefaultMaxInputSize       = 1024
	DefaultMaxInputsPerSecond = 240
	DefaultMaxInputErrors     = 4
	DefaultMaxListed          = 100

	DefaultMaxRoomsCreatedPerUser = 8
	DefaultMaxRooms               = 10_000
	DefaultMaxClientTickRate      = 30
	DefaultEmptyRoomTTL           = 30 * time.Second
)

// Config configures a Hub. The zero value is a working configuration:
// every zero field takes the default named beside it.
type Config struct {
	// Workers is the number of tick workers (default runtime.GOMAXPROCS).
	// Each room is owned and ticked by exactly one worker.
	Workers int
	// InboxSize bounds the inputs waiting in one room between two ticks
	// (default 1024). When full, newer inputs are dropped and counted
	// (policy: drop newest, reason "inbox_full").
	InboxSize int
	// MaxRoomsPerSession bounds the rooms one session is in or joining
	// at once (default 8); past it a join fails with CodeTooManyRooms.
	MaxRoomsPerSession int
	// DefaultCapacity is the capacity of a room created without one
	// (default 16); MaxCapacity caps any requested capacity (default 256,
	// at most room.MaxCapacity).
	DefaultCapacity int
	MaxCapacity     int
	// DefaultTickRate is the tick rate of a room created without one
	// (default 30 Hz).
	DefaultTickRate int
	// DefaultEmptyTimeout is how long a room created without a timeout
	// lives with no members (default 30s); MaxEmptyTimeout caps requested
	// timeouts (default 10 × DefaultEmptyTimeout).
	DefaultEmptyTimeout time.Duration
	MaxEmptyTimeout     time.Duration
	// MaxInputSize bounds the data of one room input (default 1024 bytes,
	// at most frame.MaxRoomInput); larger inputs get CodeInputTooLarge.
	MaxInputSize int
	// MaxInputsPerSecond limits each session's room inputs, over all its
	// rooms, with a burst of the same size (default 240); inputs above it
	// are dropped and answered with CodeInputRateLimited. A negative
	// value disables the limit.
	MaxInputsPerSecond int
	// MaxInputErrorsPerSecond bounds the Error frames one session gets
	// for refused room inputs (too large, rate limited, inbox full, not
	// a member), with a burst of the same size (default 4). Refusals
	// past it are dropped silently and counted (Drops.Unanswered), so an
	// input flood never turns into a flood of replies.
	MaxInputErrorsPerSecond int
	// MaxListed bounds the rooms in one RoomListResult (default 100, at
	// most frame.MaxRoomListed).
	MaxListed int

	// Limits on rooms created by clients (RoomCreate, and RoomJoinOrCreate
	// when it creates). Rooms created through the Go API (CreateRoom) are
	// neither limited nor counted by them.

	// MaxRoomsCreatedPerUser bounds the client-created rooms one user
	// (by UserID, over all its sessions and reconnections) has open at
	// once, empty or not (default 8). A room counts until it closes;
	// past the bound a create fails with CodeRoomCreateLimit.
	MaxRoomsCreatedPerUser int
	// MaxRooms bounds the client-created rooms open on the server at once
	// (default 10,000); past it a create fails with CodeRoomCreateLimit.
	MaxRooms int
	// MaxClientTickRate caps the tick rate of a client-created room
	// (default 30 Hz, at most room.MaxTickRate): a higher requested rate
	// is lowered to it, and RoomJoined tells the client the rate it got.
	MaxClientTickRate int
	// EmptyRoomTTL caps how long a client-created room lives with no
	// members (default 30s): a longer requested empty timeout is lowered
	// to it. When the room closes its creator's count goes down.
	EmptyRoomTTL time.Duration
	// AlignTicks makes every room's first deadline exactly one period
	// after the room reaches its worker. By default first deadlines are
	// spread over the period by creation order, so that rooms created
	// together do not fall due together.
	AlignTicks bool
	// DisableRelay leaves the built-in "relay" type unregistered.
	DisableRelay bool
	// Voice bounds every voice room (zero fields: voice's defaults);
	// DisableVoice leaves the built-in "voice" type unregistered.
	Voice        voice.Config
	DisableVoice bool
	// MaxAudioLinks caps the browser audio links (SFU members) open on
	// the hub at once (default 1024; one per session always). Past it an
	// audio offer is refused with CodeVoiceLinkLimit (docs/VOICE.md,
	// "Browsers and the SFU").
	MaxAudioLinks int
	// Directory, when set, makes the hub one node of a cluster
	// (engine/cluster): its rooms are published there, a join for a room
	// owned elsewhere is answered with a RoomRedirect, and
	// MaxRoomsCreatedPerUser counts the user's rooms on every node.
	Directory Directory
	// Logger receives the hub's logs (default: discarded).
	Logger *slog.Logger
	// Clock returns the current time (default time.Now). Tests pass a
	// fake clock.
	Clock func() time.Time
}

func (c *Config) populate() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Workers, runtime.GOMAXPROCS(0))
	def(&c.InboxSize, DefaultInboxSize)
	def(&c.MaxRoomsPerSession, DefaultMaxRoomsPerSession)
	def(&c.MaxAudioLinks, DefaultMaxAudioLinks)
	def(&c.MaxCapacity, DefaultMaxCapacity)
	def(&c.DefaultCapacity, min(DefaultCapacity, c.MaxCapacity))
	def(&c.DefaultTickRate, DefaultTickRate)
	def(&c.MaxInputSize, DefaultMaxInputSize)
	def(&c.MaxInputsPerSecond, DefaultMaxInputsPerSecond)
	def(&c.MaxInputErrorsPerSecond, DefaultMaxInputErrors)
	def(&c.MaxListed, DefaultMaxListed)
	def(&c.MaxRoomsCreatedPerUser, DefaultMaxRoomsCreatedPerUser)
	def(&c.MaxRooms, DefaultMaxRooms)
	def(&c.MaxClientTickRate, DefaultMaxClientTickRate)
	if c.EmptyRoomTTL == 0 {
		c.EmptyRoomTTL = DefaultEmptyRoomTTL
	}
	if c.DefaultEmptyTimeout == 0 {
		c.DefaultEmptyTimeout = DefaultEmptyTimeout
	}
	if c.MaxEmptyTimeout == 0 {
		c.MaxEmptyTimeout = 10 * c.DefaultEmptyTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if err := c.Voice.Fill(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	switch {
	case c.Workers < 1 || c.Workers > 1024:
		return fmt.Errorf("%w: Workers %d", ErrBadConfig, c.Workers)
	case c.InboxSize < 1:
		return fmt.Errorf("%w: InboxSize %d", ErrBadConfig, c.InboxSize)
	case c.MaxRoomsPerSession < 1:
		return fmt.Errorf("%w: MaxRoomsPerSession %d", ErrBadConfig, c.MaxRoomsPerSession)
	case c.MaxCapacity < 1 || c.MaxCapacity > room.MaxCapacity:
		return fmt.Errorf("%w: MaxCapacity %d not in 1..%d", ErrBadConfig, c.MaxCapacity, room.MaxCapacity)
	case c.DefaultCapacity < 1 || c.DefaultCapacity > c.MaxCapacity:
		return fmt.Errorf("%w: DefaultCapacity %d not in 1..MaxCapacity", ErrBadConfig, c.DefaultCapacity)
	case c.DefaultTickRate < room.MinTickRate || c.DefaultTickRate > room.MaxTickRate:
		return fmt.Errorf("%w: DefaultTickRate %d", ErrBadConfig, c.DefaultTickRate)
	case c.DefaultEmptyTimeout < 0 || c.MaxEmptyTimeout < c.DefaultEmptyTimeout:
		return fmt.Errorf("%w: empty timeouts %v/%v", ErrBadConfig, c.DefaultEmptyTimeout, c.MaxEmptyTimeout)
	case c.MaxInputSize < 1 || c.MaxInputSize > frame.MaxRoomInput:
		return fmt.Errorf("%w: MaxInputSize %d not in 1..%d", ErrBadConfig, c.MaxInputSize, frame.MaxRoomInput)
	case c.MaxInputErrorsPerSecond < 1:
		return fmt.Errorf("%w: MaxInputErrorsPerSecond %d", ErrBadConfig, c.MaxInputErrorsPerSecond)
	case c.MaxListed < 1 || c.MaxListed > frame.MaxRoomListed:
		return fmt.Errorf("%w: MaxListed %d", ErrBadConfig, c.MaxListed)
	case c.MaxRoomsCreatedPerUser < 1:
		return fmt.Errorf("%w: MaxRoomsCreatedPerUser %d", ErrBadConfig, c.MaxRoomsCreatedPerUser)
	case c.MaxRooms < 1:
		return fmt.Errorf("%w: MaxRooms %d", ErrBadConfig, c.MaxRooms)
	case c.MaxClientTickRate < room.MinTickRate || c.MaxClientTickRate > room.MaxTickRate:
		return fmt.Errorf("%w: MaxClientTickRate %d not in %d..%d", ErrBadConfig, c.MaxClientTickRate, room.MinTickRate, room.MaxTickRate)
	case c.EmptyRoomTTL < 0:
		return fmt.Errorf("%w: EmptyRoomTTL %v", ErrBadConfig, c.EmptyRoomTTL)
	}
	return nil
}
