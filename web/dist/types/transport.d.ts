import { codeName, ConnectionLost, Timeout } from "./codes";
export { ConnectionLost, Timeout };
export type TransportName = "webrtc" | "websocket" | "longpoll";
/** The default order of attempts: fastest first, most reachable last. */
export declare const DefaultTransports: readonly TransportName[];
/** Channel numbers, as on the wire: 0 reliable, 1 unreliable. */
export type Channel = 0 | 1;
export declare const Reliable: Channel;
export declare const Unreliable: Channel;
/** describeCode names protocol and SDK-only codes alike (codeName). */
export declare const describeCode: typeof codeName;
/** A connection's callbacks, set by the session layer before any message can arrive. */
export interface ConnHandlers {
    /** one frame, on the channel it came on */
    message(ch: Channel, frame: Uint8Array): void;
    /** the connection ended: code is the server's close code, or ConnectionLost */
    close(code: number, reason: string): void;
}
/** Conn is one open transport connection. */
export interface Conn {
    readonly transport: TransportName;
    /** set handlers; messages that arrived before are delivered now */
    start(h: ConnHandlers): void;
    /** send one frame; throws a TickwireError when the connection is closed */
    send(ch: Channel, frame: Uint8Array): void;
    /** close with a code (0 = ok) and reason; the handlers are not called for it, nor afterwards */
    close(code?: number, reason?: string): void;
    /** ms timestamp (Date.now()) of the last thing heard, heartbeats included */
    readonly lastHeard: number;
}
export interface OpenOptions {
    /** the HTTP API origin, e.g. "http://localhost:7780" */
    url: string;
    token: string;
    /** aborts the attempt (the chooser's per-transport bound) */
    signal: AbortSignal;
    /** the WebSocket constructor (globalThis.WebSocket by default) */
    webSocket?: typeof WebSocket;
    /** fetch (globalThis.fetch by default) */
    fetch?: typeof fetch;
}
/** An Opener connects one transport (before Hello). */
export type Opener = (o: OpenOptions) => Promise<Conn>;
/** Buffer holds frames that arrive before start() is called. */
export declare class Inbound {
    private early;
    private closed?;
    private h?;
    start(h: ConnHandlers): void;
    message(ch: Channel, b: Uint8Array): void;
    /** shut marks the connection closed by its owner: nothing more is reported. */
    shut(): void;
    /** close reports the end once. */
    close(code: number, reason: string): void;
    get isClosed(): boolean;
}
/**
 * truncateUTF8 cuts s to at most max bytes of UTF-8, at a character
 * boundary (close reasons: 123 bytes on every transport).
 */
export declare function truncateUTF8(s: string, max: number): string;
/** httpURL resolves path against the API origin; it refuses a base that would downgrade an https: page (checkBase). */
export declare function httpURL(base: string, path: string): URL;
/** abortError is what an aborted attempt rejects with. */
export declare function onAbort(signal: AbortSignal, fn: () => void): () => void;
