export declare const Presences: readonly ["offline", "online", "away"];
export declare const Roles: readonly ["invited", "member", "admin", "owner"];
export declare const FriendStates: readonly ["none", "incoming", "outgoing", "friend", "blocked"];
export declare const FriendEvents: readonly ["", "requested", "accepted", "declined", "removed", "blocked", "unblocked"];
export declare const GroupEvents: readonly ["", "joined", "left", "removed", "invited", "role_changed", "declined"];
export declare const RoomEvents: readonly ["", "joined", "left", "away", "back"];
export declare const CallStates: readonly ["", "ringing", "active", "ended"];
export declare const CallEndReasons: readonly ["none", "declined", "cancelled", "no_answer", "hung_up", "disconnected"];
export declare const VoiceEvents: readonly ["", "speaking", "silent", "muted", "unmuted", "deafened", "undeafened"];
/** Kind numbers (docs/PROTOCOL.md). */
export declare const Kind: {
    readonly Hello: 1;
    readonly Welcome: 2;
    readonly Error: 3;
    readonly Ping: 4;
    readonly Pong: 5;
    readonly Close: 6;
    readonly Echo: 7;
    readonly OK: 8;
    readonly Resume: 9;
    readonly Ack: 10;
    readonly Notice: 11;
    readonly RoomCreate: 16;
    readonly RoomJoin: 17;
    readonly RoomJoinOrCreate: 18;
    readonly RoomJoined: 19;
    readonly RoomLeave: 20;
    readonly RoomEvent: 21;
    readonly RoomClosed: 22;
    readonly RoomInput: 23;
    readonly RoomTick: 24;
    readonly RoomData: 25;
    readonly RoomList: 26;
    readonly RoomListResult: 27;
    readonly RoomRedirect: 28;
    readonly RoomJoinTicket: 29;
    readonly VoiceSend: 40;
    readonly VoiceFrame: 41;
    readonly VoiceSet: 42;
    readonly VoiceEvent: 43;
    readonly FriendRequest: 64;
    readonly FriendAccept: 65;
    readonly FriendDecline: 66;
    readonly FriendRemove: 67;
    readonly FriendBlock: 68;
    readonly FriendUnblock: 69;
    readonly FriendList: 70;
    readonly FriendListResult: 71;
    readonly FriendUpdate: 72;
    readonly GroupCreate: 80;
    readonly GroupResult: 81;
    readonly GroupJoin: 82;
    readonly GroupInvite: 83;
    readonly GroupAccept: 84;
    readonly GroupDecline: 85;
    readonly GroupLeave: 86;
    readonly GroupRemove: 87;
    readonly GroupSetRole: 88;
    readonly GroupMembers: 89;
    readonly GroupMembersResult: 90;
    readonly GroupList: 91;
    readonly GroupListResult: 92;
    readonly GroupUpdate: 93;
    readonly DirectSend: 96;
    readonly GroupSend: 97;
    readonly MessageSent: 98;
    readonly Message: 99;
    readonly MessageAck: 100;
    readonly History: 101;
    readonly HistoryResult: 102;
    readonly SetPresence: 104;
    readonly PresenceUpdate: 105;
    readonly Signal: 108;
    readonly SignalRecv: 109;
    readonly CallInvite: 110;
    readonly CallAccept: 111;
    readonly CallEnd: 112;
    readonly CallUpdate: 113;
};
export type KindName = keyof typeof Kind;
/** A decoded frame: its kind and its fields by name. */
export interface Frame {
    kind: number;
    [field: string]: unknown;
}
/** kindName is the frame type's name ("RoomTick"), or "kind_N". */
export declare function kindName(kind: number): string;
/** fieldNames lists a kind's fields in wire order (undefined for an unknown kind). */
export declare function fieldNames(kind: number): readonly string[] | undefined;
export declare const MaxMessage: number;
/**
 * wireFields is the array encode writes after the kind, before msgpack:
 * the frame's fields in order, with enums as numbers.
 */
export declare function wireFields(f: Frame): unknown[];
/** encode writes f as a msgpack frame. */
export declare function encode(f: Frame): Uint8Array;
/**
 * decode reads one frame. Unknown kinds and malformed frames throw a
 * TickwireError with bad_frame (or unknown_kind); fields after the ones
 * this SDK knows are ignored.
 */
export declare function decode(b: Uint8Array): Frame;
/** refOf is a decoded frame's ref (field 1 of kinds ≥ 16, field 3 of Error; 0 for others). */
export declare function refOf(f: Frame): number;
