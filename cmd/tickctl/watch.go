package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// watchEventJSON is a friend, group or presence event in --json output.
type watchEventJSON struct {
	Type       string      `json:"type"` // "friend_event", "group_event", "presence"
	Event      string      `json:"event,omitempty"`
	UserID     string      `json:"user_id,omitempty"`
	User       string      `json:"user,omitempty"`
	Friend     *friendJSON `json:"friend,omitempty"`
	GroupID    uint64      `json:"group_id,omitempty"`
	GroupName  string      `json:"group_name,omitempty"`
	ActorID    string      `json:"actor_id,omitempty"`
	Role       string      `json:"role,omitempty"`
	Presence   string      `json:"presence,omitempty"`
	StatusText string      `json:"status_text,omitempty"`
	LastSeen   *time.Time  `json:"last_seen,omitempty"`
}

// watcher is the state of one watch: names to show for ids, and the
// messages seen. Only the watch loop touches it.
type watcher struct {
	a      *app
	c      *client.Client
	me     string
	users  map[string]string // user id -> username
	groups map[uint64]string // group id -> name
	inbox  client.Inbox
	count  int // chat messages printed
}

func (a *app) cmdWatch(ctx context.Context, args []string) error {
	fs := a.flags("watch")
	forD := fs.Duration("for", 0, "stop after this long (default: until Ctrl-C)")
	count := fs.Int("count", 0, "stop after printing N chat messages (0: no limit)")
	if _, err := a.parse(fs, args, 0, 0); err != nil {
		return err
	}
	ctx, dctx, c, done, err := a.longSession(ctx, *forD)
	if err != nil {
		return err
	}
	defer done()
	wel := c.Welcome()
	w := &watcher{a: a, c: c, me: wel.UserID, users: map[string]string{}, groups: map[uint64]string{}}
	if err := w.loadNames(dctx); err != nil && netcode.CodeOf(err) != netcode.CodeGuestNotAllowed {
		return err // guests have no friends or groups, but may watch
	}
	defer w.confirmAcks(ctx)
	if a.g.json {
		a.emit("", struct {
			Type   string `json:"type"` // "watching"
			UserID string `json:"user_id"`
			Name   string `json:"name"`
		}{"watching", wel.UserID, wel.DisplayName})
	} else {
		a.note("watching as %s (Ctrl-C to stop)", wel.DisplayName)
	}
	for {
		select {
		case <-ctx.Done():
			return nil // Ctrl-C or --for: a normal end
		case m, ok := <-c.Messages():
			if !ok {
				return c.Err()
			}
			if err := w.handle(m); err != nil {
				return err
			}
			if *count > 0 && w.count >= *count {
				return nil
			}
		}
	}
}

// confirmAcks acknowledges the last message printed once more, waiting
// for the server's OK this time, so that a message shown is not shown
// again by the next watch (the acknowledgements sent along the way are not
// waited for).
func (w *watcher) confirmAcks(ctx context.Context) {
	last := w.inbox.Last()
	if last == 0 || w.c.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.a.timeout())
	defer cancel()
	if _, err := w.c.Call(ctx, &frame.MessageAck{UpToID: last}); err != nil {
		w.a.note("acknowledging messages up to #%d failed (they will be shown again): %v", last, err)
	}
}

// loadNames learns the usernames of friends and the names of groups.
func (w *watcher) loadNames(ctx context.Context) error {
	fs, err := w.c.Friends(ctx)
	if err != nil {
		return err
	}
	for _, f := range fs {
		w.users[f.UserID] = f.Username
	}
	gs, err := w.c.Groups(ctx)
	if err != nil {
		return err
	}
	for _, g := range gs {
		w.groups[g.ID] = g.Name
	}
	return nil
}

func (w *watcher) user(id string) string {
	if id == w.me && id != "" {
		return "you"
	}
	if n, ok := w.users[id]; ok && n != "" {
		return n
	}
	return id
}

// handle prints one pushed frame; kinds outside the social range are
// ignored.
func (w *watcher) handle(m client.Message) error {
	f, ok, err := client.DecodeSocial(m)
	if !ok {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bad frame from the server: %w", err)
	}
	a := w.a
	switch f := f.(type) {
	case *frame.Message:
		if !w.inbox.Accept(f) {
			return nil // a redelivery
		}
		shown := f.ChatMessage
		if shown.FromUserID == w.me && shown.GroupID == 0 {
			// Sent by this user from another session: say to whom.
			shown.FromName += " → " + w.user(shown.ToUserID)
		}
		a.emit(messageLine(shown, w.groups[f.GroupID]), toMessageJSON(f.ChatMessage))
		w.count++
		// Printed: acknowledge, or it comes again on the next login.
		if err := w.c.AckMessages(f.ID); err != nil && !errors.Is(err, client.ErrClosed) {
			return err
		}
	case *frame.FriendUpdate:
		fr := f.Friend
		w.users[fr.UserID] = fr.Username
		ev := f.Event.String()
		var line string
		switch {
		case f.Event == frame.FriendEventRequested && fr.State == frame.FriendIncoming:
			line = fmt.Sprintf("%s sent you a friend request: tickctl friend accept %s", fr.Username, fr.Username)
		case f.Event == frame.FriendEventRequested:
			line = fmt.Sprintf("friend request sent to %s", fr.Username)
		case f.Event == frame.FriendEventAccepted:
			line = fmt.Sprintf("you and %s are now friends", fr.Username)
		default:
			line = fmt.Sprintf("friend %s: %s", ev, fr.Username)
		}
		fj := toFriendJSON(fr)
		a.emit(line, watchEventJSON{Type: "friend_event", Event: ev, UserID: fr.UserID, User: fr.Username, Friend: &fj})
	case *frame.GroupUpdate:
		if f.GroupName != "" {
			w.groups[f.GroupID] = f.GroupName
		}
		ev := f.Event.String()
		line := fmt.Sprintf("group %d %s: %s %s", f.GroupID, f.GroupName, w.user(f.UserID), ev)
		switch f.Event {
		case frame.GroupEventInvited:
			line = fmt.Sprintf("group %d %s: %s invited %s", f.GroupID, f.GroupName, w.user(f.ActorID), w.user(f.UserID))
			if f.UserID == w.me {
				line += fmt.Sprintf(" (tickctl group join %d)", f.GroupID)
			}
		case frame.GroupEventRemoved:
			line = fmt.Sprintf("group %d %s: %s removed %s", f.GroupID, f.GroupName, w.user(f.ActorID), w.user(f.UserID))
		case frame.GroupEventRoleChanged:
			line = fmt.Sprintf("group %d %s: %s is now %s", f.GroupID, f.GroupName, w.user(f.UserID), f.Role.String())
		}
		a.emit(line, watchEventJSON{Type: "group_event", Event: ev, GroupID: f.GroupID, GroupName: f.GroupName,
			UserID: f.UserID, User: w.users[f.UserID], ActorID: f.ActorID, Role: f.Role.String()})
	case *frame.CallUpdate:
		line := fmt.Sprintf("call %d from %s to %s: %s", f.CallID, w.user(f.CallerID), w.user(f.CalleeID), f.State)
		if f.State == frame.CallEnded {
			line += " (" + f.Reason.String() + ")"
		}
		a.emit(line, toCallJSON(w.c, f))
	case *frame.SignalRecv:
		a.emitSignal(f)
	case *frame.PresenceUpdate:
		pres := f.Presence.String()
		a.emit(fmt.Sprintf("%s is %s%s", w.user(f.UserID), pres, quoteIf(" ", f.StatusText)),
			watchEventJSON{Type: "presence", UserID: f.UserID, User: w.users[f.UserID], Presence: pres,
				StatusText: f.StatusText, LastSeen: usTime(f.LastSeenUs)})
	}
	return nil
}

// longSession connects for a command that stays connected (watch, the room
// commands): ctx is the command's life, bounded by forD (0: until Ctrl-C),
// dctx bounds the dial and set-up requests by --timeout. done closes the
// client and releases both.
func (a *app) longSession(ctx context.Context, forD time.Duration) (lctx, dctx context.Context, c *client.Client, done func(), err error) {
	s, err := a.loggedIn()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cancelFor := context.CancelFunc(func() {})
	if forD > 0 {
		ctx, cancelFor = context.WithTimeout(ctx, forD)
	}
	dctx, cancelD := context.WithTimeout(ctx, a.timeout())
	c, err = a.dial(dctx, s, 0)
	if err != nil {
		cancelD()
		cancelFor()
		return nil, nil, nil, nil, err
	}
	return ctx, dctx, c, func() {
		_ = c.Close() // Client.Close always returns nil
		cancelD()
		cancelFor()
	}, nil
}
