package social

import (
	"time"

	"github.com/tickwire/tickwire/netcode/frame"
)

// callBook is the sans-IO core of calls between friends: every call and
// every transition of the call state machine, with time passed in. It
// does no I/O, reads no clock and takes no lock: the Service owns one,
// guarded by Service.mu, and pushes the CallUpdate each transition
// returns.
//
//	invite ─► ringing ─┬─ accept (first callee session) ─► active ─┬─ end ──► ended(hung_up)
//	                   ├─ end by the callee ───────► ended(declined)  └─ a call session closes ─► ended(disconnected)
//	                   ├─ end by the caller ───────► ended(cancelled)
//	                   ├─ ring timeout ────────────► ended(no_answer)
//	                   └─ the caller's session, or the callee's last one, closes ─► ended(disconnected)
//
// A user is in at most one call at a time (ringing either way, or
// active): an invite to a user in a call is refused (ErrCallBusy), an
// invite from one is refused too (ErrInCall). An ended call is forgotten
// at once: a later request naming it gets ErrCallNotFound.
type callBook struct {
	ringTimeout time.Duration
	maxCalls    int
	last        uint64 // the last call id given
	calls       map[uint64]*call
	byUser      map[string]*call
}

// call is one call. Its fields change only through callBook's methods.
type call struct {
	id         uint64
	caller     string
	callerName string
	callee     string
	callerSess uint64 // the session that invited
	calleeSess uint64 // the session that accepted (0 while ringing)
	calleeNode string // in a cluster: the node of calleeSess if not this one
	state      frame.CallState
	reason     frame.CallEndReason
	by         string    // who ended it (declined, cancelled, hung_up)
	since      time.Time // when the current state began
	deadline   time.Time // while ringing: when it ends unanswered
}

func newCallBook(ringTimeout time.Duration, maxCalls int, firstID uint64) *callBook {
	return &callBook{ringTimeout: ringTimeout, maxCalls: maxCalls, last: firstID, calls: map[uint64]*call{}, byUser: map[string]*call{}}
}

// update is the call's state as a CallUpdate frame.
func (c *call) update(ref uint32) *frame.CallUpdate {
	return &frame.CallUpdate{
		Ref: ref, CallID: c.id, State: c.state, Reason: c.reason,
		CallerID: c.caller, CallerName: c.callerName, CalleeID: c.callee,
		CallerSession: c.callerSess, CalleeSession: c.calleeSess, ByUserID: c.by,
		TimeUs: c.since.UnixMicro(),
	}
}

// party reports whether user is the caller or the callee.
func (c *call) party(user string) bool { return user == c.caller || user == c.callee }

// peerOf is the other call session of an active call, for a signal from
// session sess (0 if sess is not one of the two).
func (c *call) peerOf(sess uint64) uint64 {
	switch {
	case c.state != frame.CallActive:
		return 0
	case sess == c.callerSess:
		return c.calleeSess
	case sess == c.calleeSess:
		return c.callerSess
	}
	return 0
}

// invite starts a call from session callerSess of caller to callee,
// ringing until now + ringTimeout. The caller's friendship with the
// callee and the callee's being online are the Service's to check.
func (b *callBook) invite(now time.Time, caller, callerName string, callerSess uint64, callee string) (*call, error) {
	switch {
	case caller == callee:
		return nil, ErrSelf
	case b.byUser[caller] != nil:
		return nil, ErrInCall
	case b.byUser[callee] != nil:
		return nil, ErrCallBusy
	case len(b.calls) >= b.maxCalls:
		return nil, ErrCallCapacity
	}
	b.last++
	for b.last == 0 || b.calls[b.last] != nil {
		b.last++
	}
	c := &call{id: b.last, caller: caller, callerName: callerName, callee: callee, callerSess: callerSess,
		state: frame.CallRinging, since: now, deadline: now.Add(b.ringTimeout)}
	b.calls[c.id] = c
	b.byUser[caller] = c
	b.byUser[callee] = c
	return c, nil
}

// accept answers ringing call id from session sess of user: the first
// callee session to accept wins; a later one gets ErrCallAnswered.
func (b *callBook) accept(now time.Time, user string, sess, id uint64) (*call, error) {
	c := b.calls[id]
	switch {
	case c == nil || c.callee != user:
		return nil, ErrCallNotFound
	case c.state != frame.CallRinging:
		return nil, ErrCallAnswered
	}
	c.state, c.calleeSess, c.since = frame.CallActive, sess, now
	return c, nil
}

// end ends call id at the request of user (either party, from any of
// their sessions): a ringing call is cancelled by the caller or declined
// by the callee, an active one is hung up.
func (b *callBook) end(now time.Time, user string, id uint64) (*call, error) {
	c := b.calls[id]
	if c == nil || !c.party(user) {
		return nil, ErrCallNotFound
	}
	reason := frame.CallEndHungUp
	if c.state == frame.CallRinging {
		reason = frame.CallEndDeclined
		if user == c.caller {
			reason = frame.CallEndCancelled
		}
	}
	b.finish(now, c, reason, user)
	return c, nil
}

// sessionClosed ends the call of user that session sess was holding: the
// caller's session, the accepting session, or — while ringing — the
// callee's last session (left says how many sessions user still has).
// It returns the ended call, or nil.
func (b *callBook) sessionClosed(now time.Time, user string, sess uint64, left int) *call {
	c := b.byUser[user]
	if c == nil {
		return nil
	}
	mine := (user == c.caller && sess == c.callerSess) || (user == c.callee && sess == c.calleeSess && c.calleeNode == "")
	lastRinging := c.state == frame.CallRinging && user == c.callee && left == 0
	if !mine && !lastRinging {
		return nil
	}
	b.finish(now, c, frame.CallEndDisconnected, "")
	return c
}

// expire ends every call that rang until its deadline, and returns them.
func (b *callBook) expire(now time.Time) []*call {
	var out []*call
	for _, c := range b.calls {
		if c.state == frame.CallRinging && !now.Before(c.deadline) {
			b.finish(now, c, frame.CallEndNoAnswer, "")
			out = append(out, c)
		}
	}
	return out
}

func (b *callBook) finish(now time.Time, c *call, reason frame.CallEndReason, by string) {
	c.state, c.reason, c.by, c.since = frame.CallEnded, reason, by, now
	delete(b.calls, c.id)
	delete(b.byUser, c.caller)
	delete(b.byUser, c.callee)
}

// counts returns the calls ringing and active.
func (b *callBook) counts() (ringing, active int) {
	for _, c := range b.calls {
		if c.state == frame.CallRinging {
			ringing++
		} else {
			active++
		}
	}
	return ringing, active
}
