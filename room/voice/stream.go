package voice

import (
	"time"

	"golang.org/x/time/rate"
)

// Verdict is what the voice room does with one received frame.
type Verdict uint8

// Verdicts. Every one but Forward is a drop, counted by its reason.
const (
	Forward   Verdict = iota // forward to the other members
	DropMuted                // the sender is muted
	DropStale                // older than the sequence window or the timestamp lag
	DropDup                  // a sequence number already received
	DropRate                 // over the sender's bitrate or frame-rate cap
)

var verdictNames = [...]string{"forward", "muted", "stale", "duplicate", "rate_limited"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "unknown"
}

// Window is how many sequence numbers behind the newest one a frame may
// arrive and still be forwarded (once): 64 frames, 1.28 s of 20 ms frames.
const Window = 64

// Stream is the sans-IO state of one member's outgoing audio in a voice
// room: the window of sequence numbers received, the bitrate and
// frame-rate buckets, the speaking detector and the mute and deafen
// flags. Time is always passed in. A Stream is owned by its room.
type Stream struct {
	cfg *Config

	started bool
	maxSeq  uint32 // newest sequence number received
	seen    uint64 // bit i set: maxSeq-i received
	maxTs   uint32 // timestamp of the newest frame

	bytes  *rate.Limiter // payload bytes per second
	frames *rate.Limiter // frames per second
	sets   *rate.Limiter // mute/deafen requests

	speaking   bool
	lastVoiced time.Time // arrival of the last speech frame

	muted    bool
	deafened bool
	warned   time.Time // last rate-limit warning
}

// NewStream returns the state of a member that has sent nothing yet. cfg
// must have been filled (Config.Validate).
func NewStream(cfg *Config) *Stream {
	return &Stream{
		cfg:    cfg,
		bytes:  rate.NewLimiter(rate.Limit(cfg.BitrateBps/8), cfg.BurstBytes),
		frames: rate.NewLimiter(rate.Limit(cfg.MaxFramesPerSecond), cfg.FrameBurst),
		sets:   rate.NewLimiter(1, cfg.StateChanges),
	}
}

// Accept decides what happens to a frame (seq, timestamp, payload of
// size bytes) arriving at now, and records a forwarded one. Checks run
// in order: muted, stale, duplicate, rate; a dropped frame changes
// nothing but the rate buckets it was charged to.
func (s *Stream) Accept(now time.Time, seq, ts uint32, size int) Verdict {
	if s.muted {
		return DropMuted
	}
	if s.started {
		if d := int32(seq - s.maxSeq); d <= 0 {
			switch {
			case -d >= Window:
				return DropStale
			case s.seen&(1<<uint(-d)) != 0:
				return DropDup
			}
		}
		if int32(ts-s.maxTs) < -int32(s.cfg.maxLagUnits()) {
			return DropStale
		}
	}
	if !s.frames.AllowN(now, 1) || !s.bytes.AllowN(now, size) {
		return DropRate
	}
	s.record(seq, ts)
	return Forward
}

func (s *Stream) record(seq, ts uint32) {
	if !s.started {
		s.started, s.maxSeq, s.seen, s.maxTs = true, seq, 1, ts
		return
	}
	d := int32(seq - s.maxSeq)
	if d <= 0 {
		s.seen |= 1 << uint(-d)
		return
	}
	if d >= Window {
		s.seen = 1
	} else {
		s.seen = s.seen<<uint(d) | 1
	}
	s.maxSeq = seq
	if int32(ts-s.maxTs) > 0 {
		s.maxTs = ts
	}
}

// Voiced records a forwarded frame of size bytes at now for the speaking
// detector and reports whether the member just started speaking. Frames
// of at most Config.SilentBytes (Opus DTX and comfort-noise packets) do
// not count as speech.
func (s *Stream) Voiced(now time.Time, size int) (started bool) {
	if size <= s.cfg.SilentBytes {
		return false
	}
	s.lastVoiced = now
	if s.speaking {
		return false
	}
	s.speaking = true
	return true
}

// Silent reports whether a speaking member has sent no speech for the
// silence timeout at now, and if so marks it silent.
func (s *Stream) Silent(now time.Time) bool {
	if !s.speaking || now.Sub(s.lastVoiced) < s.cfg.SilenceTimeout {
		return false
	}
	s.speaking = false
	return true
}

// Warn reports whether a refusal may be told to the member at now: at
// most once a second.
func (s *Stream) Warn(now time.Time) bool {
	if !s.warned.IsZero() && now.Sub(s.warned) < time.Second {
		return false
	}
	s.warned = now
	return true
}

// Speaking reports whether the member is speaking.
func (s *Stream) Speaking() bool { return s.speaking }

// Muted reports whether the member muted itself.
func (s *Stream) Muted() bool { return s.muted }

// Deafened reports whether the member deafened itself.
func (s *Stream) Deafened() bool { return s.deafened }

// MaySet takes a token for one mute/deafen request at now
// (Config.StateChanges).
func (s *Stream) MaySet(now time.Time) bool { return s.sets.AllowN(now, 1) }

// SetMuted mutes or unmutes the member; stoppedSpeaking is true when a
// speaking member was muted (it is silent now).
func (s *Stream) SetMuted(m bool) (changed, stoppedSpeaking bool) {
	if s.muted == m {
		return false, false
	}
	s.muted = m
	if m && s.speaking {
		s.speaking = false
		return true, true
	}
	return true, false
}

// SetDeafened deafens or undeafens the member.
func (s *Stream) SetDeafened(d bool) (changed bool) {
	if s.deafened == d {
		return false
	}
	s.deafened = d
	return true
}
