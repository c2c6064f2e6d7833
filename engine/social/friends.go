package social

import (
	"context"
	"errors"
	"time"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/netcode/frame"
)

// userByName resolves a username, mapping "not found" to ErrUserNotFound.
func (s *Service) userByName(ctx context.Context, name string) (accounts.User, error) {
	u, err := s.users.UserByName(ctx, name)
	if errors.Is(err, accounts.ErrUserNotFound) {
		return u, ErrUserNotFound
	}
	return u, err
}

// userExists returns ErrUserNotFound unless id is a user's.
func (s *Service) userExists(ctx context.Context, id string) error {
	if id == "" {
		return ErrUserNotFound
	}
	_, err := s.users.UserByID(ctx, id)
	if errors.Is(err, accounts.ErrUserNotFound) {
		return ErrUserNotFound
	}
	return err
}

// RequestFriend asks username to be friends with user. If they had asked
// user already, the two become friends. Asking again is a no-op.
func (s *Service) RequestFriend(ctx context.Context, now time.Time, user, username string) error {
	other, err := s.userByName(ctx, username)
	if err != nil {
		return err
	}
	if other.ID == user {
		return ErrSelf
	}
	event := frame.FriendEventRequested
	err = s.st.InTx(ctx, func(tx Ops) error {
		ab, err := tx.Relation(ctx, user, other.ID)
		if err != nil {
			return err
		}
		ba, err := tx.Relation(ctx, other.ID, user)
		if err != nil {
			return err
		}
		switch {
		case ab == frame.FriendBlocked || ba == frame.FriendBlocked:
			return ErrBlocked
		case ab == frame.FriendAccepted:
			return ErrAlreadyFriends
		case ab == frame.FriendOutgoing:
			event = 0 // already asked
			return nil
		case ab == frame.FriendIncoming:
			event = frame.FriendEventAccepted
			if err := tx.SetRelation(ctx, user, other.ID, frame.FriendAccepted, now.UnixMicro()); err != nil {
				return err
			}
			return tx.SetRelation(ctx, other.ID, user, frame.FriendAccepted, now.UnixMicro())
		}
		for _, id := range []string{user, other.ID} {
			n, err := tx.CountRelations(ctx, id)
			if err != nil {
				return err
			}
			if n >= s.cfg.MaxFriends {
				return s.refuseLimit("too many friends and requests")
			}
		}
		if err := tx.SetRelation(ctx, user, other.ID, frame.FriendOutgoing, now.UnixMicro()); err != nil {
			return err
		}
		return tx.SetRelation(ctx, other.ID, user, frame.FriendIncoming, now.UnixMicro())
	})
	if err != nil || event == 0 {
		return err
	}
	if event == frame.FriendEventAccepted {
		s.notifyRelation(ctx, user, event, frame.FriendAccepted, other.ID, event, frame.FriendAccepted)
		return nil
	}
	s.notifyRelation(ctx, user, event, frame.FriendOutgoing, other.ID, event, frame.FriendIncoming)
	return nil
}

// AcceptFriend accepts other's pending request.
func (s *Service) AcceptFriend(ctx context.Context, now time.Time, user, other string) error {
	err := s.st.InTx(ctx, func(tx Ops) error {
		ab, err := tx.Relation(ctx, user, other)
		if err != nil {
			return err
		}
		if ab != frame.FriendIncoming {
			return ErrRequestNotFound
		}
		if err := tx.SetRelation(ctx, user, other, frame.FriendAccepted, now.UnixMicro()); err != nil {
			return err
		}
		return tx.SetRelation(ctx, other, user, frame.FriendAccepted, now.UnixMicro())
	})
	if err != nil {
		return err
	}
	s.notifyRelation(ctx, user, frame.FriendEventAccepted, frame.FriendAccepted, other, frame.FriendEventAccepted, frame.FriendAccepted)
	return nil
}

// DeclineFriend declines other's pending request.
func (s *Service) DeclineFriend(ctx context.Context, now time.Time, user, other string) error {
	err := s.st.InTx(ctx, func(tx Ops) error {
		ab, err := tx.Relation(ctx, user, other)
		if err != nil {
			return err
		}
		if ab != frame.FriendIncoming {
			return ErrRequestNotFound
		}
		if err := tx.ClearRelation(ctx, user, other); err != nil {
			return err
		}
		return tx.ClearRelation(ctx, other, user)
	})
	if err != nil {
		return err
	}
	s.notifyRelation(ctx, user, frame.FriendEventDeclined, frame.FriendNone, other, frame.FriendEventDeclined, frame.FriendNone)
	return nil
}

// RemoveFriend ends a friendship, or cancels user's own pending request.
func (s *Service) RemoveFriend(ctx context.Context, now time.Time, user, other string) error {
	var was frame.FriendState
	err := s.st.InTx(ctx, func(tx Ops) error {
		ab, err := tx.Relation(ctx, user, other)
		if err != nil {
			return err
		}
		if ab != frame.FriendAccepted && ab != frame.FriendOutgoing {
			return ErrNotFriends
		}
		was = ab
		if err := tx.ClearRelation(ctx, user, other); err != nil {
			return err
		}
		return tx.ClearRelation(ctx, other, user)
	})
	if err != nil {
		return err
	}
	event := frame.FriendEventRemoved
	if was == frame.FriendOutgoing {
		event = frame.FriendEventDeclined
	}
	s.notifyRelation(ctx, user, event, frame.FriendNone, other, event, frame.FriendNone)
	return nil
}

// Block blocks other: any friendship or request between them ends, other
// can no longer ask user to be friends, message or invite user.
func (s *Service) Block(ctx context.Context, now time.Time, user, other string) error {
	if other == user {
		return ErrSelf
	}
	if err := s.userExists(ctx, other); err != nil {
		return err
	}
	var was frame.FriendState
	err := s.st.InTx(ctx, func(tx Ops) error {
		ab, err := tx.Relation(ctx, user, other)
		if err != nil {
			return err
		}
		was = ab
		if err := tx.SetRelation(ctx, user, other, frame.FriendBlocked, now.UnixMicro()); err != nil {
			return err
		}
		return tx.ClearRelation(ctx, other, user)
	})
	if err != nil {
		return err
	}
	// The blocked user is not told of the block, only that the relation
	// ended.
	var theirs frame.FriendEvent
	switch was {
	case frame.FriendAccepted:
		theirs = frame.FriendEventRemoved
	case frame.FriendIncoming, frame.FriendOutgoing:
		theirs = frame.FriendEventDeclined
	}
	s.notifyRelation(ctx, user, frame.FriendEventBlocked, frame.FriendBlocked, other, theirs, frame.FriendNone)
	return nil
}

// Unblock lifts user's block of other.
func (s *Service) Unblock(ctx context.Context, now time.Time, user, other string) error {
	err := s.st.InTx(ctx, func(tx Ops) error {
		ab, err := tx.Relation(ctx, user, other)
		if err != nil {
			return err
		}
		if ab != frame.FriendBlocked {
			return ErrNotBlocked
		}
		return tx.DeleteBlock(ctx, user, other)
	})
	if err != nil {
		return err
	}
	s.notifyRelation(ctx, user, frame.FriendEventUnblocked, frame.FriendNone, other, 0, frame.FriendNone)
	return nil
}

// notifyRelation updates the hub's friend sets and pushes
// FriendUpdate(aEvent) to a (describing b with aState) and, if bEvent is
// not 0, FriendUpdate(bEvent) to b (describing a with bState).
func (s *Service) notifyRelation(ctx context.Context, a string, aEvent frame.FriendEvent, aState frame.FriendState, b string, bEvent frame.FriendEvent, bState frame.FriendState) {
	us, err := s.users.UsersByIDs(ctx, []string{a, b})
	if err != nil {
		s.log.Warn("social: notify relation", "err", err)
		us = map[string]accounts.User{}
	}
	ua, ub := us[a], us[b]
	ua.ID, ub.ID = a, b
	s.mu.Lock()
	defer s.mu.Unlock()
	s.relationChangedLocked(a, b, aEvent)
	send := func(to string, other accounts.User, event frame.FriendEvent, state frame.FriendState) {
		fr := frame.Friend{UserID: other.ID, Username: other.Username, DisplayName: other.DisplayName, State: state}
		if state == frame.FriendAccepted {
			fr.Presence, fr.StatusText, fr.LastSeenUs, _ = s.presenceOfLocked(other.ID)
		}
		data, err := frame.Marshal(&frame.FriendUpdate{Event: event, Friend: fr})
		if err != nil {
			s.log.Error("social: encode friend update", "err", err)
			return
		}
		s.sendUserLocked(to, data)
		if s.cl != nil {
			// The user's sessions on other nodes: the same update, and
			// their node's friend set.
			s.cl.publish(s.cl.userSubject(to), &envelope{K: envRelation, User: to, Other: other.ID,
				Flag: aEvent == frame.FriendEventAccepted, Data: data})
		}
	}
	send(a, ub, aEvent, aState)
	if bEvent != 0 {
		send(b, ua, bEvent, bState)
	}
}

// Friends lists user's friends (with presence), pending requests both
// ways and blocks, ordered by user id after after (""from the start), in a
// page that fits one frame; more says another page follows.
func (s *Service) Friends(ctx context.Context, user, after string) ([]frame.Friend, bool, error) {
	rows, err := s.st.Relations(ctx, user, after)
	if err != nil {
		return nil, false, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.OtherID
	}
	us, err := s.users.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	out := make([]frame.Friend, len(rows))
	s.mu.Lock()
	for i, r := range rows {
		u := us[r.OtherID]
		f := frame.Friend{UserID: r.OtherID, Username: u.Username, DisplayName: u.DisplayName, State: r.State}
		if r.State == frame.FriendAccepted {
			f.LastSeenUs = r.LastSeenUs
			if p, text, seen, known := s.presenceOfLocked(r.OtherID); known {
				f.Presence, f.StatusText, f.LastSeenUs = p, text, seen
			}
		}
		out[i] = f
	}
	s.mu.Unlock()
	out, more := fitFirst(s, out, friendSize)
	return out, more, nil
}
