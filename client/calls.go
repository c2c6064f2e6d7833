package client

import (
	"context"
	"errors"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Signaling and calls (docs/VOICE.md). The server relays an opaque
// payload to a session that shares a call, a room or a friendship with
// this one; it arrives as a frame.SignalRecv push (Messages() or
// Options.Handler; DecodeSocial decodes it) with the sender's user and
// session, to answer with SignalSession or SignalCall. Calls ring every
// session of a friend; each new state arrives as a frame.CallUpdate push
// on every session of both users (CallAnsweredElsewhere tells a callee
// session that another one accepted). Media is the application's: the
// payloads carry its SDP and ICE candidates.

// SignalFriend sends payload to every session of a friend.
func (c *Client) SignalFriend(ctx context.Context, userID string, payload []byte) error {
	return c.callOK(ctx, &frame.Signal{ToUserID: userID, Payload: payload})
}

// SignalSession sends payload to one session of a friend (roomID 0) or,
// with roomID, to a session that shares that room with this one: the
// from_user_id and from_session of a SignalRecv answer it.
func (c *Client) SignalSession(ctx context.Context, roomID uint64, userID string, session uint64, payload []byte) error {
	return c.callOK(ctx, &frame.Signal{ToUserID: userID, ToSession: session, RoomID: roomID, Payload: payload})
}

// SignalRoom sends payload to every session of userID that is in room
// roomID, which this session must be in too.
func (c *Client) SignalRoom(ctx context.Context, roomID uint64, userID string, payload []byte) error {
	return c.callOK(ctx, &frame.Signal{ToUserID: userID, RoomID: roomID, Payload: payload})
}

// SignalCall sends payload to the other session of an active call this
// session is in (the caller's, or the one that accepted).
func (c *Client) SignalCall(ctx context.Context, callID uint64, payload []byte) error {
	return c.callOK(ctx, &frame.Signal{CallID: callID, Payload: payload})
}

// Invite calls a friend. It returns the ringing call; every session of
// the friend rings until one accepts, the friend declines, the caller
// ends it, or the server's ring timeout (reason no_answer). Refusals:
// CodeNotFriends, CodeCallBusy, CodeInCall, CodeUserOffline,
// CodeCallRateLimited.
func (c *Client) Invite(ctx context.Context, userID string) (frame.CallUpdate, error) {
	var r frame.CallUpdate
	err := c.callInto(ctx, &frame.CallInvite{ToUserID: userID}, &r)
	return r, err
}

// AcceptCall answers a ringing call on this session. If another session
// of the user was first: CodeCallAnswered.
func (c *Client) AcceptCall(ctx context.Context, callID uint64) error {
	return c.callOK(ctx, &frame.CallAccept{CallID: callID})
}

// EndCall declines (callee, ringing), cancels (caller, ringing) or hangs
// up (active) a call. A call that has already ended — the other side
// hung up at the same moment — is not an error.
func (c *Client) EndCall(ctx context.Context, callID uint64) error {
	err := c.callOK(ctx, &frame.CallEnd{CallID: callID})
	if errors.Is(err, netcode.CodeCallNotFound) {
		return nil
	}
	return err
}

// CallAnsweredElsewhere reports whether u tells this session that its
// user accepted the call on another session: stop ringing.
func (c *Client) CallAnsweredElsewhere(u *frame.CallUpdate) bool {
	return u.State == frame.CallActive && u.CalleeID == c.welcome.UserID && u.CalleeSession != c.welcome.SessionID
}
