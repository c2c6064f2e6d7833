import type { Channel, Conn, ConnHandlers, Opener, TransportName } from "./transport";
import type { Welcome } from "./types";
/** The openers by name; DialOptions.openers replaces any of them. */
export declare const Openers: Record<TransportName, Opener>;
/** ProtocolVersion is the Hello version this SDK speaks. */
export declare const ProtocolVersion = 1;
/** SDKVersion is this package's version, sent in Hello as client_version by default. */
export declare const SDKVersion = "0.1.0";
/** One transport tried, and why it was left (absent for the one kept). */
export interface Attempt {
    transport: TransportName;
    ms: number;
    code?: number;
    error?: string;
}
export interface DialOptions {
    url: string;
    token: string;
    order: readonly TransportName[];
    timeoutMs: number;
    clientName?: string;
    clientVersion?: string;
    /** send Resume instead of Hello: continue this session (docs/PROTOCOL.md "Session resume") */
    resume?: ResumeRequest;
    /** Hello's resume field: this client resumes lost sessions, so the server may keep this one */
    askResume?: boolean;
    openers?: Partial<Record<TransportName, Opener>>;
    webSocket?: typeof WebSocket;
    fetch?: typeof fetch;
    /** aborts the whole dial (Client.close during a reconnect) */
    signal?: AbortSignal;
}
/** What a Resume names: the session, its latest secret and the numbered frames processed. */
export interface ResumeRequest {
    sessionId: number;
    resumeId: string;
    received: number;
}
/** A connection with its session open, and its handlers to switch to. */
export interface Dialed {
    conn: Conn;
    router: Router;
    welcome: Welcome;
    helloSentUs: number;
    welcomeAtUs: number;
    attempts: Attempt[];
}
/**
 * Router lets the session layer take a connection's handlers over after
 * the handshake: from Welcome until release, what arrives is held (a
 * long-poll batch can carry Welcome and the first pushes together).
 */
export declare class Router implements ConnHandlers {
    private target;
    private held;
    constructor(target: ConnHandlers);
    /** hold keeps what arrives until release. */
    hold(): void;
    /** release hands what was held, then everything after, to target. */
    release(target: ConnHandlers): void;
    message(ch: Channel, b: Uint8Array): void;
    close(code: number, reason: string): void;
}
/** Codes after which another transport cannot do better: the token or the build is wrong. */
export declare function fatal(code: number): boolean;
/** nowUs is the client's clock in µs since the Unix epoch, sub-millisecond where the platform allows. */
export declare function nowUs(): number;
/**
 * dial tries the transports of o.order one after another and returns the
 * first session that opens. A refusal that no other transport can change
 * (a bad or expired token, a protocol version) ends the search at once.
 */
export declare function dial(o: DialOptions): Promise<Dialed>;
