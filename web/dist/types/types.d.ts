import type { FriendEvents, FriendStates, GroupEvents, Presences, Roles, RoomEvents } from "./frames";
export type Presence = (typeof Presences)[number];
export type Role = (typeof Roles)[number];
export type FriendState = (typeof FriendStates)[number];
export type FriendEvent = Exclude<(typeof FriendEvents)[number], "">;
export type GroupEvent = Exclude<(typeof GroupEvents)[number], "">;
export type RoomEventType = Exclude<(typeof RoomEvents)[number], "">;
/** What the HTTP API answers when it issues a token. */
export interface Auth {
    token: string;
    userId: string;
    name: string;
    username?: string;
    guest: boolean;
    expiresAt: string;
}
export interface Welcome {
    sessionId: number;
    userId: string;
    displayName: string;
    serverTimeUs: number;
    maxFrame: number;
    maxFramesPerSec: number;
    heartbeatMs: number;
    idleTimeoutMs: number;
    /** the resume secret (a new one with every Welcome); "" when the server keeps no sessions */
    resumeId: string;
    /** how long the server keeps the session after its connection was lost (0 = resume off) */
    resumeWindowMs: number;
    /** true when this Welcome answers a Resume: the session continues */
    resumed: boolean;
    /** resumed: how many of the client's numbered frames the server processed */
    received: number;
    /** resumed: how many numbered frames the server replays right after this Welcome */
    replay: number;
}
export interface RoomMember {
    member: number;
    userId: string;
    displayName: string;
}
export interface RoomInfo {
    roomId: bigint;
    type: string;
    label: string;
    members: number;
    capacity: number;
    tickRate: number;
}
export interface RoomJoined {
    roomId: bigint;
    type: string;
    label: string;
    tickRate: number;
    tick: number;
    serverTimeUs: number;
    capacity: number;
    you: number;
    members: RoomMember[];
}
export interface TickInput {
    member: number;
    seq: number;
    data: Uint8Array;
}
export interface RoomTick {
    roomId: bigint;
    tick: number;
    serverTimeUs: number;
    inputs: TickInput[];
    /** true when the tick came on the unreliable channel */
    unreliable: boolean;
}
export interface RoomData {
    roomId: bigint;
    tick: number;
    serverTimeUs: number;
    data: Uint8Array;
    unreliable: boolean;
}
export interface RoomEvent {
    roomId: bigint;
    event: RoomEventType;
    member: number;
    userId: string;
    displayName: string;
}
export interface RoomClosed {
    roomId: bigint;
    code: number;
    message: string;
}
export interface RoomOptions {
    type?: string;
    label?: string;
    capacity?: number;
    tickRate?: number;
    private?: boolean;
    emptyTimeoutMs?: number;
    params?: Uint8Array;
}
export interface Friend {
    userId: string;
    username: string;
    displayName: string;
    state: FriendState;
    presence: Presence;
    statusText: string;
    lastSeenUs: number;
}
export interface FriendUpdate {
    event: FriendEvent;
    friend: Friend;
}
export interface PresenceUpdate {
    userId: string;
    presence: Presence;
    statusText: string;
    lastSeenUs: number;
}
export interface Group {
    id: number;
    name: string;
    open: boolean;
    role: Role;
    members: number;
    ownerId: string;
}
export interface GroupMember {
    userId: string;
    displayName: string;
    role: Role;
    presence: Presence;
}
export interface GroupUpdate {
    event: GroupEvent;
    groupId: number;
    groupName: string;
    userId: string;
    actorId: string;
    role: Role;
}
export interface ChatMessage {
    id: number;
    /** 0 for a direct message */
    groupId: number;
    fromUserId: string;
    /** "" for a group message */
    toUserId: string;
    timeUs: number;
    body: string;
    fromName: string;
}
export interface MessageSent {
    id: number;
    timeUs: number;
}
export interface HistoryQuery {
    groupId?: number;
    userId?: string;
    beforeId?: number;
    limit?: number;
}
/** VoiceEvent is a voice room's speaking, mute or deafen change of one member (docs/VOICE.md). */
export interface VoiceEvent {
    roomId: bigint;
    member: number;
    event: "speaking" | "silent" | "muted" | "unmuted" | "deafened" | "undeafened";
}
