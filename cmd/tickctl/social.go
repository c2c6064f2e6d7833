package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// pushQueue is the capacity of the client's queue of pushed messages.
const pushQueue = 1024

// dial opens a realtime session with the saved (or given) token.
// pingInterval < 0 disables the client's periodic pings (one-shot
// commands); 0 keeps the default (long-running commands).
func (a *app) dial(ctx context.Context, s settings, pingInterval time.Duration) (*client.Client, error) {
	c, err := client.Dial(ctx, client.Options{
		Dial: transports[s.transport].dial(s), Token: s.token, // settings checked the name
		Name: clientName, Version: version, PingInterval: pingInterval,
		HandshakeTimeout: a.timeout(),
		// Room for the server's unacknowledged-message window (256 by
		// default) plus ticks and presence, so that watch and room do not
		// drop pushes while printing.
		QueueSize: pushQueue,
	})
	if err != nil {
		if !isCoded(err) {
			return nil, fmt.Errorf("connecting to %s over %s: %w (is a tickwire server listening there? see --addr, --transport)", s.addr, s.transport, err)
		}
		return nil, err // the server answered: its code says why
	}
	return c, nil
}

// isCoded reports whether err carries a code from the server.
func isCoded(err error) bool {
	var ce *netcode.CodedError
	var cl *netcode.CloseError
	return errors.As(err, &ce) || errors.As(err, &cl)
}

// withClient runs fn on a fresh session, bounded by the request timeout.
func (a *app) withClient(ctx context.Context, fn func(ctx context.Context, c *client.Client, s settings) error) (err error) {
	s, err := a.loggedIn()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	c, err := a.dial(ctx, s, -1)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	return fn(ctx, c, s)
}

// friendJSON is one friends-list entry in --json output.
type friendJSON struct {
	Type        string     `json:"type"` // "friend"
	UserID      string     `json:"user_id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	State       string     `json:"state"`    // friend, incoming, outgoing, blocked
	Presence    string     `json:"presence"` // online, away, offline
	StatusText  string     `json:"status_text,omitempty"`
	LastSeen    *time.Time `json:"last_seen,omitempty"`
}

func toFriendJSON(f frame.Friend) friendJSON {
	return friendJSON{
		Type: "friend", UserID: f.UserID, Username: f.Username, DisplayName: f.DisplayName,
		State: f.State.String(), Presence: f.Presence.String(),
		StatusText: f.StatusText, LastSeen: usTime(f.LastSeenUs),
	}
}

// friendLine formats one friends-list entry for humans.
func friendLine(f frame.Friend, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s ", f.Username)
	switch f.State {
	case frame.FriendAccepted:
		pres := f.Presence.String()
		if f.Presence == frame.PresenceOffline && f.LastSeenUs != 0 {
			pres += ", last seen " + ago(f.LastSeenUs, now)
		}
		fmt.Fprintf(&b, "friend    %s%s", pres, quoteIf(" ", f.StatusText))
	case frame.FriendIncoming:
		fmt.Fprintf(&b, "incoming  asks to be your friend: tickctl friend accept %s", f.Username)
	case frame.FriendOutgoing:
		b.WriteString("outgoing  waiting for them to accept")
	default:
		b.WriteString(f.State.String())
	}
	if f.DisplayName != "" && f.DisplayName != f.Username {
		fmt.Fprintf(&b, "  (%s)", f.DisplayName)
	}
	return b.String()
}

func (a *app) cmdFriends(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("friends"), args, 0, 0); err != nil {
		return err
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		fs, err := c.Friends(ctx)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			a.note("no friends, requests or blocks yet: tickctl friend add USER")
		}
		now := time.Now()
		for _, f := range fs {
			a.emit(friendLine(f, now), toFriendJSON(f))
		}
		return nil
	})
}

// findUser resolves USER — a username (any case) or user id among the
// friends list (friends, requests both ways, blocks) — to a user id. An
// argument not in the list that looks like a user id (32 hex digits) is
// taken as one; anything else is refused with code.
func findUser(ctx context.Context, c *client.Client, arg string, code netcode.Code) (frame.Friend, error) {
	fs, err := c.Friends(ctx)
	if err != nil {
		return frame.Friend{}, err
	}
	for _, f := range fs {
		if f.UserID == arg || strings.EqualFold(f.Username, arg) {
			return f, nil
		}
	}
	if looksLikeUserID(arg) {
		return frame.Friend{UserID: arg, Username: arg}, nil
	}
	return frame.Friend{}, netcode.Errorf(code, "%q is not among your friends, friend requests or blocks (a user id works too)", arg)
}

// looksLikeUserID reports whether s has the shape of an account's user id
// (32 lowercase hex digits) or a guest's ("g_...").
func looksLikeUserID(s string) bool {
	if strings.HasPrefix(s, "g_") && len(s) > 2 {
		return true
	}
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// okJSON is the --json line of a command that only succeeds.
type okJSON struct {
	Type   string `json:"type"` // "ok"
	Action string `json:"action"`
	UserID string `json:"user_id,omitempty"`
	User   string `json:"user,omitempty"`
	Group  uint64 `json:"group_id,omitempty"`
}

// friendCommand is the run function of a friend command that takes USER:
// it resolves USER (notFound if it cannot), calls do and prints done with
// the username.
func friendCommand(cmd string, notFound netcode.Code, do func(*client.Client, context.Context, string) error,
	done string) func(*app, context.Context, []string) error {
	return func(a *app, ctx context.Context, args []string) error {
		pos, err := a.parse(a.flags(cmd), args, 1, 1)
		if err != nil {
			return err
		}
		return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
			f, err := findUser(ctx, c, pos[0], notFound)
			if err != nil {
				return err
			}
			if err := do(c, ctx, f.UserID); err != nil {
				return err
			}
			a.emit(fmt.Sprintf(done, f.Username), okJSON{Type: "ok", Action: strings.ReplaceAll(cmd, " ", "_"), UserID: f.UserID, User: f.Username})
			return nil
		})
	}
}

func (a *app) cmdFriendAdd(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("friend add"), args, 1, 1)
	if err != nil {
		return err
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		if err := c.RequestFriend(ctx, pos[0]); err != nil {
			return err
		}
		// If they had asked already, the request made us friends at once.
		state := "friend request sent to " + pos[0]
		if fs, err := c.Friends(ctx); err == nil {
			for _, f := range fs {
				if strings.EqualFold(f.Username, pos[0]) && f.State == frame.FriendAccepted {
					state = "you and " + f.Username + " are now friends"
				}
			}
		}
		a.emit(state, okJSON{Type: "ok", Action: "friend_add", User: pos[0]})
		return nil
	})
}

// groupJSON is one group in --json output.
type groupJSON struct {
	Type    string `json:"type"` // "group"
	ID      uint64 `json:"group_id"`
	Name    string `json:"name"`
	Open    bool   `json:"open"`
	Role    string `json:"role"` // invited, member, admin, owner
	Members uint32 `json:"members"`
	OwnerID string `json:"owner_id"`
}

func toGroupJSON(g frame.Group) groupJSON {
	return groupJSON{Type: "group", ID: g.ID, Name: g.Name, Open: g.Open, Role: g.Role.String(), Members: g.Members, OwnerID: g.OwnerID}
}

func groupLine(g frame.Group) string {
	access := "open"
	if !g.Open {
		access = "invite-only"
	}
	line := fmt.Sprintf("%-6d %-20s %-11s %-7s %d members", g.ID, g.Name, access, g.Role.String(), g.Members)
	if g.Role == frame.RoleInvited {
		line += fmt.Sprintf("  (invited: tickctl group join %d)", g.ID)
	}
	return line
}

// findGroup resolves GROUP: a group id, or the name (any case) of one of
// the caller's groups or invitations.
func findGroup(ctx context.Context, c *client.Client, arg string) (uint64, error) {
	if id, err := strconv.ParseUint(arg, 10, 64); err == nil && id != 0 {
		return id, nil
	}
	gs, err := c.Groups(ctx)
	if err != nil {
		return 0, err
	}
	for _, g := range gs {
		if strings.EqualFold(g.Name, arg) {
			return g.ID, nil
		}
	}
	return 0, netcode.Errorf(netcode.CodeGroupNotFound, "you have no group named %q (give the group id)", arg)
}

func (a *app) cmdGroups(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("groups"), args, 0, 0); err != nil {
		return err
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		gs, err := c.Groups(ctx)
		if err != nil {
			return err
		}
		if len(gs) == 0 {
			a.note("no groups yet: tickctl group create NAME")
		}
		for _, g := range gs {
			a.emit(groupLine(g), toGroupJSON(g))
		}
		return nil
	})
}

func (a *app) cmdGroupCreate(ctx context.Context, args []string) error {
	fs := a.flags("group create")
	inviteOnly := fs.Bool("invite-only", false, "members join by invitation only")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		access := frame.GroupOpen
		if *inviteOnly {
			access = frame.GroupInviteOnly
		}
		g, err := c.CreateGroup(ctx, pos[0], access)
		if err != nil {
			return err
		}
		a.emit(fmt.Sprintf("created group %d %q; others join with: tickctl group join %d", g.ID, g.Name, g.ID), toGroupJSON(g))
		return nil
	})
}

// groupCommand is the run function of a group command that takes GROUP
// only: it resolves GROUP, calls do and prints done with the group id.
func groupCommand(cmd string, do func(*client.Client, context.Context, uint64) error,
	done string) func(*app, context.Context, []string) error {
	return func(a *app, ctx context.Context, args []string) error {
		pos, err := a.parse(a.flags(cmd), args, 1, 1)
		if err != nil {
			return err
		}
		return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
			id, err := findGroup(ctx, c, pos[0])
			if err != nil {
				return err
			}
			if err := do(c, ctx, id); err != nil {
				return err
			}
			a.emit(fmt.Sprintf(done, id), okJSON{Type: "ok", Action: strings.ReplaceAll(cmd, " ", "_"), Group: id})
			return nil
		})
	}
}

func (a *app) cmdGroupInvite(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("group invite"), args, 2, 2)
	if err != nil {
		return err
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		id, err := findGroup(ctx, c, pos[0])
		if err != nil {
			return err
		}
		f, err := findUser(ctx, c, pos[1], netcode.CodeUserNotFound)
		if err != nil {
			return err
		}
		if err := c.InviteToGroup(ctx, id, f.UserID); err != nil {
			return err
		}
		a.emit(fmt.Sprintf("invited %s to group %d", f.Username, id), okJSON{Type: "ok", Action: "group_invite", Group: id, UserID: f.UserID, User: f.Username})
		return nil
	})
}

// memberJSON is one group member in --json output.
type memberJSON struct {
	Type        string `json:"type"` // "member"
	GroupID     uint64 `json:"group_id"`
	UserID      string `json:"user_id"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Presence    string `json:"presence"`
}

func (a *app) cmdGroupMembers(ctx context.Context, args []string) error {
	fs := a.flags("group members")
	limit := fs.Int("limit", 1000, "list at most N members")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		id, err := findGroup(ctx, c, pos[0])
		if err != nil {
			return err
		}
		after, n := "", 0
		for n < *limit {
			ms, more, err := c.GroupMembers(ctx, id, after, *limit-n)
			if err != nil {
				return err
			}
			for _, m := range ms {
				a.emit(fmt.Sprintf("%-24s %-7s %-7s %s", m.DisplayName, m.Role.String(), m.Presence.String(), m.UserID),
					memberJSON{Type: "member", GroupID: id, UserID: m.UserID, DisplayName: m.DisplayName, Role: m.Role.String(), Presence: m.Presence.String()})
				after = m.UserID
			}
			n += len(ms)
			if !more || len(ms) == 0 {
				return nil
			}
		}
		a.note("(more members: raise --limit)")
		return nil
	})
}

// messageJSON is one chat message in --json output (history and watch).
type messageJSON struct {
	Type       string    `json:"type"` // "message"
	ID         uint64    `json:"id"`
	GroupID    uint64    `json:"group_id,omitempty"`
	FromUserID string    `json:"from_user_id"`
	FromName   string    `json:"from_name"`
	ToUserID   string    `json:"to_user_id,omitempty"`
	Time       time.Time `json:"time"`
	Body       string    `json:"body"`
}

func toMessageJSON(m frame.ChatMessage) messageJSON {
	return messageJSON{Type: "message", ID: m.ID, GroupID: m.GroupID, FromUserID: m.FromUserID, FromName: m.FromName,
		ToUserID: m.ToUserID, Time: time.UnixMicro(m.TimeUs).UTC(), Body: m.Body}
}

// messageLine formats a chat message: "#ID time [group] from: body".
func messageLine(m frame.ChatMessage, groupName string) string {
	where := ""
	if m.GroupID != 0 {
		where = fmt.Sprintf("[group %d", m.GroupID)
		if groupName != "" {
			where += " " + groupName
		}
		where += "] "
	}
	from := m.FromName
	if from == "" {
		from = m.FromUserID
	}
	return fmt.Sprintf("#%d %s %s%s: %s", m.ID, clock(m.TimeUs), where, from, m.Body)
}

// sentJSON is the --json line after send and send-group.
type sentJSON struct {
	Type    string    `json:"type"` // "sent"
	ID      uint64    `json:"id"`
	Time    time.Time `json:"time"`
	ToUser  string    `json:"to_user_id,omitempty"`
	GroupID uint64    `json:"group_id,omitempty"`
}

func (a *app) cmdSend(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("send"), args, 2, -1)
	if err != nil {
		return err
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		f, err := findUser(ctx, c, pos[0], netcode.CodeNotFriends)
		if err != nil {
			return err
		}
		r, err := c.SendDirect(ctx, f.UserID, strings.Join(pos[1:], " "))
		if err != nil {
			return err
		}
		a.emit(fmt.Sprintf("sent #%d to %s", r.ID, f.Username), sentJSON{Type: "sent", ID: r.ID, Time: time.UnixMicro(r.TimeUs).UTC(), ToUser: f.UserID})
		return nil
	})
}

func (a *app) cmdSendGroup(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("send-group"), args, 2, -1)
	if err != nil {
		return err
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		id, err := findGroup(ctx, c, pos[0])
		if err != nil {
			return err
		}
		r, err := c.SendGroup(ctx, id, strings.Join(pos[1:], " "))
		if err != nil {
			return err
		}
		a.emit(fmt.Sprintf("sent #%d to group %d", r.ID, id), sentJSON{Type: "sent", ID: r.ID, Time: time.UnixMicro(r.TimeUs).UTC(), GroupID: id})
		return nil
	})
}

func (a *app) cmdHistory(ctx context.Context, args []string) error {
	fs := a.flags("history")
	group := fs.String("group", "", "show a group's conversation (id or name) instead of a direct one")
	before := fs.Uint64("before", 0, "show messages older than this message id")
	limit := fs.Int("limit", 50, fmt.Sprintf("at most N messages (1-%d)", frame.MaxHistoryLimit))
	pos, err := a.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if (len(pos) == 1) == (*group != "") {
		return usageErrorf("give either USER or --group GROUP")
	}
	if *limit < 1 || *limit > frame.MaxHistoryLimit {
		return usageErrorf("--limit must be 1-%d", frame.MaxHistoryLimit)
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		var gid uint64
		var uid string
		if *group != "" {
			if gid, err = findGroup(ctx, c, *group); err != nil {
				return err
			}
		} else {
			f, err := findUser(ctx, c, pos[0], netcode.CodeNotFriends)
			if err != nil {
				return err
			}
			uid = f.UserID
		}
		msgs, more, err := c.History(ctx, gid, uid, *before, *limit)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			a.note("no messages")
		}
		for _, m := range msgs {
			a.emit(messageLine(m, ""), toMessageJSON(m))
		}
		if more && len(msgs) > 0 {
			a.note("(older messages: add --before %d)", msgs[0].ID)
		}
		return nil
	})
}

func (a *app) cmdStatus(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("status"), args, 1, -1)
	if err != nil {
		return err
	}
	p, err := frame.ParsePresence(pos[0])
	if err != nil || p == frame.PresenceOffline {
		return usageErrorf("presence must be online or away, not %q", pos[0])
	}
	statusText := strings.Join(pos[1:], " ")
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		if err := c.SetPresence(ctx, p, statusText); err != nil {
			return err
		}
		a.emit("presence set to "+pos[0]+quoteIf(" ", statusText),
			map[string]string{"type": "presence", "presence": pos[0], "status_text": statusText})
		return nil
	})
}
