// Code numbers and names: the protocol's codes (docs/PROTOCOL.md §6),
// the same table as netcode/codes.go. test/codes.test.ts checks it against
// the Go table's golden copy.

export const Code = {
  /** success, or a normal close */
  OK: 0,
  /** not a valid frame: malformed msgpack, wrong field types or counts */
  BadFrame: 1,
  /** frame or field above its size limit */
  FrameTooLarge: 2,
  /** frame kind not known to this server */
  UnknownKind: 3,
  /** a frame other than Hello before Welcome, or a second Hello */
  NotAuthenticated: 4,
  /** token missing, malformed or with a bad signature */
  BadToken: 5,
  /** token past its expiry: get a new one and reconnect */
  TokenExpired: 6,
  /** protocol version not supported */
  ProtocolVersion: 7,
  /** too many frames per second */
  RateLimited: 8,
  /** server-side failure */
  Internal: 9,
  /** the server is shutting down: reconnect later */
  ServerShutdown: 10,
  /** nothing heard from the peer within the idle timeout */
  IdleTimeout: 11,
  /** repeated bad input */
  TooManyErrors: 12,
  /** the session was resumed on another connection */
  Replaced: 13,
  /** the reliable send queue overflowed */
  SlowConsumer: 14,
  /** a well-formed frame with invalid values */
  BadRequest: 15,
  /** known but not offered by this server */
  Unsupported: 16,
  /** no Hello within the handshake timeout */
  HandshakeTimeout: 17,
  /** the caller may not do this */
  Forbidden: 18,
  /** the thing named does not exist */
  NotFound: 19,
  /** too many sessions from this address, or on the server: retry later */
  TooManySessions: 20,
  /** user-visible text with forbidden characters (control, bidi override, zero-width) or too long */
  BadText: 21,
  /** the server is at a capacity limit for this work: retry later */
  ServerBusy: 22,
  /** the client's own: the server's TLS certificate did not verify (browsers report this as a network failure) */
  UntrustedCertificate: 23,
  /** no session to resume under that id (ended, expired, or never existed here): start a fresh session */
  ResumeUnknown: 30,
  /** the resume secret does not match the session's: start a fresh session */
  ResumeBadSecret: 31,
  /** frames the client had not acknowledged were dropped from the replay buffer: start a fresh session and rejoin */
  ResumeOverflow: 32,
  /** (SDKs, never on the wire) the connection ended before the reply came and the session was not resumed */
  ConnectionLost: 33,
  Draining: 34,
  Kicked: 35,
  /** no open room with that id */
  RoomNotFound: 100,
  /** the room is at capacity */
  RoomFull: 101,
  /** the room closed */
  RoomClosed: 102,
  /** this session is in too many rooms */
  TooManyRooms: 103,
  /** the session is not a member of that room */
  NotInRoom: 104,
  /** no room type registered under that name */
  UnknownRoomType: 105,
  /** invalid capacity, tick rate, label... */
  BadRoomConfig: 106,
  /** room input above the size limit */
  InputTooLarge: 107,
  /** too many room inputs per second */
  InputRateLimited: 108,
  /** the room's handler failed; the room closed */
  RoomCrashed: 109,
  /** the session is already a member */
  AlreadyInRoom: 110,
  /** private rooms are joined by id only */
  RoomPrivate: 111,
  /** too many rooms created by this session or user, or on the server */
  RoomCreateLimit: 112,
  /** a redirect ticket that is malformed, forged, or not for this user, room or node */
  BadTicket: 130,
  /** a redirect ticket past its expiry */
  TicketExpired: 131,
  /** a redirect ticket presented a second time */
  TicketReused: 132,
  /** the node that owns the room is gone or unreachable */
  NodeGone: 133,
  /** the SDK's own: a join was redirected more times than its hop bound */
  TooManyRedirects: 134,
  /** the node cannot reach the cluster (NATS) to answer: retry later */
  ClusterUnavailable: 135,
  /** a voice frame or VoiceSet to a room that is not a voice room */
  NotVoiceRoom: 120,
  /** voice payload above the room's frame size limit */
  VoiceFrameTooLarge: 121,
  /** the member's frames exceed the voice room's bitrate or frame-rate cap: dropped */
  VoiceRateLimited: 122,
  /** voice room capacity above the server's voice member cap */
  VoiceRoomTooLarge: 123,
  VoiceLinkLimit: 124,
  /** username breaks the username rules */
  BadUsername: 200,
  /** password breaks the length rules */
  BadPassword: 201,
  /** username already registered */
  UsernameTaken: 202,
  /** no such user or wrong password (never says which) */
  InvalidCredentials: 203,
  /** too many login attempts: wait */
  LoginRateLimited: 204,
  /** the token was logged out */
  TokenRevoked: 205,
  /** guests may not do this */
  GuestNotAllowed: 206,
  /** no such user */
  UserNotFound: 250,
  /** already friends */
  AlreadyFriends: 251,
  /** direct messages need friendship */
  NotFriends: 252,
  /** one side blocked the other */
  Blocked: 253,
  /** no pending friend request or invitation */
  RequestNotFound: 254,
  /** no such group */
  GroupNotFound: 255,
  /** members only */
  NotGroupMember: 256,
  /** the group needs an invitation */
  GroupInviteOnly: 257,
  /** owners and admins only */
  NotGroupAdmin: 258,
  /** message body above the size limit */
  MessageTooLarge: 259,
  /** too many messages per second */
  MessageRateLimited: 260,
  /** already a member of the group */
  AlreadyMember: 261,
  /** cannot befriend, block or message oneself */
  SelfAction: 262,
  /** group name breaks the naming rules */
  BadGroupName: 263,
  /** a friends, groups or group-members limit was reached */
  SocialLimit: 264,
  /** the callee is already in a call */
  CallBusy: 270,
  /** the caller is already in a call (one call per user) */
  InCall: 271,
  /** no such call, it has ended, or the sender is not a party of it */
  CallNotFound: 272,
  /** the user has no session that could receive this */
  UserOffline: 273,
  /** signaling payload above the size limit */
  SignalTooLarge: 274,
  /** too many signaling frames per second from this session */
  SignalRateLimited: 275,
  /** the target shares no room, friendship or call with the sender */
  NoRelation: 276,
  /** too many call invitations: wait */
  CallRateLimited: 277,
  /** the call was already answered by another session */
  CallAnswered: 278,
} as const;

export type CodeNumber = (typeof Code)[keyof typeof Code];

const names: Record<number, string> = {
  0: "ok",
  1: "bad_frame",
  2: "frame_too_large",
  3: "unknown_kind",
  4: "not_authenticated",
  5: "bad_token",
  6: "token_expired",
  7: "protocol_version",
  8: "rate_limited",
  9: "internal",
  10: "server_shutdown",
  11: "idle_timeout",
  12: "too_many_errors",
  13: "replaced",
  14: "slow_consumer",
  15: "bad_request",
  16: "unsupported",
  17: "handshake_timeout",
  18: "forbidden",
  19: "not_found",
  20: "too_many_sessions",
  21: "bad_text",
  22: "server_busy",
  23: "untrusted_certificate",
  30: "resume_unknown",
  31: "resume_bad_secret",
  32: "resume_overflow",
  33: "connection_lost",
  34: "draining",
  35: "kicked",
  100: "room_not_found",
  101: "room_full",
  102: "room_closed",
  103: "too_many_rooms",
  104: "not_in_room",
  105: "unknown_room_type",
  106: "bad_room_config",
  107: "input_too_large",
  108: "input_rate_limited",
  109: "room_crashed",
  110: "already_in_room",
  111: "room_private",
  112: "room_create_limit",
  130: "bad_ticket",
  131: "ticket_expired",
  132: "ticket_reused",
  133: "node_gone",
  134: "too_many_redirects",
  135: "cluster_unavailable",
  120: "not_voice_room",
  121: "voice_frame_too_large",
  122: "voice_rate_limited",
  123: "voice_room_too_large",
  124: "voice_link_limit",
  200: "bad_username",
  201: "bad_password",
  202: "username_taken",
  203: "invalid_credentials",
  204: "login_rate_limited",
  205: "token_revoked",
  206: "guest_not_allowed",
  250: "user_not_found",
  251: "already_friends",
  252: "not_friends",
  253: "blocked",
  254: "request_not_found",
  255: "group_not_found",
  256: "not_group_member",
  257: "group_invite_only",
  258: "not_group_admin",
  259: "message_too_large",
  260: "message_rate_limited",
  261: "already_member",
  262: "self_action",
  263: "bad_group_name",
  264: "social_limit",
  270: "call_busy",
  271: "in_call",
  272: "call_not_found",
  273: "user_offline",
  274: "signal_too_large",
  275: "signal_rate_limited",
  276: "no_relation",
  277: "call_rate_limited",
  278: "call_answered",
};

/**
 * SDK-only codes, negative so they never collide with protocol codes:
 * ConnectionLost when a transport ended without a close from the server,
 * Timeout when a connection attempt or a request got no answer in time.
 */
export const ConnectionLost = -1;
export const Timeout = -2;

names[ConnectionLost] = "connection_lost";
names[Timeout] = "timeout";

/** codeName is a code's stable snake_case name, or "code_N" for an unknown one. */
export function codeName(code: number): string {
  return names[code] ?? `code_${code}`;
}

/**
 * mayReconnect reports whether a session closed with this code should
 * connect again after a backoff (netcode.Code.MayReconnect).
 */
export function mayReconnect(code: number): boolean {
  switch (code) {
    case Code.Kicked:
    case Code.BadToken:
    case Code.TokenRevoked:
    case Code.ProtocolVersion:
    case Code.Replaced:
    case Code.Forbidden:
    case Code.TooManyErrors:
    case Code.UntrustedCertificate:
      return false;
  }
  return true;
}
