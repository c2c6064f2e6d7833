package social

import "github.com/tickwire/tickwire/netcode"

// Errors returned by the service. All are coded: netcode.CodeOf gives the
// code a client sees in its Error frame or HTTP error body, and
// errors.Is matches any error with the same code.
var (
	ErrGuest           = &netcode.CodedError{Code: netcode.CodeGuestNotAllowed, Msg: "guests cannot use social features"}
	ErrUserNotFound    = &netcode.CodedError{Code: netcode.CodeUserNotFound, Msg: "no such user"}
	ErrAlreadyFriends  = &netcode.CodedError{Code: netcode.CodeAlreadyFriends, Msg: "already friends"}
	ErrNotFriends      = &netcode.CodedError{Code: netcode.CodeNotFriends, Msg: "not friends"}
	ErrBlocked         = &netcode.CodedError{Code: netcode.CodeBlocked, Msg: "blocked"}
	ErrRequestNotFound = &netcode.CodedError{Code: netcode.CodeRequestNotFound, Msg: "no pending request or invitation"}
	ErrNotBlocked      = &netcode.CodedError{Code: netcode.CodeNotFound, Msg: "user is not blocked"}
	ErrGroupNotFound   = &netcode.CodedError{Code: netcode.CodeGroupNotFound, Msg: "no such group"}
	ErrNotMember       = &netcode.CodedError{Code: netcode.CodeNotGroupMember, Msg: "not a member of the group"}
	ErrInviteOnly      = &netcode.CodedError{Code: netcode.CodeGroupInviteOnly, Msg: "the group is invite-only"}
	ErrNotAdmin        = &netcode.CodedError{Code: netcode.CodeNotGroupAdmin, Msg: "owners and admins only"}
	ErrAlreadyMember   = &netcode.CodedError{Code: netcode.CodeAlreadyMember, Msg: "already a member"}
	ErrSelf            = &netcode.CodedError{Code: netcode.CodeSelfAction, Msg: "cannot do this to oneself"}
	ErrMessageTooLarge = &netcode.CodedError{Code: netcode.CodeMessageTooLarge, Msg: "message body too large"}
	ErrRateLimited     = &netcode.CodedError{Code: netcode.CodeMessageRateLimited, Msg: "too many messages"}
	ErrLimit           = &netcode.CodedError{Code: netcode.CodeSocialLimit, Msg: "limit reached"}
	ErrBadRequest      = &netcode.CodedError{Code: netcode.CodeBadRequest, Msg: "invalid request"}
	// ErrBusy refuses a realtime request that found its worker's inbox,
	// or its session's share of it, full: retry later. The session
	// stays open.
	ErrBusy = &netcode.CodedError{Code: netcode.CodeServerBusy, Msg: "social request queue full"}
)

// Signaling and call errors (signal.go, calls.go).
var (
	ErrCallBusy          = &netcode.CodedError{Code: netcode.CodeCallBusy, Msg: "the user is in a call"}
	ErrInCall            = &netcode.CodedError{Code: netcode.CodeInCall, Msg: "already in a call"}
	ErrCallNotFound      = &netcode.CodedError{Code: netcode.CodeCallNotFound, Msg: "no such call"}
	ErrCallAnswered      = &netcode.CodedError{Code: netcode.CodeCallAnswered, Msg: "the call was answered elsewhere"}
	ErrUserOffline       = &netcode.CodedError{Code: netcode.CodeUserOffline, Msg: "the user is not online"}
	ErrSignalTooLarge    = &netcode.CodedError{Code: netcode.CodeSignalTooLarge, Msg: "signaling payload too large"}
	ErrSignalRateLimited = &netcode.CodedError{Code: netcode.CodeSignalRateLimited, Msg: "too many signaling frames"}
	ErrNoRelation        = &netcode.CodedError{Code: netcode.CodeNoRelation, Msg: "no shared room, friendship or call"}
	ErrCallRateLimited   = &netcode.CodedError{Code: netcode.CodeCallRateLimited, Msg: "too many call invitations"}
	// ErrCallCapacity refuses an invite when the server holds MaxCalls
	// calls.
	ErrCallCapacity = &netcode.CodedError{Code: netcode.CodeServerBusy, Msg: "too many calls on the server"}
)

// errShutdown answers a request still queued when the service stops.
var errShutdown = &netcode.CodedError{Code: netcode.CodeServerShutdown, Msg: "social service stopped"}

// badRequest is a CodeBadRequest error with a specific message.
func badRequest(msg string) error {
	return &netcode.CodedError{Code: netcode.CodeBadRequest, Msg: msg, Err: ErrBadRequest}
}

// refuseLimit counts a refusal by a social limit and returns its
// CodeSocialLimit error naming the limit.
func (s *Service) refuseLimit(msg string) error {
	s.stats.limited.Add(1)
	return &netcode.CodedError{Code: netcode.CodeSocialLimit, Msg: msg, Err: ErrLimit}
}
