package social

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// The signaling relay: a Signal's payload goes, unmodified, to sessions
// that share a call, a room or a friendship with the sending session
// (frame.Signal says which, by call_id, room_id or neither), as one
// SignalRecv frame encoded once. It never reaches anyone else: every
// refusal is coded and counted.
//
// Lock order: relaySignal asks Rooms.InRoom (the room hub's per-session
// lock) while holding Service.mu; the room hub never calls into this
// service, so the order is always social, then rooms.
//
// The size and rate limits are checked on the session's reader
// (checkSignal), before the frame is queued; routing runs on the user's
// request worker like every social request, so that a session's signals
// and call requests are performed in the order sent (a signal sent right
// after CallAccept finds the call active).

// sigCounters counts the relay's outcomes.
type sigCounters struct {
	relayed     atomic.Uint64 // signals forwarded (once per signal, whatever the recipients)
	recipients  atomic.Uint64 // SignalRecv frames queued to sessions
	tooLarge    atomic.Uint64 // CodeSignalTooLarge
	rateLimited atomic.Uint64 // CodeSignalRateLimited
	noRelation  atomic.Uint64 // CodeNoRelation: no shared room or friendship
	notInCall   atomic.Uint64 // CodeCallNotFound: not a session of that active call
	offline     atomic.Uint64 // CodeUserOffline: the friend has no (such) session
	invalid     atomic.Uint64 // CodeBadRequest (no recipient), CodeGuestNotAllowed (a guest outside rooms), CodeUnsupported (no room service)
}

// SignalStats is the relay's counters.
type SignalStats struct {
	Relayed    uint64         `json:"relayed"`
	Recipients uint64         `json:"recipients"`
	Refused    SignalRefusals `json:"refused"`
}

// SignalRefusals counts refused signals by reason.
type SignalRefusals struct {
	TooLarge    uint64 `json:"too_large"`    // CodeSignalTooLarge
	RateLimited uint64 `json:"rate_limited"` // CodeSignalRateLimited
	NoRelation  uint64 `json:"no_relation"`  // CodeNoRelation
	NotInCall   uint64 `json:"not_in_call"`  // CodeCallNotFound
	Offline     uint64 `json:"offline"`      // CodeUserOffline
	Invalid     uint64 `json:"invalid"`      // CodeBadRequest, CodeGuestNotAllowed, CodeUnsupported
}

func (c *sigCounters) snapshot() SignalStats {
	return SignalStats{
		Relayed: c.relayed.Load(), Recipients: c.recipients.Load(),
		Refused: SignalRefusals{
			TooLarge: c.tooLarge.Load(), RateLimited: c.rateLimited.Load(), NoRelation: c.noRelation.Load(),
			NotInCall: c.notInCall.Load(), Offline: c.offline.Load(), Invalid: c.invalid.Load(),
		},
	}
}

// checkSignal applies a signal's size limit and its session's rate, on
// the reader.
func (s *Service) checkSignal(now time.Time, ps *peerState, m *frame.Signal) error {
	if len(m.Payload) > s.cfg.MaxSignalBytes {
		s.sig.tooLarge.Add(1)
		return &netcode.CodedError{Code: netcode.CodeSignalTooLarge,
			Msg: fmt.Sprintf("payload of %d bytes, limit %d", len(m.Payload), s.cfg.MaxSignalBytes), Err: ErrSignalTooLarge}
	}
	if !ps.signals.AllowN(now, 1) {
		s.sig.rateLimited.Add(1)
		return ErrSignalRateLimited
	}
	return nil
}

// relaySignal forwards m from session ps (on the user's worker).
func (s *Service) relaySignal(ctx context.Context, ps *peerState, m *frame.Signal) error {
	from := ps.p
	guest := from.Guest()
	if m.CallID == 0 && m.RoomID == 0 && m.ToUserID == "" && m.ToSession == 0 {
		s.sig.invalid.Add(1)
		return badRequest("signal names no recipient")
	}
	if guest && (m.RoomID == 0 || m.CallID != 0) {
		s.sig.invalid.Add(1)
		return ErrGuest // guests signal within rooms only
	}
	if m.CallID == 0 && m.RoomID == 0 {
		// A friend: the friendship may need the store, outside the lock.
		if err := s.friendsOrNot(ctx, from.UserID(), m.ToUserID); err != nil {
			s.sig.noRelation.Add(1)
			return err
		}
	}
	if m.RoomID != 0 && m.CallID == 0 {
		if s.cfg.Rooms == nil {
			s.sig.invalid.Add(1)
			return netcode.Errorf(netcode.CodeUnsupported, "room signaling needs the room service")
		}
		if !s.cfg.Rooms.InRoom(from.SessionID(), m.RoomID) {
			s.sig.noRelation.Add(1)
			return ErrNoRelation
		}
	}
	data, err := frame.Marshal(&frame.SignalRecv{FromUserID: from.UserID(), FromSession: from.SessionID(),
		RoomID: m.RoomID, CallID: m.CallID, Payload: m.Payload})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []*peerState
	switch {
	case m.CallID != 0:
		c := s.calls.calls[m.CallID]
		var to uint64
		node := ""
		switch {
		case c != nil && c.state == frame.CallActive:
			// Session ids are per node: match the user too.
			switch {
			case from.UserID() == c.caller && from.SessionID() == c.callerSess:
				to, node = c.calleeSess, c.calleeNode
			case from.UserID() == c.callee && from.SessionID() == c.calleeSess && c.calleeNode == "":
				to = c.callerSess
			}
		case s.cl != nil && s.cl.rcalls[m.CallID] != nil:
			// Another node owns the call: the caller's session is there.
			rc := s.cl.rcalls[m.CallID]
			if rc.state == frame.CallActive && rc.calleeNode == s.cl.node && from.SessionID() == rc.calleeSess {
				to, node = rc.callerSess, rc.owner
			}
		}
		if to == 0 {
			s.sig.notInCall.Add(1)
			return ErrCallNotFound
		}
		if node != "" && node != s.cl.node {
			s.sig.relayed.Add(1)
			s.cl.publish(s.cl.nodeSubject(node), &envelope{K: envFrame, Session: to, Data: data})
			return nil
		}
		if tp := s.peers[to]; tp != nil {
			targets = append(targets, tp)
		}
	case m.RoomID != 0:
		for _, tp := range s.signalTargetsLocked(m.ToUserID, m.ToSession) {
			if tp.p.SessionID() != from.SessionID() && s.cfg.Rooms.InRoom(tp.p.SessionID(), m.RoomID) {
				targets = append(targets, tp)
			}
		}
		if len(targets) == 0 {
			// Not telling a stranger whether the user is online.
			s.sig.noRelation.Add(1)
			return ErrNoRelation
		}
	default:
		targets = s.signalTargetsLocked(m.ToUserID, m.ToSession)
		if s.onlineElsewhereLocked(m.ToUserID) {
			// The friend's sessions on other nodes (one of them if
			// ToSession names it there).
			s.cl.publish(s.cl.userSubject(m.ToUserID), &envelope{K: envFrame, User: m.ToUserID, Session: m.ToSession, Data: data})
			if len(targets) == 0 {
				s.sig.relayed.Add(1)
				return nil
			}
		}
	}
	if len(targets) == 0 {
		s.sig.offline.Add(1)
		return ErrUserOffline
	}
	s.sig.relayed.Add(1)
	for _, tp := range targets {
		if s.sendLocked(tp.p, data) {
			s.sig.recipients.Add(1)
		} else {
			s.stats.sendFailed.Add(1)
		}
	}
	return nil
}

// signalTargetsLocked returns session sid if it is user uid's ("" matches
// any user), or with sid 0 every session of uid (guests included).
func (s *Service) signalTargetsLocked(uid string, sid uint64) []*peerState {
	if sid != 0 {
		tp := s.peers[sid]
		if tp == nil || tp.closed || (uid != "" && tp.p.UserID() != uid) {
			return nil
		}
		return []*peerState{tp}
	}
	var out []*peerState
	if u := s.online[uid]; u != nil {
		for _, tp := range u.peers {
			out = append(out, tp)
		}
	}
	for _, tp := range s.guests[uid] {
		out = append(out, tp)
	}
	return out
}

// friendsOrNot returns nil if a and b are friends, else ErrNoRelation
// (a block ends a friendship, so it needs no check of its own). The
// cached friend set answers when a's is loaded; otherwise the store.
func (s *Service) friendsOrNot(ctx context.Context, a, b string) error {
	if a == b || b == "" {
		return ErrNoRelation
	}
	s.mu.Lock()
	u := s.online[a]
	if u != nil && u.loaded {
		_, ok := u.friends[b]
		s.mu.Unlock()
		if !ok {
			return ErrNoRelation
		}
		return nil
	}
	s.mu.Unlock()
	st, err := s.st.Relation(ctx, a, b)
	if err != nil {
		return err
	}
	if st != frame.FriendAccepted {
		return ErrNoRelation
	}
	return nil
}
