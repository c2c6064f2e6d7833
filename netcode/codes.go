package netcode

import (
	"slices"
	"strconv"
)

// Code is a protocol error or close code. Codes travel in Error and Close
// frames, in transport-level close notifications and in the HTTP API's
// JSON errors; docs/PROTOCOL.md lists every one. A Code is also an error,
// so errors.Is(err, netcode.CodeRoomFull) works on wrapped errors.
//
// Ranges: 0–99 session and protocol, 100–199 rooms, 200–249 accounts,
// 250–299 social. Numbers are wire ABI: never renumber, only append.
type Code uint16

// Session and protocol codes.
const (
	CodeOK               Code = 0  // success, or a normal close
	CodeBadFrame         Code = 1  // not a valid frame: malformed msgpack, wrong field types or counts
	CodeFrameTooLarge    Code = 2  // frame or field above its size limit
	CodeUnknownKind      Code = 3  // frame kind not known to this server
	CodeNotAuthenticated Code = 4  // a frame other than Hello before Welcome, or a second Hello
	CodeBadToken         Code = 5  // token missing, malformed or with a bad signature
	CodeTokenExpired     Code = 6  // token past its expiry: get a new one and reconnect
	CodeProtocolVersion  Code = 7  // protocol version not supported
	CodeRateLimited      Code = 8  // too many frames per second
	CodeInternal         Code = 9  // server-side failure
	CodeServerShutdown   Code = 10 // the server is shutting down: reconnect later
	CodeIdleTimeout      Code = 11 // nothing heard from the peer within the idle timeout
	CodeTooManyErrors    Code = 12 // repeated bad input
	CodeReplaced         Code = 13 // the session was resumed on another connection
	CodeSlowConsumer     Code = 14 // the reliable send queue overflowed
	CodeBadRequest       Code = 15 // a well-formed frame with invalid values
	CodeUnsupported      Code = 16 // known but not offered by this server
	CodeHandshakeTimeout Code = 17 // no Hello within the handshake timeout
	CodeForbidden        Code = 18 // the caller may not do this
	CodeNotFound         Code = 19 // the thing named does not exist
	CodeTooManySessions  Code = 20 // too many sessions from this address, or on the server: retry later
	CodeBadText          Code = 21 // user-visible text with forbidden characters (control, bidi override, zero-width) or too long
	CodeServerBusy       Code = 22 // the server is at a capacity limit for this work: retry later
	// CodeUntrustedCertificate is the client's own: the server's TLS
	// certificate did not verify (unknown authority, wrong host name,
	// expired). No server sends it; it never reconnects by itself.
	CodeUntrustedCertificate Code = 23
)

// Session resume codes (docs/PROTOCOL.md §3, "Session resume"). Each
// refusal of a Resume tells the client to start a fresh session (Hello)
// and rejoin its rooms.
const (
	CodeResumeUnknown   Code = 30 // no session to resume under that id: it ended, its window expired, or it never existed here
	CodeResumeBadSecret Code = 31 // the resume secret does not match the session's
	CodeResumeOverflow  Code = 32 // frames the client had not acknowledged were dropped (replay buffer full): rejoin fresh
	CodeConnectionLost  Code = 33 // the connection ended before the reply came and the session was not resumed: the request may or may not have been done
)

// Operations codes (docs/OPERATIONS.md, "Admin API" and "Drain").
const (
	CodeDraining Code = 34 // the server is draining: no new sessions or rooms; reconnect (elsewhere) after a backoff
	CodeKicked   Code = 35 // an operator ended the session (admin API); the reason says why; it cannot be resumed
)

// Room codes.
const (
	CodeRoomNotFound     Code = 100 // no open room with that id
	CodeRoomFull         Code = 101 // the room is at capacity
	CodeRoomClosed       Code = 102 // the room closed
	CodeTooManyRooms     Code = 103 // this session is in too many rooms
	CodeNotInRoom        Code = 104 // the session is not a member of that room
	CodeUnknownRoomType  Code = 105 // no room type registered under that name
	CodeBadRoomConfig    Code = 106 // invalid capacity, tick rate, label...
	CodeInputTooLarge    Code = 107 // room input above the size limit
	CodeInputRateLimited Code = 108 // too many room inputs per second
	CodeRoomCrashed      Code = 109 // the room's handler failed; the room closed
	CodeAlreadyInRoom    Code = 110 // the session is already a member
	CodeRoomPrivate      Code = 111 // private rooms are joined by id only
	CodeRoomCreateLimit  Code = 112 // too many rooms created by this session or user, or on the server
)

// Cluster codes (docs/CLUSTER.md): redirects to the node that owns a
// room and the tickets they carry.
const (
	CodeBadTicket          Code = 130 // redirect ticket malformed, forged, or not for this user, room or node
	CodeTicketExpired      Code = 131 // redirect ticket past its expiry: join again where you started
	CodeTicketReused       Code = 132 // redirect ticket already used once
	CodeNodeGone           Code = 133 // the node that owns the room is gone or unreachable
	CodeTooManyRedirects   Code = 134 // the client's own: a join was redirected more times than its hop bound
	CodeClusterUnavailable Code = 135 // this node cannot reach the cluster (NATS) to answer: retry later
)

// Voice room codes (docs/VOICE.md).
const (
	CodeNotVoiceRoom       Code = 120 // a voice frame or VoiceSet to a room that is not a voice room
	CodeVoiceFrameTooLarge Code = 121 // voice payload above the room's frame size limit
	CodeVoiceRateLimited   Code = 122 // the member's frames exceed the room's bitrate or frame-rate cap: dropped
	CodeVoiceRoomTooLarge  Code = 123 // voice room capacity above the server's voice member cap
	CodeVoiceLinkLimit     Code = 124 // a browser audio link (SFU) beyond the per-session or server cap
)

// Account codes.
const (
	CodeBadUsername        Code = 200 // username breaks the username rules
	CodeBadPassword        Code = 201 // password breaks the length rules
	CodeUsernameTaken      Code = 202 // username already registered
	CodeInvalidCredentials Code = 203 // no such user or wrong password (never says which)
	CodeLoginRateLimited   Code = 204 // too many login attempts: wait
	CodeTokenRevoked       Code = 205 // the token was logged out
	CodeGuestNotAllowed    Code = 206 // guests may not do this
)

// Social codes.
const (
	CodeUserNotFound       Code = 250 // no such user
	CodeAlreadyFriends     Code = 251 // already friends
	CodeNotFriends         Code = 252 // direct messages need friendship
	CodeBlocked            Code = 253 // one side blocked the other
	CodeRequestNotFound    Code = 254 // no pending friend request or invitation
	CodeGroupNotFound      Code = 255 // no such group
	CodeNotGroupMember     Code = 256 // members only
	CodeGroupInviteOnly    Code = 257 // the group needs an invitation
	CodeNotGroupAdmin      Code = 258 // owners and admins only
	CodeMessageTooLarge    Code = 259 // message body above the size limit
	CodeMessageRateLimited Code = 260 // too many messages per second
	CodeAlreadyMember      Code = 261 // already a member of the group
	CodeSelfAction         Code = 262 // cannot befriend, block or message oneself
	CodeBadGroupName       Code = 263 // group name breaks the naming rules
	CodeSocialLimit        Code = 264 // a friends, groups or group-members limit was reached
)

// Signaling and call codes.
const (
	CodeCallBusy          Code = 270 // the callee is already in a call
	CodeInCall            Code = 271 // the caller is already in a call (one call per user)
	CodeCallNotFound      Code = 272 // no such call, it has ended, or the sender is not a party of it
	CodeUserOffline       Code = 273 // the user has no session that could receive this
	CodeSignalTooLarge    Code = 274 // signaling payload above the size limit
	CodeSignalRateLimited Code = 275 // too many signaling frames per second from this session
	CodeNoRelation        Code = 276 // the target shares no room, friendship or call with the sender
	CodeCallRateLimited   Code = 277 // too many call invitations: wait
	CodeCallAnswered      Code = 278 // the call was already answered by another session
)

var codeNames = map[Code]string{
	CodeOK: "ok", CodeBadFrame: "bad_frame", CodeFrameTooLarge: "frame_too_large",
	CodeUnknownKind: "unknown_kind", CodeNotAuthenticated: "not_authenticated",
	CodeBadToken: "bad_token", CodeTokenExpired: "token_expired",
	CodeProtocolVersion: "protocol_version", CodeRateLimited: "rate_limited",
	CodeInternal: "internal", CodeServerShutdown: "server_shutdown",
	CodeIdleTimeout: "idle_timeout", CodeTooManyErrors: "too_many_errors",
	CodeReplaced: "replaced", CodeSlowConsumer: "slow_consumer",
	CodeBadRequest: "bad_request", CodeUnsupported: "unsupported",
	CodeHandshakeTimeout: "handshake_timeout", CodeForbidden: "forbidden",
	CodeNotFound: "not_found", CodeTooManySessions: "too_many_sessions",
	CodeBadText: "bad_text", CodeServerBusy: "server_busy",
	CodeUntrustedCertificate: "untrusted_certificate",

	CodeResumeUnknown: "resume_unknown", CodeResumeBadSecret: "resume_bad_secret",
	CodeResumeOverflow: "resume_overflow", CodeConnectionLost: "connection_lost",

	CodeDraining: "draining", CodeKicked: "kicked",

	CodeRoomNotFound: "room_not_found", CodeRoomFull: "room_full",
	CodeRoomClosed: "room_closed", CodeTooManyRooms: "too_many_rooms",
	CodeNotInRoom: "not_in_room", CodeUnknownRoomType: "unknown_room_type",
	CodeBadRoomConfig: "bad_room_config", CodeInputTooLarge: "input_too_large",
	CodeInputRateLimited: "input_rate_limited", CodeRoomCrashed: "room_crashed",
	CodeAlreadyInRoom: "already_in_room", CodeRoomPrivate: "room_private",
	CodeRoomCreateLimit: "room_create_limit",

	CodeBadTicket: "bad_ticket", CodeTicketExpired: "ticket_expired",
	CodeTicketReused: "ticket_reused", CodeNodeGone: "node_gone",
	CodeTooManyRedirects: "too_many_redirects", CodeClusterUnavailable: "cluster_unavailable",

	CodeNotVoiceRoom: "not_voice_room", CodeVoiceFrameTooLarge: "voice_frame_too_large",
	CodeVoiceRateLimited: "voice_rate_limited", CodeVoiceRoomTooLarge: "voice_room_too_large",
	CodeVoiceLinkLimit: "voice_link_limit",

	CodeBadUsername: "bad_username", CodeBadPassword: "bad_password",
	CodeUsernameTaken: "username_taken", CodeInvalidCredentials: "invalid_credentials",
	CodeLoginRateLimited: "login_rate_limited", CodeTokenRevoked: "token_revoked",
	CodeGuestNotAllowed: "guest_not_allowed",

	CodeUserNotFound: "user_not_found", CodeAlreadyFriends: "already_friends",
	CodeNotFriends: "not_friends", CodeBlocked: "blocked",
	CodeRequestNotFound: "request_not_found", CodeGroupNotFound: "group_not_found",
	CodeNotGroupMember: "not_group_member", CodeGroupInviteOnly: "group_invite_only",
	CodeNotGroupAdmin: "not_group_admin", CodeMessageTooLarge: "message_too_large",
	CodeMessageRateLimited: "message_rate_limited", CodeAlreadyMember: "already_member",
	CodeSelfAction: "self_action", CodeBadGroupName: "bad_group_name",
	CodeSocialLimit: "social_limit",

	CodeCallBusy: "call_busy", CodeInCall: "in_call", CodeCallNotFound: "call_not_found",
	CodeUserOffline: "user_offline", CodeSignalTooLarge: "signal_too_large",
	CodeSignalRateLimited: "signal_rate_limited", CodeNoRelation: "no_relation",
	CodeCallRateLimited: "call_rate_limited", CodeCallAnswered: "call_answered",
}

// Codes returns every named code in ascending order, for tables that must
// cover each one (the HTTP status table does).
func Codes() []Code {
	out := make([]Code, 0, len(codeNames))
	for c := range codeNames {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// String is the code's stable snake_case name, used in logs and JSON.
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "code_" + strconv.Itoa(int(c))
}

// Error makes a Code usable as an error value.
func (c Code) Error() string { return c.String() }

// MayReconnect reports whether a client that was closed with this code
// should try to connect again (after a backoff). Codes that mean "your
// credentials or build are wrong" return false.
func (c Code) MayReconnect() bool {
	switch c {
	case CodeKicked, CodeBadToken, CodeTokenRevoked, CodeProtocolVersion, CodeReplaced, CodeForbidden, CodeTooManyErrors, CodeUntrustedCertificate:
		return false
	}
	return true
}
