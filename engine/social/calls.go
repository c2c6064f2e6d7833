package social

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/engine/limit"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Calls between friends: the Service drives the call state machine
// (callcore.go) under its mutex — the one owner of every call — and
// pushes each new state as a CallUpdate to every session of both users.
// Timeouts are driven by Tick (the timer loop's clock). The end of the
// caller's session, of the accepting session, or of the callee's last
// session while ringing ends the call (closeLocked).
//
// Calls are not stored: a call that ends unanswered leaves no message for
// an offline callee (docs/VOICE.md says why and what an app does instead).

// callCounters counts the calls' transitions and refusals.
type callCounters struct {
	invited      atomic.Uint64
	answered     atomic.Uint64
	ended        [frame.CallEndDisconnected + 1]atomic.Uint64 // by reason
	busy         atomic.Uint64                                // CodeCallBusy
	inCall       atomic.Uint64                                // CodeInCall
	notFound     atomic.Uint64                                // CodeCallNotFound
	answeredElse atomic.Uint64                                // CodeCallAnswered
	offline      atomic.Uint64                                // CodeUserOffline
	rateLimited  atomic.Uint64                                // CodeCallRateLimited
	notFriends   atomic.Uint64                                // CodeNotFriends
	capacity     atomic.Uint64                                // CodeServerBusy: MaxCalls
	self         atomic.Uint64                                // CodeSelfAction: calling oneself
}

// CallStats is the calls' counters and current counts.
type CallStats struct {
	Ringing  int               `json:"ringing"`
	Active   int               `json:"active"`
	Invited  uint64            `json:"invited"`
	Answered uint64            `json:"answered"`
	Ended    map[string]uint64 `json:"ended"` // by end reason name
	Refused  CallRefusals      `json:"refused"`
	// InviteRate is the per-user invite limiter's counters.
	InviteRate limit.Stats `json:"invite_rate"`
}

// CallRefusals counts refused call requests by reason.
type CallRefusals struct {
	Busy        uint64 `json:"busy"`         // CodeCallBusy
	InCall      uint64 `json:"in_call"`      // CodeInCall
	NotFound    uint64 `json:"not_found"`    // CodeCallNotFound
	Answered    uint64 `json:"answered"`     // CodeCallAnswered: another session accepted first
	Offline     uint64 `json:"offline"`      // CodeUserOffline
	RateLimited uint64 `json:"rate_limited"` // CodeCallRateLimited
	NotFriends  uint64 `json:"not_friends"`  // CodeNotFriends
	Capacity    uint64 `json:"capacity"`     // CodeServerBusy: MaxCalls calls on the server
	Self        uint64 `json:"self"`         // CodeSelfAction: calling oneself
}

func (s *Service) callStats() CallStats {
	s.mu.Lock()
	ringing, active := s.calls.counts()
	s.mu.Unlock()
	c := &s.callStat
	ended := map[string]uint64{}
	for r := frame.CallEndDeclined; r <= frame.CallEndDisconnected; r++ {
		ended[r.String()] = c.ended[r].Load()
	}
	return CallStats{
		Ringing: ringing, Active: active, Invited: c.invited.Load(), Answered: c.answered.Load(), Ended: ended,
		Refused: CallRefusals{
			Busy: c.busy.Load(), InCall: c.inCall.Load(), NotFound: c.notFound.Load(), Answered: c.answeredElse.Load(),
			Offline: c.offline.Load(), RateLimited: c.rateLimited.Load(), NotFriends: c.notFriends.Load(), Capacity: c.capacity.Load(),
			Self: c.self.Load(),
		},
		InviteRate: s.invites.Stats(),
	}
}

// countCallRefusal counts err by its code and returns it.
func (s *Service) countCallRefusal(err error) error {
	c := &s.callStat
	switch {
	case errors.Is(err, ErrCallBusy):
		c.busy.Add(1)
	case errors.Is(err, ErrInCall):
		c.inCall.Add(1)
	case errors.Is(err, ErrCallNotFound):
		c.notFound.Add(1)
	case errors.Is(err, ErrCallAnswered):
		c.answeredElse.Add(1)
	case errors.Is(err, ErrUserOffline):
		c.offline.Add(1)
	case errors.Is(err, ErrCallCapacity):
		c.capacity.Add(1)
	case errors.Is(err, ErrSelf):
		c.self.Add(1)
	}
	return err
}

// inviteCall rings callee for session ps of a. The inviting session is
// answered with the ringing CallUpdate (ref), sent under the lock before
// anyone else can see the call, so that no later state overtakes it.
func (s *Service) inviteCall(ctx context.Context, now time.Time, ps *peerState, a actor, ref uint32, callee string) error {
	if callee == a.ID {
		return s.countCallRefusal(ErrSelf)
	}
	if !s.invites.Allow(a.ID, now) {
		s.callStat.rateLimited.Add(1)
		return ErrCallRateLimited
	}
	if err := s.friendsOrNot(ctx, a.ID, callee); err != nil {
		if errors.Is(err, ErrNoRelation) {
			s.callStat.notFriends.Add(1)
			return ErrNotFriends
		}
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.online[callee]; (u == nil || len(u.peers) == 0) && !s.sessionsElsewhereLocked(callee) {
		return s.countCallRefusal(ErrUserOffline)
	}
	switch {
	case s.inRemoteCallLocked(a.ID):
		return s.countCallRefusal(ErrInCall)
	case s.inRemoteCallLocked(callee):
		return s.countCallRefusal(ErrCallBusy)
	}
	c, err := s.calls.invite(now, a.ID, a.Name, ps.p.SessionID(), callee)
	if err != nil {
		return s.countCallRefusal(err)
	}
	s.callStat.invited.Add(1)
	if b := s.encodeCall(c, ref); b != nil {
		s.sendLocked(ps.p, b)
	}
	s.pushCallLocked(c, ps.p.SessionID())
	return nil
}

// acceptCall answers call id from session ps.
func (s *Service) acceptCall(ctx context.Context, now time.Time, ps *peerState, id uint64) error {
	if owner := s.callOwner(id); owner != "" {
		return s.callRemote(ctx, owner, &envelope{Op: callOpAccept, ID: id, User: ps.p.UserID(), Session: ps.p.SessionID()})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.calls.accept(now, ps.p.UserID(), ps.p.SessionID(), id)
	if err != nil {
		return s.countCallRefusal(err)
	}
	s.callStat.answered.Add(1)
	s.pushCallLocked(c, 0)
	return nil
}

// endCall ends call id at the request of ps's user.
func (s *Service) endCall(ctx context.Context, now time.Time, ps *peerState, id uint64) error {
	if owner := s.callOwner(id); owner != "" {
		return s.callRemote(ctx, owner, &envelope{Op: callOpEnd, ID: id, User: ps.p.UserID(), Session: ps.p.SessionID()})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.calls.end(now, ps.p.UserID(), id)
	if err != nil {
		return s.countCallRefusal(err)
	}
	s.endedLocked(c)
	return nil
}

// callOpenedLocked shows a session that just opened the call its user is
// in: a call ringing for the user rings there too (it may accept it), an
// active one shows as answered elsewhere.
func (s *Service) callOpenedLocked(ps *peerState) {
	if c := s.calls.byUser[ps.user.id]; c != nil {
		if b := s.encodeCall(c, 0); b != nil && !s.sendLocked(ps.p, b) {
			s.stats.sendFailed.Add(1)
		}
		return
	}
	if s.cl != nil {
		for _, rc := range s.cl.rcalls {
			if (rc.caller == ps.user.id || rc.callee == ps.user.id) && !s.sendLocked(ps.p, rc.data) {
				s.stats.sendFailed.Add(1)
			}
		}
	}
}

// onlineElsewhereLocked reports whether another node shows uid online or
// away.
func (s *Service) onlineElsewhereLocked(uid string) bool {
	if s.cl == nil {
		return false
	}
	for _, rp := range s.cl.remote[uid] {
		if rp.p != frame.PresenceOffline {
			return true
		}
	}
	return false
}

// sessionsElsewhereLocked reports whether another node holds a session
// of uid: it shows uid online or away and not only within its presence
// grace.
func (s *Service) sessionsElsewhereLocked(uid string) bool {
	if s.cl == nil {
		return false
	}
	for _, rp := range s.cl.remote[uid] {
		if rp.p != frame.PresenceOffline && !rp.idle {
			return true
		}
	}
	return false
}

// calleeGoneLocked ends the ringing call this node owns whose callee is
// uid once uid has no session on any node (another node announced it
// holds none): as on one node, where the callee's last session closing
// ends it (disconnected).
func (s *Service) calleeGoneLocked(uid string, now time.Time) {
	c := s.calls.byUser[uid]
	if c == nil || c.callee != uid || c.state != frame.CallRinging {
		return
	}
	if u := s.online[uid]; (u != nil && len(u.peers) > 0) || s.sessionsElsewhereLocked(uid) {
		return
	}
	s.calls.finish(now, c, frame.CallEndDisconnected, "")
	s.endedLocked(c)
}

// inRemoteCallLocked reports whether uid is a party of a call another
// node owns (as far as this node knows: a call of a user with a session
// here).
func (s *Service) inRemoteCallLocked(uid string) bool {
	if s.cl == nil {
		return false
	}
	for _, rc := range s.cl.rcalls {
		if rc.caller == uid || rc.callee == uid {
			return true
		}
	}
	return false
}

// callOwner is the node that owns call id if it is another node's ("":
// this node's, or unknown).
func (s *Service) callOwner(id uint64) string {
	if s.cl == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls.calls[id] != nil {
		return ""
	}
	if rc := s.cl.rcalls[id]; rc != nil {
		return rc.owner
	}
	return ""
}

// callSessionClosedLocked ends the call that closing session ps held.
func (s *Service) callSessionClosedLocked(ps *peerState, now time.Time) {
	if ps.user == nil {
		return
	}
	if s.cl != nil {
		// The accepting session of a call another node owns: tell it.
		for id, rc := range s.cl.rcalls {
			if rc.callee == ps.user.id && rc.calleeSess == ps.p.SessionID() && rc.calleeNode == s.cl.node {
				s.cl.publish(s.cl.nodeSubject(rc.owner), &envelope{K: envCallReq, Op: callOpClosed, ID: id,
					User: ps.user.id, Session: ps.p.SessionID()})
			}
		}
	}
	left := len(ps.user.peers)
	if s.sessionsElsewhereLocked(ps.user.id) {
		left++ // still rings on another node
	}
	if c := s.calls.sessionClosed(now, ps.user.id, ps.p.SessionID(), left); c != nil {
		s.endedLocked(c)
	}
}

// expireCallsLocked ends the calls that rang past RingTimeout.
func (s *Service) expireCallsLocked(now time.Time) {
	for _, c := range s.calls.expire(now) {
		s.endedLocked(c)
	}
}

func (s *Service) endedLocked(c *call) {
	s.callStat.ended[c.reason].Add(1)
	s.pushCallLocked(c, 0)
}

// pushCallLocked pushes c's state (ref 0) to every session of both users
// but skip (0: none).
func (s *Service) pushCallLocked(c *call, skip uint64) {
	b := s.encodeCall(c, 0)
	if b == nil {
		return
	}
	if s.cl != nil {
		s.publishCallLocked(c, b)
	}
	for _, uid := range [2]string{c.caller, c.callee} {
		if u := s.online[uid]; u != nil {
			for sid, ps := range u.peers {
				if sid != skip && !s.sendLocked(ps.p, b) {
					s.stats.sendFailed.Add(1)
				}
			}
		}
	}
}

func (s *Service) encodeCall(c *call, ref uint32) []byte {
	b, err := frame.Marshal(c.update(ref))
	if err != nil {
		s.log.Error("social: encode call update", "err", err)
		return nil
	}
	return b
}
