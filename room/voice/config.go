package voice

import (
	"cmp"
	"fmt"
	"time"

	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// Defaults applied to zero Config fields.
const (
	DefaultMaxMembers         = 32
	DefaultMaxFrameBytes      = 512
	DefaultBitrateBps         = 64_000
	DefaultMaxFramesPerSecond = 100
	DefaultSilenceTimeout     = 300 * time.Millisecond
	DefaultSilentBytes        = 2
	DefaultMaxLag             = time.Second
	DefaultStateChanges       = 10
)

// ClockRate is the timestamp clock of voice frames: 48 kHz, the RTP
// clock of Opus.
const ClockRate = 48_000

// Config bounds every voice room of a server. The zero value is a
// working configuration: every zero field takes the default named beside
// it.
type Config struct {
	// MaxMembers caps a voice room's capacity (default 32): forwarding is
	// one frame in, members-1 frames out, so the cost grows with the
	// square of the room. A room asked with a larger capacity is refused
	// with CodeVoiceRoomTooLarge.
	MaxMembers int
	// MaxFrameBytes bounds one frame's payload (default 512 bytes: a 20
	// ms Opus packet up to ~200 kbit/s; at most frame.MaxVoicePayload).
	// Larger frames are refused with CodeVoiceFrameTooLarge.
	MaxFrameBytes int
	// BitrateBps caps each member's payload rate in bits per second
	// (default 64,000), a token bucket of BurstBytes (default half a
	// second's worth, at least MaxFrameBytes). Frames over it are dropped
	// (reason rate_limited) and the member gets CodeVoiceRateLimited at
	// most once a second.
	BitrateBps int
	BurstBytes int
	// MaxFramesPerSecond caps each member's frame rate (default 100: 10
	// ms frames), a token bucket of FrameBurst (default a quarter
	// second's worth), so that a flood of tiny frames is capped too.
	MaxFramesPerSecond int
	FrameBurst         int
	// SilenceTimeout is how long a speaking member may send no speech
	// before the room reports it silent (default 300 ms). The room checks
	// at every tick, so the report comes up to one tick period later.
	SilenceTimeout time.Duration
	// SilentBytes: frames of at most this many payload bytes are
	// forwarded but are not speech (default 2: Opus DTX packets; -1: every
	// frame is speech).
	SilentBytes int
	// MaxLag drops a frame whose timestamp is more than this behind the
	// newest frame of the same member (default 1 s), beside the sequence
	// window (Window frames).
	MaxLag time.Duration
	// StateChanges bounds each member's VoiceSet requests: a token bucket
	// of StateChanges (default 10) refilled at one per second. Each change
	// sends an event to every member, so an unbounded toggler would
	// multiply its requests by the room's size. Past it: refused with
	// CodeVoiceRateLimited.
	StateChanges int
}

// Fill applies the defaults and validates. Errors match
// room.ErrBadConfig.
func (c *Config) Fill() error {
	c.MaxMembers = cmp.Or(c.MaxMembers, DefaultMaxMembers)
	c.MaxFrameBytes = cmp.Or(c.MaxFrameBytes, DefaultMaxFrameBytes)
	c.BitrateBps = cmp.Or(c.BitrateBps, DefaultBitrateBps)
	c.BurstBytes = cmp.Or(c.BurstBytes, max(c.BitrateBps/16, c.MaxFrameBytes))
	c.MaxFramesPerSecond = cmp.Or(c.MaxFramesPerSecond, DefaultMaxFramesPerSecond)
	c.FrameBurst = cmp.Or(c.FrameBurst, max(c.MaxFramesPerSecond/4, 1))
	c.SilenceTimeout = cmp.Or(c.SilenceTimeout, DefaultSilenceTimeout)
	c.SilentBytes = cmp.Or(c.SilentBytes, DefaultSilentBytes)
	c.MaxLag = cmp.Or(c.MaxLag, DefaultMaxLag)
	c.StateChanges = cmp.Or(c.StateChanges, DefaultStateChanges)
	switch {
	case c.MaxMembers < 2 || c.MaxMembers > room.MaxCapacity:
		return fmt.Errorf("%w: voice MaxMembers %d not in 2..%d", room.ErrBadConfig, c.MaxMembers, room.MaxCapacity)
	case c.MaxFrameBytes < 1 || c.MaxFrameBytes > frame.MaxVoicePayload:
		return fmt.Errorf("%w: voice MaxFrameBytes %d not in 1..%d", room.ErrBadConfig, c.MaxFrameBytes, frame.MaxVoicePayload)
	case c.BitrateBps < 8:
		return fmt.Errorf("%w: voice BitrateBps %d", room.ErrBadConfig, c.BitrateBps)
	case c.BurstBytes < c.MaxFrameBytes:
		return fmt.Errorf("%w: voice BurstBytes %d below MaxFrameBytes %d", room.ErrBadConfig, c.BurstBytes, c.MaxFrameBytes)
	case c.StateChanges < 1:
		return fmt.Errorf("%w: voice StateChanges %d", room.ErrBadConfig, c.StateChanges)
	case c.MaxFramesPerSecond < 1 || c.FrameBurst < 1:
		return fmt.Errorf("%w: voice MaxFramesPerSecond %d, FrameBurst %d", room.ErrBadConfig, c.MaxFramesPerSecond, c.FrameBurst)
	case c.SilenceTimeout < 0 || c.MaxLag < 0 || c.MaxLag > time.Hour:
		return fmt.Errorf("%w: voice SilenceTimeout %v, MaxLag %v", room.ErrBadConfig, c.SilenceTimeout, c.MaxLag)
	}
	return nil
}

// maxLagUnits is MaxLag in timestamp units.
func (c *Config) maxLagUnits() uint32 {
	return uint32(c.MaxLag * ClockRate / time.Second)
}
