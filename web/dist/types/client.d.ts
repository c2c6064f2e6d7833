import { Attempt } from "./dial";
import { TickwireError } from "./errors";
import { Emitter } from "./events";
import { Room, RoomHost } from "./room";
import type { Opener, TransportName } from "./transport";
import type { Auth, ChatMessage, Friend, FriendUpdate, Group, GroupMember, GroupUpdate, HistoryQuery, MessageSent, Presence, PresenceUpdate, Role, RoomInfo, RoomOptions, Welcome } from "./types";
export interface ConnectOptions {
    /** the HTTP API's origin, e.g. "http://localhost:7780" (default: the page's origin) */
    url?: string;
    token: string;
    /** called for the token before every reconnect (refresh an expiring one here) */
    getToken?: () => string | Promise<string>;
    /** the transports to try, in order (default webrtc, websocket, longpoll) */
    transports?: readonly TransportName[];
    /** force exactly one transport */
    transport?: TransportName;
    /** bound on each transport attempt, handshake included (default 3000 ms) */
    connectTimeoutMs?: number;
    /** bound on each request (default 10000 ms) */
    requestTimeoutMs?: number;
    /** reconnect after a lost connection (default true) */
    reconnect?: boolean;
    /** first and largest reconnect delay (default 250 and 5000 ms; doubled per attempt, with jitter) */
    reconnectMinMs?: number;
    reconnectMaxMs?: number;
    /** give up after this many failed reconnects in a row (default: never) */
    maxReconnectAttempts?: number;
    /** acknowledge chat messages automatically once the "message" handlers ran (default true) */
    autoAck?: boolean;
    clientName?: string;
    clientVersion?: string;
    /** transport implementations to use instead of the built-in ones (tests, custom transports) */
    openers?: Partial<Record<TransportName, Opener>>;
    webSocket?: typeof WebSocket;
    fetch?: typeof fetch;
}
export interface ClientEvents {
    transport: {
        transport: TransportName;
        attempts: Attempt[];
    };
    disconnected: {
        code: number;
        codeName: string;
        reason: string;
        willReconnect: boolean;
    };
    reconnecting: {
        attempt: number;
        delayMs: number;
    };
    reconnected: {
        transport: TransportName;
        rooms: bigint[];
    };
    closed: {
        code: number;
        codeName: string;
        reason: string;
    };
    rtt: {
        rttMs: number;
        offsetMs: number;
    };
    friend: FriendUpdate;
    presence: PresenceUpdate;
    message: ChatMessage;
    group: GroupUpdate;
    /** an Error the server sent with no request to match (ref 0, e.g. a refused input) */
    error: TickwireError;
}
/** SDK counters, for the curious and for tests. */
export interface ClientStats {
    framesIn: number;
    framesOut: number;
    badFrames: number;
    duplicateMessages: number;
    reconnects: number;
}
export declare class Client extends Emitter<ClientEvents> implements RoomHost {
    static guest(base: string, name?: string): Promise<Auth>;
    static register(base: string, username: string, password: string, displayName?: string): Promise<Auth>;
    static login(base: string, username: string, password: string): Promise<Auth>;
    static refresh(base: string, token: string): Promise<Auth>;
    static logout(base: string, token: string): Promise<void>;
    /** connect opens a session, trying the transports in order, and resolves once Welcome arrived. */
    static connect(o: ConnectOptions): Promise<Client>;
    readonly url: string;
    readonly stats: ClientStats;
    welcome: Welcome;
    transport: TransportName;
    /** the transports tried by the last (re)connect */
    attempts: Attempt[];
    /** smoothed RTT in ms (0 before the first sample) */
    rtt: number;
    /** server clock minus client clock, ms, from the fastest recent ping */
    clockOffsetMs: number;
    private o;
    private token;
    private conn?;
    private router?;
    private state;
    /** is reads the state afresh (after calls that may change it, where TypeScript's narrowing would not). */
    private is;
    private nextRef;
    private pending;
    private pings;
    private lastPingUs;
    private samples;
    private pingTimer?;
    private rooms;
    private lastMessageId;
    private ackTimer?;
    private ackedUpTo;
    private closeCtl;
    /** the code the session ended with, once closed */
    private endCode;
    private constructor();
    get userId(): string;
    /** connected reports whether a session is open right now (false while reconnecting). */
    get connected(): boolean;
    /** serverNowMs estimates the server's clock (ms since the Unix epoch). */
    serverNowMs(): number;
    private order;
    /** dial runs the transport choice with the session's options (first connect and every reconnect). */
    private dial;
    private establish;
    /** adopt makes a dialed connection the session's. */
    private adopt;
    private send;
    /**
     * call sends a request and resolves with its reply (OK or a result
     * frame). onReply runs synchronously when the reply arrives, so that
     * state it sets up (a room) is there for the frames right behind it.
     */
    private call;
    private callOK;
    private onMessage;
    private settle;
    /** onChat delivers each message once, in id order, and acknowledges it (docs/PROTOCOL.md §5). */
    private onChat;
    private scheduleAck;
    /**
     * ping measures one round trip in ms. On WebRTC, { unreliable: true }
     * measures the unreliable channel (what game inputs take).
     */
    ping(opts?: {
        unreliable?: boolean;
    }): Promise<number>;
    private onPong;
    private sample;
    /** startPings pings every heartbeat interval (liveness and live RTT) and watches the idle timeout. */
    private startPings;
    private failPending;
    private lost;
    private finish;
    private reconnectLoop;
    /**
     * rejoin joins again every room the client was in before the connection
     * was lost (the hook session resume will replace: a resumed session keeps
     * its rooms). A room that cannot be joined again is reported closed.
     */
    private rejoin;
    /** close ends the session politely and stops reconnecting. */
    close(): Promise<void>;
    listRooms(q?: {
        type?: string;
        label?: string;
        limit?: number;
    }): Promise<RoomInfo[]>;
    createRoom(o?: RoomOptions): Promise<Room>;
    joinRoom(id: bigint): Promise<Room>;
    joinOrCreateRoom(o?: RoomOptions): Promise<Room>;
    private joined;
    /** rooms the client is in. */
    get joinedRooms(): Room[];
    /** @internal RoomHost */
    sendInput(room: Room, seq: number, data: Uint8Array, reliable: boolean): void;
    /** @internal RoomHost */
    leaveRoom(room: Room): Promise<void>;
    requestFriend(username: string): Promise<void>;
    acceptFriend(userId: string): Promise<void>;
    declineFriend(userId: string): Promise<void>;
    removeFriend(userId: string): Promise<void>;
    blockUser(userId: string): Promise<void>;
    unblockUser(userId: string): Promise<void>;
    /** friends lists friends, requests both ways and blocks (every page). */
    friends(): Promise<Friend[]>;
    /**
     * allPages asks for a list page after page (each after the last entry of
     * the one before) until the server says there is no more.
     */
    private allPages;
    createGroup(name: string, open: boolean): Promise<Group>;
    joinGroup(groupId: number): Promise<void>;
    inviteToGroup(groupId: number, userId: string): Promise<void>;
    acceptGroupInvite(groupId: number): Promise<void>;
    declineGroupInvite(groupId: number): Promise<void>;
    leaveGroup(groupId: number): Promise<void>;
    removeGroupMember(groupId: number, userId: string): Promise<void>;
    setGroupRole(groupId: number, userId: string, role: Role): Promise<void>;
    groupMembers(groupId: number, o?: {
        after?: string;
        limit?: number;
    }): Promise<{
        members: GroupMember[];
        more: boolean;
    }>;
    /** groups lists my groups and my pending invitations (role "invited"), every page. */
    groups(): Promise<Group[]>;
    /** sendDirect resolves once the message is stored (MessageSent). */
    sendDirect(toUserId: string, body: string): Promise<MessageSent>;
    sendGroup(groupId: number, body: string): Promise<MessageSent>;
    /** ackMessages acknowledges every message with id ≤ upToId (no reply is asked for). */
    ackMessages(upToId: number): void;
    history(q: HistoryQuery): Promise<{
        messages: ChatMessage[];
        more: boolean;
    }>;
    setPresence(presence: Exclude<Presence, "offline">, statusText?: string): Promise<void>;
}
