export declare const Code: {
    /** success, or a normal close */
    readonly OK: 0;
    /** not a valid frame: malformed msgpack, wrong field types or counts */
    readonly BadFrame: 1;
    /** frame or field above its size limit */
    readonly FrameTooLarge: 2;
    /** frame kind not known to this server */
    readonly UnknownKind: 3;
    /** a frame other than Hello before Welcome, or a second Hello */
    readonly NotAuthenticated: 4;
    /** token missing, malformed or with a bad signature */
    readonly BadToken: 5;
    /** token past its expiry: get a new one and reconnect */
    readonly TokenExpired: 6;
    /** protocol version not supported */
    readonly ProtocolVersion: 7;
    /** too many frames per second */
    readonly RateLimited: 8;
    /** server-side failure */
    readonly Internal: 9;
    /** the server is shutting down: reconnect later */
    readonly ServerShutdown: 10;
    /** nothing heard from the peer within the idle timeout */
    readonly IdleTimeout: 11;
    /** repeated bad input */
    readonly TooManyErrors: 12;
    /** the session was resumed on another connection */
    readonly Replaced: 13;
    /** the reliable send queue overflowed */
    readonly SlowConsumer: 14;
    /** a well-formed frame with invalid values */
    readonly BadRequest: 15;
    /** known but not offered by this server */
    readonly Unsupported: 16;
    /** no Hello within the handshake timeout */
    readonly HandshakeTimeout: 17;
    /** the caller may not do this */
    readonly Forbidden: 18;
    /** the thing named does not exist */
    readonly NotFound: 19;
    /** too many sessions from this address, or on the server: retry later */
    readonly TooManySessions: 20;
    /** user-visible text with forbidden characters (control, bidi override, zero-width) or too long */
    readonly BadText: 21;
    /** the server is at a capacity limit for this work: retry later */
    readonly ServerBusy: 22;
    /** the client's own: the server's TLS certificate did not verify (browsers report this as a network failure) */
    readonly UntrustedCertificate: 23;
    /** no session to resume under that id (ended, expired, or never existed here): start a fresh session */
    readonly ResumeUnknown: 30;
    /** the resume secret does not match the session's: start a fresh session */
    readonly ResumeBadSecret: 31;
    /** frames the client had not acknowledged were dropped from the replay buffer: start a fresh session and rejoin */
    readonly ResumeOverflow: 32;
    /** (SDKs, never on the wire) the connection ended before the reply came and the session was not resumed */
    readonly ConnectionLost: 33;
    readonly Draining: 34;
    readonly Kicked: 35;
    /** no open room with that id */
    readonly RoomNotFound: 100;
    /** the room is at capacity */
    readonly RoomFull: 101;
    /** the room closed */
    readonly RoomClosed: 102;
    /** this session is in too many rooms */
    readonly TooManyRooms: 103;
    /** the session is not a member of that room */
    readonly NotInRoom: 104;
    /** no room type registered under that name */
    readonly UnknownRoomType: 105;
    /** invalid capacity, tick rate, label... */
    readonly BadRoomConfig: 106;
    /** room input above the size limit */
    readonly InputTooLarge: 107;
    /** too many room inputs per second */
    readonly InputRateLimited: 108;
    /** the room's handler failed; the room closed */
    readonly RoomCrashed: 109;
    /** the session is already a member */
    readonly AlreadyInRoom: 110;
    /** private rooms are joined by id only */
    readonly RoomPrivate: 111;
    /** too many rooms created by this session or user, or on the server */
    readonly RoomCreateLimit: 112;
    /** a redirect ticket that is malformed, forged, or not for this user, room or node */
    readonly BadTicket: 130;
    /** a redirect ticket past its expiry */
    readonly TicketExpired: 131;
    /** a redirect ticket presented a second time */
    readonly TicketReused: 132;
    /** the node that owns the room is gone or unreachable */
    readonly NodeGone: 133;
    /** the SDK's own: a join was redirected more times than its hop bound */
    readonly TooManyRedirects: 134;
    /** the node cannot reach the cluster (NATS) to answer: retry later */
    readonly ClusterUnavailable: 135;
    /** a voice frame or VoiceSet to a room that is not a voice room */
    readonly NotVoiceRoom: 120;
    /** voice payload above the room's frame size limit */
    readonly VoiceFrameTooLarge: 121;
    /** the member's frames exceed the voice room's bitrate or frame-rate cap: dropped */
    readonly VoiceRateLimited: 122;
    /** voice room capacity above the server's voice member cap */
    readonly VoiceRoomTooLarge: 123;
    readonly VoiceLinkLimit: 124;
    /** username breaks the username rules */
    readonly BadUsername: 200;
    /** password breaks the length rules */
    readonly BadPassword: 201;
    /** username already registered */
    readonly UsernameTaken: 202;
    /** no such user or wrong password (never says which) */
    readonly InvalidCredentials: 203;
    /** too many login attempts: wait */
    readonly LoginRateLimited: 204;
    /** the token was logged out */
    readonly TokenRevoked: 205;
    /** guests may not do this */
    readonly GuestNotAllowed: 206;
    /** no such user */
    readonly UserNotFound: 250;
    /** already friends */
    readonly AlreadyFriends: 251;
    /** direct messages need friendship */
    readonly NotFriends: 252;
    /** one side blocked the other */
    readonly Blocked: 253;
    /** no pending friend request or invitation */
    readonly RequestNotFound: 254;
    /** no such group */
    readonly GroupNotFound: 255;
    /** members only */
    readonly NotGroupMember: 256;
    /** the group needs an invitation */
    readonly GroupInviteOnly: 257;
    /** owners and admins only */
    readonly NotGroupAdmin: 258;
    /** message body above the size limit */
    readonly MessageTooLarge: 259;
    /** too many messages per second */
    readonly MessageRateLimited: 260;
    /** already a member of the group */
    readonly AlreadyMember: 261;
    /** cannot befriend, block or message oneself */
    readonly SelfAction: 262;
    /** group name breaks the naming rules */
    readonly BadGroupName: 263;
    /** a friends, groups or group-members limit was reached */
    readonly SocialLimit: 264;
    /** the callee is already in a call */
    readonly CallBusy: 270;
    /** the caller is already in a call (one call per user) */
    readonly InCall: 271;
    /** no such call, it has ended, or the sender is not a party of it */
    readonly CallNotFound: 272;
    /** the user has no session that could receive this */
    readonly UserOffline: 273;
    /** signaling payload above the size limit */
    readonly SignalTooLarge: 274;
    /** too many signaling frames per second from this session */
    readonly SignalRateLimited: 275;
    /** the target shares no room, friendship or call with the sender */
    readonly NoRelation: 276;
    /** too many call invitations: wait */
    readonly CallRateLimited: 277;
    /** the call was already answered by another session */
    readonly CallAnswered: 278;
};
export type CodeNumber = (typeof Code)[keyof typeof Code];
/**
 * SDK-only codes, negative so they never collide with protocol codes:
 * ConnectionLost when a transport ended without a close from the server,
 * Timeout when a connection attempt or a request got no answer in time.
 */
export declare const ConnectionLost = -1;
export declare const Timeout = -2;
/** codeName is a code's stable snake_case name, or "code_N" for an unknown one. */
export declare function codeName(code: number): string;
/**
 * mayReconnect reports whether a session closed with this code should
 * connect again after a backoff (netcode.Code.MayReconnect).
 */
export declare function mayReconnect(code: number): boolean;
