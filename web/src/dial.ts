// Choosing a transport: try each in order within a bound, Hello/Welcome
// included, and keep the first that completes the handshake
// (docs/WEB.md "Transport choice").

import { Code, codeName } from "./codes";
import { asTickwireError, TickwireError } from "./errors";
import { decode, encode, Kind } from "./frames";
import { openLongPoll } from "./longpoll";
import { resumeRefusal } from "./resume";
import type { Channel, Conn, ConnHandlers, Opener, OpenOptions, TransportName } from "./transport";
import { ConnectionLost, describeCode, onAbort, Timeout } from "./transport";
import type { Welcome } from "./types";
import { openWebRTC } from "./webrtc";
import { openWebSocket } from "./ws";

/** The openers by name; DialOptions.openers replaces any of them. */
export const Openers: Record<TransportName, Opener> = {
  webrtc: openWebRTC,
  websocket: openWebSocket,
  longpoll: openLongPoll,
};

/** ProtocolVersion is the Hello version this SDK speaks. */
export const ProtocolVersion = 1;

/** SDKVersion is this package's version, sent in Hello as client_version by default. */
export const SDKVersion = "0.1.0";

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
export class Router implements ConnHandlers {
  private held: Array<["m", Channel, Uint8Array] | ["c", number, string]> | undefined;

  constructor(private target: ConnHandlers) {}

  /** hold keeps what arrives until release. */
  hold(): void {
    this.held = [];
  }

  /** release hands what was held, then everything after, to target. */
  release(target: ConnHandlers): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.target = target;
    for (const h of held) {
      if (h[0] === "m") target.message(h[1], h[2]);
      else target.close(h[1], h[2]);
    }
  }

  message(ch: Channel, b: Uint8Array): void {
    if (this.held) this.held.push(["m", ch, b]);
    else this.target.message(ch, b);
  }

  close(code: number, reason: string): void {
    if (this.held) this.held.push(["c", code, reason]);
    else this.target.close(code, reason);
  }
}

/** Codes after which another transport cannot do better: the token or the build is wrong. */
export function fatal(code: number): boolean {
  switch (code) {
    case Code.BadToken:
    case Code.TokenExpired:
    case Code.TokenRevoked:
    case Code.ProtocolVersion:
    case Code.NotAuthenticated:
    case Code.Forbidden:
      return true;
  }
  return false;
}

/** nowUs is the client's clock in µs since the Unix epoch, sub-millisecond where the platform allows. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** hello sends Hello (or Resume) on conn and resolves with Welcome, or rejects with the server's code. */
function hello(conn: Conn, o: DialOptions, signal: AbortSignal): Promise<Dialed> {
  return new Promise((resolve, reject) => {
    let refused: TickwireError | undefined;
    const helloSentUs = nowUs();
    const off = onAbort(signal, () => reject(new TickwireError(Timeout, "no Welcome in time")));
    const router = new Router({
      message(_ch, b) {
        let f;
        try {
          f = decode(b);
        } catch {
          return; // counted by the session layer once it runs; nothing to do before Welcome
        }
        if (f.kind === Kind.Welcome) {
          off();
          router.hold();
          resolve({ conn, router, welcome: f as unknown as Welcome, helloSentUs, welcomeAtUs: nowUs(), attempts: [] });
        } else if (f.kind === Kind.Error) {
          refused = new TickwireError(f.code as number, f.message as string);
        } else if (f.kind === Kind.Close) {
          off();
          reject(refused ?? new TickwireError(f.code as number, f.reason as string));
        }
      },
      close(code, reason) {
        off();
        reject(refused ?? new TickwireError(code, reason || `closed before Welcome (${describeCode(code)})`));
      },
    });
    conn.start(router);
    const clientName = o.clientName ?? "tickwire-js";
    const clientVersion = o.clientVersion ?? SDKVersion;
    try {
      conn.send(
        0,
        encode(
          o.resume
            ? { kind: Kind.Resume, version: ProtocolVersion, ...o.resume, clientName, clientVersion }
            : { kind: Kind.Hello, version: ProtocolVersion, token: o.token, clientName, clientVersion, resumeId: "", resume: o.askResume ?? false },
        ),
      );
    } catch (err) {
      off();
      reject(asTickwireError(err, ConnectionLost));
    }
  });
}

/**
 * bounded races p against signal: an opener that ignores its signal is
 * given up all the same, and the connection it delivers late is closed.
 */
function bounded(p: Promise<Conn>, signal: AbortSignal, name: TransportName): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const off = onAbort(signal, () => {
      reject(new TickwireError(Timeout, `${name}: no connection in time`));
      void p.then((late) => late.close(Code.OK, "too late"), () => {});
    });
    p.then(
      (c) => {
        off();
        if (signal.aborted) c.close(Code.OK, "too late");
        else resolve(c);
      },
      (err: unknown) => {
        off();
        reject(err);
      },
    );
  });
}

/** dialOne opens one transport and completes the handshake within timeoutMs. */
async function dialOne(name: TransportName, o: DialOptions): Promise<Dialed> {
  const open = o.openers?.[name] ?? Openers[name];
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, o.timeoutMs);
  const offOuter = o.signal ? onAbort(o.signal, () => ctl.abort()) : () => {};
  let conn: Conn | undefined;
  try {
    const oo: OpenOptions = { url: o.url, token: o.token, signal: ctl.signal, webSocket: o.webSocket, fetch: o.fetch };
    conn = await bounded(Promise.resolve().then(() => open(oo)), ctl.signal, name);
    return await hello(conn, o, ctl.signal);
  } catch (err) {
    // A Resume given up may have moved the session to this connection
    // already: a close with code ok would end the session (a goodbye);
    // connection_lost, as the Go SDK closes it, leaves it parked for the
    // next attempt.
    conn?.close(o.resume ? Code.ConnectionLost : Code.OK, "giving up this transport");
    const e = asTickwireError(err, ConnectionLost);
    // A server's refusal (a code ≥ 0 from the server) stands; anything
    // else once the bound has passed is the bound.
    if (timedOut && (e.code < 0 || !(err instanceof TickwireError))) {
      throw new TickwireError(Timeout, `${name}: no session within ${o.timeoutMs} ms`, { cause: err });
    }
    throw e;
  } finally {
    clearTimeout(timer);
    offOuter();
  }
}

/**
 * dial tries the transports of o.order one after another and returns the
 * first session that opens. A refusal that no other transport can change
 * (a bad or expired token, a protocol version) ends the search at once.
 */
export async function dial(o: DialOptions): Promise<Dialed> {
  if (o.order.length === 0) throw new TickwireError(Code.BadRequest, "no transports to try");
  const attempts: Attempt[] = [];
  let last: TickwireError | undefined;
  for (const name of o.order) {
    if (o.signal?.aborted) break;
    const t0 = performance.now();
    try {
      const d = await dialOne(name, o);
      attempts.push({ transport: name, ms: performance.now() - t0 });
      d.attempts = attempts;
      return d;
    } catch (err) {
      last = asTickwireError(err);
      attempts.push({ transport: name, ms: performance.now() - t0, code: last.code, error: last.message });
      // A refusal no other transport can change ends the search: a
      // session the server does not have is not on another transport either.
      if (fatal(last.code) || (o.resume && resumeRefusal(last.code))) break;
    }
  }
  const summary = attempts.map((a) => `${a.transport}: ${a.error ?? codeName(a.code ?? 0)}`).join("; ");
  const err = new TickwireError(last?.code ?? ConnectionLost, `no transport connected (${summary})`, { cause: last });
  (err as TickwireError & { attempts?: Attempt[] }).attempts = attempts;
  throw err;
}
