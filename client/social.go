package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Social methods: friends, groups, messages and presence
// (docs/SOCIAL.md). Each waits for the server's answer; a refusal is a
// *netcode.CodedError with the server's code (CodeNotFriends,
// CodeGuestNotAllowed, ...). Pushes — FriendUpdate, GroupUpdate, Message,
// PresenceUpdate — arrive through Messages() or Options.Handler like every
// push: DecodeSocial decodes them. Messages must be acknowledged with
// AckMessages, or they are delivered again on the next login; Inbox drops
// the duplicates. A Message from the client's own user was sent by
// another session of that user (another device, or the HTTP API): the
// sending session gets MessageSent instead.

// callOK performs a request answered with OK.
func (c *Client) callOK(ctx context.Context, req frame.Refer) error {
	m, err := c.Call(ctx, req)
	if err != nil {
		return err
	}
	if m.Kind != frame.KindOK {
		return fmt.Errorf("client: reply kind %d, want OK", m.Kind)
	}
	return nil
}

// callInto performs a request and decodes its reply into out.
func (c *Client) callInto(ctx context.Context, req frame.Refer, out frame.Frame) error {
	m, err := c.Call(ctx, req)
	if err != nil {
		return err
	}
	if m.Kind != out.Kind() {
		return fmt.Errorf("client: reply kind %d, want %d", m.Kind, out.Kind())
	}
	if err := m.Decode(out); err != nil {
		return fmt.Errorf("client: reply kind %d: %w", m.Kind, err)
	}
	return nil
}

// RequestFriend asks username to be friends (if they had asked already,
// the two become friends at once).
func (c *Client) RequestFriend(ctx context.Context, username string) error {
	return c.callOK(ctx, &frame.FriendRequest{Username: username})
}

// AcceptFriend accepts userID's pending request.
func (c *Client) AcceptFriend(ctx context.Context, userID string) error {
	return c.callOK(ctx, &frame.FriendAccept{UserID: userID})
}

// DeclineFriend declines userID's pending request.
func (c *Client) DeclineFriend(ctx context.Context, userID string) error {
	return c.callOK(ctx, &frame.FriendDecline{UserID: userID})
}

// RemoveFriend ends a friendship or cancels one's own pending request.
func (c *Client) RemoveFriend(ctx context.Context, userID string) error {
	return c.callOK(ctx, &frame.FriendRemove{UserID: userID})
}

// BlockUser blocks userID.
func (c *Client) BlockUser(ctx context.Context, userID string) error {
	return c.callOK(ctx, &frame.FriendBlock{UserID: userID})
}

// UnblockUser lifts a block.
func (c *Client) UnblockUser(ctx context.Context, userID string) error {
	return c.callOK(ctx, &frame.FriendUnblock{UserID: userID})
}

// maxFriendPages bounds the pages Friends and Groups read (the server
// caps friends, groups and invitations well below this many pages).
const maxFriendPages = 64

// Friends lists friends (with presence), pending requests and blocks,
// reading every page.
func (c *Client) Friends(ctx context.Context) ([]frame.Friend, error) {
	var all []frame.Friend
	after := ""
	for range maxFriendPages {
		var r frame.FriendListResult
		if err := c.callInto(ctx, &frame.FriendList{AfterUserID: after}, &r); err != nil {
			return nil, err
		}
		all = append(all, r.Friends...)
		if !r.More || len(r.Friends) == 0 {
			return all, nil
		}
		after = r.Friends[len(r.Friends)-1].UserID
	}
	return all, fmt.Errorf("client: friend list longer than %d pages", maxFriendPages)
}

// CreateGroup creates a group owned by the caller: frame.GroupOpen, anyone
// may join; frame.GroupInviteOnly, by invitation.
func (c *Client) CreateGroup(ctx context.Context, name string, access frame.GroupAccess) (frame.Group, error) {
	var r frame.GroupResult
	if err := c.callInto(ctx, &frame.GroupCreate{Name: name, Open: bool(access)}, &r); err != nil {
		return frame.Group{}, err
	}
	return r.Group, nil
}

// JoinGroup joins an open group (or one the caller is invited to).
func (c *Client) JoinGroup(ctx context.Context, groupID uint64) error {
	return c.callOK(ctx, &frame.GroupJoin{GroupID: groupID})
}

// InviteToGroup invites userID to a group.
func (c *Client) InviteToGroup(ctx context.Context, groupID uint64, userID string) error {
	return c.callOK(ctx, &frame.GroupInvite{GroupID: groupID, UserID: userID})
}

// AcceptGroupInvite accepts an invitation.
func (c *Client) AcceptGroupInvite(ctx context.Context, groupID uint64) error {
	return c.callOK(ctx, &frame.GroupAccept{GroupID: groupID})
}

// DeclineGroupInvite declines an invitation.
func (c *Client) DeclineGroupInvite(ctx context.Context, groupID uint64) error {
	return c.callOK(ctx, &frame.GroupDecline{GroupID: groupID})
}

// LeaveGroup leaves a group.
func (c *Client) LeaveGroup(ctx context.Context, groupID uint64) error {
	return c.callOK(ctx, &frame.GroupLeave{GroupID: groupID})
}

// RemoveGroupMember removes userID from a group (owner or admin).
func (c *Client) RemoveGroupMember(ctx context.Context, groupID uint64, userID string) error {
	return c.callOK(ctx, &frame.GroupRemove{GroupID: groupID, UserID: userID})
}

// SetGroupRole makes userID an admin (frame.RoleAdmin) or a plain member
// (frame.RoleMember); owner only.
func (c *Client) SetGroupRole(ctx context.Context, groupID uint64, userID string, role frame.Role) error {
	return c.callOK(ctx, &frame.GroupSetRole{GroupID: groupID, UserID: userID, Role: role})
}

// GroupMembers lists a page of a group's members ordered by user id,
// after afterUserID ("" from the start); more says another page follows.
func (c *Client) GroupMembers(ctx context.Context, groupID uint64, afterUserID string, limit int) (members []frame.Member, more bool, err error) {
	var r frame.GroupMembersResult
	if err := c.callInto(ctx, &frame.GroupMembers{GroupID: groupID, AfterUserID: afterUserID, Limit: uint16(max(0, min(limit, 65535)))}, &r); err != nil {
		return nil, false, err
	}
	return r.Members, r.More, nil
}

// Groups lists the caller's groups and pending invitations (Role ==
// frame.RoleInvited), reading every page.
func (c *Client) Groups(ctx context.Context) ([]frame.Group, error) {
	var all []frame.Group
	var after uint64
	for range maxFriendPages {
		var r frame.GroupListResult
		if err := c.callInto(ctx, &frame.GroupList{AfterGroupID: after}, &r); err != nil {
			return nil, err
		}
		all = append(all, r.Groups...)
		if !r.More || len(r.Groups) == 0 {
			return all, nil
		}
		after = r.Groups[len(r.Groups)-1].ID
	}
	return all, fmt.Errorf("client: group list longer than %d pages", maxFriendPages)
}

// SendDirect sends a direct message to a friend; it returns once the
// server stored it, with its id and timestamp.
func (c *Client) SendDirect(ctx context.Context, toUserID, body string) (frame.MessageSent, error) {
	var r frame.MessageSent
	err := c.callInto(ctx, &frame.DirectSend{ToUserID: toUserID, Body: body}, &r)
	return r, err
}

// SendGroup sends a message to a group; it returns once the server stored
// it, with its id and timestamp.
func (c *Client) SendGroup(ctx context.Context, groupID uint64, body string) (frame.MessageSent, error) {
	var r frame.MessageSent
	err := c.callInto(ctx, &frame.GroupSend{GroupID: groupID, Body: body}, &r)
	return r, err
}

// AckMessages acknowledges every message received with an id up to
// upToID, without waiting for an answer. Acknowledge after handling:
// unacknowledged messages come again on the next login.
func (c *Client) AckMessages(upToID uint64) error {
	return c.Send(netcode.Reliable, &frame.MessageAck{UpToID: upToID})
}

// History returns a page of a conversation, oldest first: a group's
// (groupID != 0) or the direct conversation with userID. beforeID 0 starts
// from the newest; limit 0 means the server's default. more says older
// messages exist (ask again with beforeID = the first message's id).
func (c *Client) History(ctx context.Context, groupID uint64, userID string, beforeID uint64, limit int) (msgs []frame.ChatMessage, more bool, err error) {
	var r frame.HistoryResult
	req := &frame.History{GroupID: groupID, UserID: userID, BeforeID: beforeID, Limit: uint16(max(0, min(limit, frame.MaxHistoryLimit)))}
	if err := c.callInto(ctx, req, &r); err != nil {
		return nil, false, err
	}
	return r.Messages, r.More, nil
}

// SetPresence sets the caller's presence (frame.PresenceOnline, or
// frame.PresenceAway until set online again) and custom status text.
func (c *Client) SetPresence(ctx context.Context, presence frame.Presence, statusText string) error {
	return c.callOK(ctx, &frame.SetPresence{Presence: presence, StatusText: statusText})
}

// DecodeSocial decodes a social push (FriendUpdate, GroupUpdate, Message,
// PresenceUpdate, or any other social kind). ok is false for kinds
// outside the social range.
func DecodeSocial(m Message) (f frame.Frame, ok bool, err error) {
	f = frame.NewSocialFrame(m.Kind)
	if f == nil {
		return nil, false, nil
	}
	if err := m.Decode(f); err != nil {
		return nil, true, err
	}
	return f, true, nil
}

// Inbox drops messages already seen: the server delivers a user's
// messages in increasing id order and, after a reconnect, everything
// not acknowledged again, so a message whose id is not above the highest
// seen is a duplicate. Keep one Inbox per user across reconnects. It is
// safe for concurrent use.
type Inbox struct {
	mu   sync.Mutex // guards last
	last uint64
}

// Accept reports whether m is new, and records it.
func (in *Inbox) Accept(m *frame.Message) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if m.ID <= in.last {
		return false
	}
	in.last = m.ID
	return true
}

// Last is the highest message id accepted.
func (in *Inbox) Last() uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.last
}
