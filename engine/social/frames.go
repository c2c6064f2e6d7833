package social

import (
	"context"
	"time"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// actor is the user performing an operation.
type actor struct {
	ID   string
	Name string
}

// HandleFrame implements service.Service. It runs on the session's
// reader, so it does no I/O: it decodes a social request and queues it
// to the user's worker (inbox.go), which performs it and answers with its
// result frame, OK, or an Error frame with the request's ref. What it
// refuses at once (guests get CodeGuestNotAllowed for every social frame,
// a full queue CodeServerBusy, a bad frame its code) it returns, and the
// engine answers.
func (s *Service) HandleFrame(now time.Time, p service.Peer, _ netcode.Channel, k frame.Kind, data []byte) (uint32, error) {
	_, ref, _ := frame.PeekRef(data)        // the ref to answer with, even if the frame is bad
	if p.Guest() && k != frame.KindSignal { // guests may signal within rooms
		return ref, ErrGuest
	}
	ps := s.peer(p)
	if ps == nil {
		return ref, netcode.Errorf(netcode.CodeInternal, "session unknown to the social service")
	}
	f := frame.NewSocialFrame(k)
	if f == nil {
		return ref, netcode.Errorf(netcode.CodeUnknownKind, "social kind %d", k)
	}
	if err := frame.Unmarshal(data, f); err != nil {
		return ref, err
	}
	if _, ok := f.(frame.Refer); !ok { // a result or push kind
		return ref, badRequest("not a request kind")
	}
	if sg, ok := f.(*frame.Signal); ok {
		if err := s.checkSignal(now, ps, sg); err != nil {
			return ref, err
		}
	}
	if k != frame.KindMessageAck && k != frame.KindSetPresence { // SetPresence sets activity itself
		s.active(p.UserID(), now)
	}
	return ref, s.enqueue(ps, now, ref, f)
}

// active records user activity for the idle timer.
func (s *Service) active(uid string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.online[uid]; u != nil && u.pres.activity(now, s.timing()) {
		s.publishLocked(u)
	}
}

// dispatch performs one decoded request (on the user's worker) and
// returns the reply frame (nil for none).
func (s *Service) dispatch(ctx context.Context, now time.Time, ps *peerState, a actor, f frame.Frame) (frame.Frame, error) {
	switch m := f.(type) {
	case *frame.FriendRequest:
		return ok(m.Ref, s.RequestFriend(ctx, now, a.ID, m.Username))
	case *frame.FriendAccept:
		return ok(m.Ref, s.AcceptFriend(ctx, now, a.ID, m.UserID))
	case *frame.FriendDecline:
		return ok(m.Ref, s.DeclineFriend(ctx, now, a.ID, m.UserID))
	case *frame.FriendRemove:
		return ok(m.Ref, s.RemoveFriend(ctx, now, a.ID, m.UserID))
	case *frame.FriendBlock:
		return ok(m.Ref, s.Block(ctx, now, a.ID, m.UserID))
	case *frame.FriendUnblock:
		return ok(m.Ref, s.Unblock(ctx, now, a.ID, m.UserID))
	case *frame.FriendList:
		fs, more, err := s.Friends(ctx, a.ID, m.AfterUserID)
		if err != nil {
			return nil, err
		}
		return &frame.FriendListResult{Ref: m.Ref, Friends: fs, More: more}, nil
	case *frame.GroupCreate:
		g, err := s.CreateGroup(ctx, now, a.ID, m.Name, frame.GroupAccess(m.Open))
		if err != nil {
			return nil, err
		}
		return &frame.GroupResult{Ref: m.Ref, Group: g}, nil
	case *frame.GroupJoin:
		return ok(m.Ref, s.JoinGroup(ctx, now, a.ID, m.GroupID))
	case *frame.GroupInvite:
		return ok(m.Ref, s.InviteToGroup(ctx, now, a.ID, m.GroupID, m.UserID))
	case *frame.GroupAccept:
		return ok(m.Ref, s.AcceptInvite(ctx, now, a.ID, m.GroupID))
	case *frame.GroupDecline:
		return ok(m.Ref, s.DeclineInvite(ctx, now, a.ID, m.GroupID))
	case *frame.GroupLeave:
		return ok(m.Ref, s.LeaveGroup(ctx, now, a.ID, m.GroupID))
	case *frame.GroupRemove:
		return ok(m.Ref, s.RemoveMember(ctx, now, a.ID, m.GroupID, m.UserID))
	case *frame.GroupSetRole:
		return ok(m.Ref, s.SetRole(ctx, now, a.ID, m.GroupID, m.UserID, m.Role))
	case *frame.GroupMembers:
		ms, more, err := s.Members(ctx, a.ID, m.GroupID, m.AfterUserID, int(m.Limit))
		if err != nil {
			return nil, err
		}
		return &frame.GroupMembersResult{Ref: m.Ref, GroupID: m.GroupID, Members: ms, More: more}, nil
	case *frame.GroupList:
		gs, more, err := s.GroupsPage(ctx, a.ID, m.AfterGroupID)
		if err != nil {
			return nil, err
		}
		return &frame.GroupListResult{Ref: m.Ref, Groups: gs, More: more}, nil
	case *frame.DirectSend:
		id, at, err := s.sendDirect(ctx, now, ps.p.SessionID(), a.ID, a.Name, m.ToUserID, m.Body)
		if err != nil {
			return nil, err
		}
		return &frame.MessageSent{Ref: m.Ref, ID: id, TimeUs: at}, nil
	case *frame.GroupSend:
		id, at, err := s.sendGroup(ctx, now, ps.p.SessionID(), a.ID, a.Name, m.GroupID, m.Body)
		if err != nil {
			return nil, err
		}
		return &frame.MessageSent{Ref: m.Ref, ID: id, TimeUs: at}, nil
	case *frame.MessageAck:
		s.ackPeer(ps, m.UpToID)
		if m.Ref == 0 {
			return nil, nil
		}
		return &frame.OK{Ref: m.Ref}, nil
	case *frame.History:
		msgs, more, err := s.History(ctx, a.ID, m.GroupID, m.UserID, m.BeforeID, int(m.Limit))
		if err != nil {
			return nil, err
		}
		return &frame.HistoryResult{Ref: m.Ref, Messages: msgs, More: more}, nil
	case *frame.SetPresence:
		return ok(m.Ref, s.SetPresence(ctx, now, a.ID, m.Presence, m.StatusText))
	case *frame.Signal:
		if err := s.relaySignal(ctx, ps, m); err != nil || m.Ref == 0 {
			return nil, err
		}
		return &frame.OK{Ref: m.Ref}, nil
	case *frame.CallInvite:
		return nil, s.inviteCall(ctx, now, ps, a, m.Ref, m.ToUserID)
	case *frame.CallAccept:
		return ok(m.Ref, s.acceptCall(ctx, now, ps, m.CallID))
	case *frame.CallEnd:
		return ok(m.Ref, s.endCall(ctx, now, ps, m.CallID))
	}
	return nil, badRequest("not a request kind")
}

func ok(ref uint32, err error) (frame.Frame, error) {
	if err != nil {
		return nil, err
	}
	return &frame.OK{Ref: ref}, nil
}

// ackPeer records a session's acknowledgement: the user's cursor moves up
// to upTo (never beyond what this session was sent) and a paused backlog
// resumes.
func (s *Service) ackPeer(ps *peerState, upTo uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		upTo = s.queueAckLocked(ps, upTo)
	} else {
		upTo = s.ackLocked(ps.user.id, upTo, ps.sentThrough)
	}
	if ps.waitAck != 0 && upTo >= ps.waitAck {
		ps.waitAck = 0
		s.enqueueLocked(ps)
	}
}

// ackLocked is the one acknowledgement rule, for sessions and the HTTP
// inbox alike: user's cursor moves up to upTo clamped to delivered, the
// newest message id delivered over the acknowledging path, so that an id
// beyond it cannot skip a message stored later. It returns the clamped id;
// the cursor is written by the next flush (flushAcks). s.mu is held.
func (s *Service) ackLocked(user string, upTo, delivered uint64) uint64 {
	upTo = min(upTo, delivered)
	acked := s.ackDirty[user]
	if u := s.online[user]; u != nil {
		acked = max(acked, u.acked)
		u.acked = max(u.acked, upTo)
	}
	if upTo > acked {
		s.ackDirty[user] = upTo
	}
	return upTo
}
