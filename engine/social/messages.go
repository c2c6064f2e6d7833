package social

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// checkBody validates a message body and takes a token from the
// sender's bucket.
func (s *Service) checkBody(user, body string, now time.Time) error {
	switch {
	case len(body) > s.cfg.MaxMessageBytes:
		return ErrMessageTooLarge
	case body == "":
		return badRequest("empty message")
	case !utf8.ValidString(body):
		return badRequest("message body is not valid UTF-8")
	case !s.rate.Allow(user, now):
		return ErrRateLimited
	}
	return nil
}

// SendDirect stores a direct message from user to a friend and delivers
// it to every online session of the recipient and to the sender's own
// sessions (so the user's other devices show what was sent). It returns
// the message id and timestamp (µs) once the message is stored.
func (s *Service) SendDirect(ctx context.Context, now time.Time, user, name, to, body string) (uint64, int64, error) {
	return s.sendDirect(ctx, now, 0, user, name, to, body)
}

// sendDirect is SendDirect from session origin (0: not from a session),
// which gets MessageSent rather than a copy of the message.
func (s *Service) sendDirect(ctx context.Context, now time.Time, origin uint64, user, name, to, body string) (uint64, int64, error) {
	if to == user {
		return 0, 0, ErrSelf
	}
	if err := s.checkBody(user, body, now); err != nil {
		return 0, 0, err
	}
	ab, err := s.st.Relation(ctx, user, to)
	if err != nil {
		return 0, 0, err
	}
	ba, err := s.st.Relation(ctx, to, user)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case ab == frame.FriendBlocked || ba == frame.FriendBlocked:
		return 0, 0, ErrBlocked
	case ab != frame.FriendAccepted:
		return 0, 0, ErrNotFriends
	}
	m := frame.ChatMessage{FromUserID: user, ToUserID: to, TimeUs: now.UnixMicro(), Body: body, FromName: name}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.storeAndDeliverLocked(ctx, &m, []string{to, user}, origin); err != nil {
		return 0, 0, err
	}
	return m.ID, m.TimeUs, nil
}

// SendGroup stores a message from a member to a group and delivers it to
// every online session of every member, the sender's other sessions
// included.
func (s *Service) SendGroup(ctx context.Context, now time.Time, user, name string, groupID uint64, body string) (uint64, int64, error) {
	return s.sendGroup(ctx, now, 0, user, name, groupID, body)
}

// sendGroup is SendGroup from session origin (0: not from a session).
func (s *Service) sendGroup(ctx context.Context, now time.Time, origin uint64, user, name string, groupID uint64, body string) (uint64, int64, error) {
	if err := s.checkBody(user, body, now); err != nil {
		return 0, 0, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	gi, err := s.groupLocked(ctx, groupID)
	if err != nil {
		return 0, 0, err
	}
	if _, ok := gi.members[user]; !ok {
		return 0, 0, ErrNotMember
	}
	m := frame.ChatMessage{GroupID: groupID, FromUserID: user, TimeUs: now.UnixMicro(), Body: body, FromName: name}
	if err := s.storeAndDeliverLocked(ctx, &m, gi.list, origin); err != nil {
		return 0, 0, err
	}
	return m.ID, m.TimeUs, nil
}

// storeAndDeliverLocked (under writeMu) stores m and fans it out to every
// session of the recipients but origin (the sending session, answered
// with MessageSent; 0 for none). The sender's other sessions are among
// the recipients: a user's second device sees what the first one sent.
func (s *Service) storeAndDeliverLocked(ctx context.Context, m *frame.ChatMessage, recipients []string, origin uint64) error {
	if err := s.st.InsertMessage(ctx, m); err != nil {
		return err
	}
	s.stats.stored.Add(1)
	data, err := frame.Marshal(&frame.Message{ChatMessage: *m})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.deliverLocked(m.ID, data, recipients, origin)
	s.mu.Unlock()
	if s.cl != nil {
		s.publishMessage(m.ID, data, recipients)
	}
	return nil
}

// History returns a page of a conversation, oldest first: the group's
// (members only) if groupID != 0, else the direct conversation of user
// and other. before 0 means from the newest; n 0 means the default.
func (s *Service) History(ctx context.Context, user string, groupID uint64, other string, before uint64, n int) ([]frame.ChatMessage, bool, error) {
	if n <= 0 {
		n = s.cfg.HistoryLimit
	}
	n = min(n, frame.MaxHistoryLimit)
	conv := ""
	if groupID != 0 {
		if _, err := s.st.Group(ctx, groupID); err != nil {
			return nil, false, err
		}
		if _, err := s.st.Role(ctx, groupID, user); err != nil {
			return nil, false, err
		}
	} else {
		if other == "" || other == user {
			return nil, false, badRequest("history needs a group_id or another user_id")
		}
		conv = directConv(user, other)
	}
	msgs, more, err := s.st.History(ctx, groupID, conv, before, n)
	if err != nil {
		return nil, false, err
	}
	// Keep the reply within one frame: drop the oldest beyond the budget.
	msgs, cut := fitLast(s, msgs, messageSize)
	return msgs, more || cut, nil
}

// Inbox returns, in id order, up to n messages addressed to user that are
// not yet acknowledged (for the HTTP API; sessions get them pushed).
func (s *Service) Inbox(ctx context.Context, user string, n int) ([]frame.ChatMessage, error) {
	if n <= 0 || n > frame.MaxHistoryLimit {
		n = frame.MaxHistoryLimit
	}
	cur, err := s.st.Cursor(ctx, user)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	cur = max(cur, s.ackDirty[user])
	if u := s.online[user]; u != nil {
		cur = max(cur, u.acked)
	}
	s.mu.Unlock()
	msgs, err := s.st.Inbox(ctx, user, cur, n)
	if err != nil {
		return nil, err
	}
	msgs, _ = fitFirst(s, msgs, messageSize)
	if len(msgs) > 0 {
		last := msgs[len(msgs)-1].ID
		s.mu.Lock()
		if _, ok := s.httpSent[user]; ok || len(s.httpSent) < maxHTTPSent {
			s.httpSent[user] = max(s.httpSent[user], last)
		}
		s.mu.Unlock()
	}
	return msgs, nil
}

// maxHTTPSent bounds the users whose HTTP inbox deliveries are remembered
// until acknowledged. Past it a delivery is not remembered, and the ack
// that follows moves the cursor only as far as the user's sessions were
// sent: the messages are delivered again, never lost.
const maxHTTPSent = 100_000

// Ack moves user's acknowledgement cursor up to upTo (for the HTTP API;
// sessions send MessageAck), clamped by the rule of MessageAck (ackLocked)
// to what was delivered to the user: returned by Inbox, or sent to one of
// its sessions. The cursor is stored before Ack returns.
func (s *Service) Ack(ctx context.Context, user string, upTo uint64) error {
	s.mu.Lock()
	delivered := s.httpSent[user]
	if u := s.online[user]; u != nil {
		for _, ps := range u.peers {
			delivered = max(delivered, ps.sentThrough)
		}
	}
	upTo = s.ackLocked(user, upTo, delivered)
	if upTo >= s.httpSent[user] {
		delete(s.httpSent, user)
	}
	s.mu.Unlock()
	if upTo == 0 {
		return nil
	}
	return s.st.AdvanceCursor(ctx, user, upTo)
}

// SetPresence sets user's own presence (PresenceOnline, or PresenceAway
// until set online again) and custom status text, stores them and pushes
// the change to online friends. The text passes frame.CleanText
// (frame.TextStatus) and MaxStatusText: CodeBadText otherwise.
func (s *Service) SetPresence(ctx context.Context, now time.Time, user string, p frame.Presence, text string) error {
	if p != frame.PresenceOnline && p != frame.PresenceAway {
		return badRequest("presence must be online (1) or away (2)")
	}
	text, err := frame.CleanText(frame.TextStatus, text)
	if err != nil {
		return err
	}
	if len(text) > s.cfg.MaxStatusText {
		return netcode.Errorf(netcode.CodeBadText, "status_text has %d bytes, limit %d", len(text), s.cfg.MaxStatusText)
	}
	if err := s.st.SetStatus(ctx, user, p, text); err != nil {
		return err
	}
	if s.cl != nil {
		// The user's sessions on other nodes take the same status.
		s.cl.publish(s.cl.userSubject(user), &envelope{K: envStatus, User: user, P: p, Text: text})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.online[user]; u != nil && u.pres.set(now, s.timing(), p, text) {
		s.publishLocked(u)
	}
	return nil
}

// Presence returns what others see of user now.
func (s *Service) Presence(user string) (presence frame.Presence, statusText string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, t, _, _ := s.presenceOfLocked(user)
	return p, t
}
