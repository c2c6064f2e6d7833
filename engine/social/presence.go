package social

import (
	"time"

	"github.com/tickwire/tickwire/netcode/frame"
)

// presence is one user's presence state machine. It is sans-IO: time is
// passed in, and each method reports whether what friends should see
// (shown, shownText) changed, so that the caller publishes.
//
//	sessions > 0, away set by the user or idle  -> away
//	sessions > 0 otherwise                      -> online
//	sessions == 0 for less than grace           -> unchanged (no flap)
//	sessions == 0 for grace or longer           -> offline
type presence struct {
	sessions   int
	away       bool // set by the user
	idle       bool // set by the idle timer
	text       string
	lastActive time.Time
	goneAt     time.Time // when sessions dropped to 0
	lastSeen   time.Time // last time the user had a session

	shown     frame.Presence // what friends were last told
	shownText string
}

// timing is the part of Config the state machine needs.
type timing struct {
	grace     time.Duration
	awayAfter time.Duration // <= 0: no idle timer
}

// target is what friends should see at now.
func (p *presence) target(now time.Time, t timing) frame.Presence {
	switch {
	case p.sessions == 0 && now.Sub(p.goneAt) < t.grace:
		return p.shown
	case p.sessions == 0:
		return frame.PresenceOffline
	case p.away || p.idle:
		return frame.PresenceAway
	}
	return frame.PresenceOnline
}

// settle moves shown to the target and reports a change.
func (p *presence) settle(now time.Time, t timing) bool {
	v := p.target(now, t)
	text := p.text
	if v == frame.PresenceOffline {
		text = ""
	}
	if v == p.shown && text == p.shownText {
		return false
	}
	p.shown, p.shownText = v, text
	return true
}

// open records a new session.
func (p *presence) open(now time.Time, t timing) bool {
	p.sessions++
	p.lastActive, p.lastSeen = now, now
	p.idle = false
	return p.settle(now, t)
}

// close records a session's end. Friends see no change before the grace
// period has passed (tick does that).
func (p *presence) close(now time.Time, t timing) bool {
	if p.sessions > 0 {
		p.sessions--
	}
	p.lastSeen = now
	if p.sessions == 0 {
		p.goneAt = now
	}
	return p.settle(now, t)
}

// activity records user activity: an idle user is online again.
func (p *presence) activity(now time.Time, t timing) bool {
	p.lastActive = now
	if p.sessions > 0 {
		p.lastSeen = now
	}
	p.idle = false
	return p.settle(now, t)
}

// set applies the user's own choice of presence (PresenceOnline or
// PresenceAway) and status text.
func (p *presence) set(now time.Time, t timing, chosen frame.Presence, text string) bool {
	p.away, p.text = chosen == frame.PresenceAway, text
	p.lastActive = now
	p.idle = false
	return p.settle(now, t)
}

// tick applies the idle timer and the grace period.
func (p *presence) tick(now time.Time, t timing) bool {
	if p.sessions > 0 {
		p.lastSeen = now
		if t.awayAfter > 0 && !p.idle && now.Sub(p.lastActive) >= t.awayAfter {
			p.idle = true
		}
	}
	return p.settle(now, t)
}

// gone reports whether the user has had no session for the grace period
// and friends have been told so: the state may be forgotten.
func (p *presence) gone(now time.Time, t timing) bool {
	return p.sessions == 0 && now.Sub(p.goneAt) >= t.grace && p.shown == frame.PresenceOffline
}
