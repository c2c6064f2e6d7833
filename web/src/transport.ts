// The transport contract the session layer (client.ts) runs on: one
// connection that carries frames on a reliable and an unreliable channel
// (docs/PROTOCOL.md §2), and the pseudo-codes for failures no server sent.

import { codeName, ConnectionLost, Timeout } from "./codes";
import { checkBase } from "./secure";

export { ConnectionLost, Timeout };

export type TransportName = "webrtc" | "websocket" | "longpoll";

/** The default order of attempts: fastest first, most reachable last. */
export const DefaultTransports: readonly TransportName[] = ["webrtc", "websocket", "longpoll"];

/** Channel numbers, as on the wire: 0 reliable, 1 unreliable. */
export type Channel = 0 | 1;
export const Reliable: Channel = 0;
export const Unreliable: Channel = 1;

/** describeCode names protocol and SDK-only codes alike (codeName). */
export const describeCode = codeName;

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
export class Inbound {
  private early: Array<[Channel, Uint8Array]> = [];
  private closed?: [number, string];
  private h?: ConnHandlers;

  start(h: ConnHandlers): void {
    this.h = h;
    for (const [ch, b] of this.early) h.message(ch, b);
    this.early = [];
    if (this.closed) h.close(...this.closed);
  }

  message(ch: Channel, b: Uint8Array): void {
    if (this.h) this.h.message(ch, b);
    else this.early.push([ch, b]);
  }

  /** shut marks the connection closed by its owner: nothing more is reported. */
  shut(): void {
    if (this.closed) return;
    this.closed = [0, ""];
    this.h = undefined;
    this.early = [];
  }

  /** close reports the end once. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = [code, reason];
    this.h?.close(code, reason);
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }
}

/**
 * truncateUTF8 cuts s to at most max bytes of UTF-8, at a character
 * boundary (close reasons: 123 bytes on every transport).
 */
export function truncateUTF8(s: string, max: number): string {
  const b = new TextEncoder().encode(s);
  if (b.length <= max) return s;
  let n = max;
  while (n > 0 && (b[n]! & 0xc0) === 0x80) n--; // back to the start of a character
  return new TextDecoder().decode(b.subarray(0, n));
}

/** httpURL resolves path against the API origin; it refuses a base that would downgrade an https: page (checkBase). */
export function httpURL(base: string, path: string): URL {
  checkBase(base);
  return new URL(path, base.endsWith("/") ? base : base + "/");
}

/** abortError is what an aborted attempt rejects with. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => {};
  }
  signal.addEventListener("abort", fn, { once: true });
  return () => signal.removeEventListener("abort", fn);
}
