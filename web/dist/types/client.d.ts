import { Attempt } from "./dial";
import { TickwireError } from "./errors";
import { Emitter } from "./events";
import { Frame } from "./frames";
import { Room, RoomHost } from "./room";
import { Call } from "./calls";
import type { SignalRecv, SignalTarget } from "./calls";
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
    /** session resume after a lost connection (docs/WEB.md "Session resume") */
    resume?: ResumeOptions;
    /** acknowledge chat messages automatically once the "message" handlers ran (default true) */
    autoAck?: boolean;
    clientName?: string;
    clientVersion?: string;
    /**
     * redirects a room join follows, at most (default 2; docs/CLUSTER.md): in
     * a cluster a join for a room another node owns is answered with that
     * node's address and a ticket, and the SDK opens a session there (same
     * token and options) and joins with the ticket. Past the bound the join
     * fails with too_many_redirects (134); 0 follows none. A room joined
     * there emits "closed" when that session ends (its node shut down, or
     * could not be reached again within NodeReconnectAttempts reconnects).
     */
    maxRedirects?: number;
    /** transport implementations to use instead of the built-in ones (tests, custom transports) */
    openers?: Partial<Record<TransportName, Opener>>;
    webSocket?: typeof WebSocket;
    fetch?: typeof fetch;
}
/**
 * ResumeOptions configure the automatic session resume (the Go SDK's
 * client.ResumeOptions). The default resumes whenever the server offers
 * it (Welcome's resume_window_ms > 0), until that window has passed since
 * the loss.
 */
export interface ResumeOptions {
    /** turn resume off: a lost connection starts a fresh session and rejoins the rooms */
    off?: boolean;
    /** the wait after a failed attempt (every transport tried once), doubled per attempt up to maxBackoffMs, plus up to 50 % jitter (default 100 and 2000 ms) */
    backoffMs?: number;
    maxBackoffMs?: number;
    /** bound the attempts (default: until the server's resume window has passed) */
    maxAttempts?: number;
}
export interface ClientEvents {
    transport: {
        transport: TransportName;
        attempts: Attempt[];
    };
    /** the connection was lost; resuming: the session is being resumed (rooms kept, requests waiting) */
    disconnected: {
        code: number;
        codeName: string;
        reason: string;
        willReconnect: boolean;
        resuming: boolean;
    };
    /** an attempt is about to be made, after delayMs (resume: a Resume, else a fresh session) */
    reconnecting: {
        attempt: number;
        delayMs: number;
        resume: boolean;
    };
    /** the session continues on a new connection: same session id and rooms; the frames missed follow, each once, in order */
    resumed: {
        transport: TransportName;
        sessionId: number;
        replayed: number;
        resent: number;
        attempts: number;
        downMs: number;
    };
    /** the session could not be resumed (code says why: resume_unknown, resume_overflow, ..., timeout when the window passed); a fresh session follows, pending requests failed with connection_lost (33) */
    resumeFailed: {
        code: number;
        codeName: string;
        reason: string;
    };
    /** a fresh session replaced a lost one and joined its rooms again */
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
    /** a Notice (kind 11) from the server's operators, to everyone or to this user; code 0 for plain text */
    notice: {
        code: number;
        codeName: string;
        text: string;
    };
    group: GroupUpdate;
    /** an Error the server sent with no request to match (ref 0, e.g. a refused input) */
    error: TickwireError;
    /** a call this session did not start: ringing for this user, or started on another session */
    call: Call;
    /** a signaling payload arrived (for a call, a room or from a friend) */
    signal: SignalRecv;
}
/** SDK counters, for the curious and for tests. */
export interface ClientStats {
    framesIn: number;
    framesOut: number;
    badFrames: number;
    duplicateMessages: number;
    reconnects: number;
    /** sessions resumed, resumes that failed, numbered frames replayed to the client and resent by it */
    resumes: number;
    resumeFailures: number;
    replayed: number;
    resent: number;
    /** Acks sent */
    acks: number;
}
/** DefaultMaxRedirects bounds the redirects one room join follows (ConnectOptions.maxRedirects). */
export declare const DefaultMaxRedirects = 2;
/** NodeReconnectAttempts bounds the reconnects of a session opened on another node to follow a redirect, unless maxReconnectAttempts is set: when it gives up, its rooms get "closed". */
export declare const NodeReconnectAttempts = 3;
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
    /** sessions opened on other nodes to follow redirects, by HTTP origin */
    private nodes;
    private callBook;
    private lastMessageId;
    private ackTimer?;
    private ackedUpTo;
    /** the session's numbered frames, both ways (resume on) */
    private numbering;
    /** the server offers resume for this session and the client uses it */
    private resumable;
    private resumeAckTimer?;
    private closeCtl;
    /** the code the session ended with, once closed */
    private endCode;
    private constructor();
    get userId(): string;
    /** sessionId is the session's id (Welcome's; a resume keeps it, a fresh reconnect changes it). */
    get sessionId(): number;
    /** resuming reports whether the connection was lost and the session is being resumed. */
    get resuming(): boolean;
    /** connected reports whether a session is open right now (false while reconnecting). */
    get connected(): boolean;
    /** serverNowMs estimates the server's clock (ms since the Unix epoch). */
    serverNowMs(): number;
    private order;
    /** dial runs the transport choice with the session's options (first connect and every reconnect). */
    private dial;
    private establish;
    /**
     * adopt makes a dialed connection the session's. before runs right
     * before the frames held since Welcome are handed on (a resume resends
     * its frames there, ahead of the replay's consequences).
     */
    private adopt;
    /**
     * send writes one frame. With resume on, a numbered frame is numbered
     * and kept for a resend first; while the session is resuming it is only
     * kept (resent on resume), unreliable frames are dropped (as a lossy link
     * would) and session frames (Ping) are refused. A numbered frame whose
     * write fails is not an error: the resume resends it.
     */
    private send;
    /**
     * call sends a request and resolves with its reply (OK or a result
     * frame). onReply runs synchronously when the reply arrives, so that
     * state it sets up (a room) is there for the frames right behind it.
     */
    private call;
    /** callOK performs a request answered with OK (CallHost). */
    callOK(f: Frame): Promise<void>;
    private onMessage;
    private settle;
    /** onChat delivers each message once, in id order, and acknowledges it (docs/PROTOCOL.md §5). */
    private onChat;
    /** countNumbered counts one numbered frame and sends Ack by the protocol's rule (AckEvery frames, or AckDelayMs after the first uncovered one). */
    private countNumbered;
    /** sendAck acknowledges every numbered frame processed (not while resuming: the Resume carries the count). */
    private sendAck;
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
    /**
     * failPending ends what belonged to the session that is gone (it is not
     * called while a resume may keep the session): pending requests, pings,
     * and calls (they were bound to the session's id).
     */
    private failPending;
    private failPings;
    /**
     * lost handles the end of the session's connection. A session the
     * server keeps (resume on, and no Close frame from the server: that one
     * ended the session) is resumed: rooms stay, requests keep waiting, and
     * only the pings in flight fail. Otherwise pending requests fail and a
     * fresh session follows (or the client ends, for a code that must not
     * reconnect).
     */
    private lost;
    /**
     * resumeLoop sends Resume over the transports in order, with backoff and
     * jitter between rounds, until the session continues, the server refuses
     * it (a fresh session follows), or the server's resume window has passed
     * since the loss.
     */
    private resumeLoop;
    /** resumedOn continues the session on d: the client's unprocessed frames are resent, then the replay is handed on. */
    private resumedOn;
    /** resumeFailed gives the resume up: pending requests fail with connection_lost (33) and a fresh session follows. */
    private resumeFailed;
    private finish;
    private reconnectLoop;
    /**
     * rejoin joins again every room the client was in before the connection
     * was lost, in a fresh session (a resumed session keeps its rooms). A
     * room that cannot be joined again is reported closed.
     */
    private rejoin;
    /** close ends the session politely (the server ends it at once, no resume window) and stops reconnecting. */
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
    /**
     * joinVia sends req to node (this client or one of its node sessions)
     * and follows the redirects that answer it, at most maxRedirects: each
     * to a session on the owner node (nodeSession), joining there with the
     * ticket. A join-or-create whose ticket join finds the room full or
     * gone (the directory was behind) matchmakes again on that node.
     */
    private joinVia;
    /** nodeSession is this client's session on the node whose HTTP API is at url: an open one or a new one (same token and options). */
    private nodeSession;
    private openNode;
    /** rooms the client is in. */
    get joinedRooms(): Room[];
    /** @internal RoomHost */
    sendInput(room: Room, seq: number, data: Uint8Array, reliable: boolean): void;
    /** setVoice sets my mute and deafen state in a voice room (VoiceSet; docs/VOICE.md). */
    setVoice(room: Room, muted: boolean, deafened: boolean): Promise<void>;
    /** @internal voice.ts: posts an audio offer for room to the SFU and returns the answer SDP. */
    voiceOffer(room: Room, sdp: string, signal?: AbortSignal): Promise<string>;
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
    /** signal sends payload to a session sharing a call, a room or a friendship with this one. */
    signal(to: SignalTarget, payload: Uint8Array): Promise<void>;
    /** invite rings a friend on every session; the Call follows its states. */
    invite(userId: string): Promise<Call>;
    /** calls lists the calls not yet ended that this client knows. */
    get calls(): Call[];
}
