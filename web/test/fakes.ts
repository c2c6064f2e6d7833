// In-memory transports and a scripted server for the SDK's unit tests.
//
// FakeConn is a Conn built like the real transports (ws.ts, webrtc.ts,
// longpoll.ts): an Inbound buffers frames until start(); the end of the
// transport (drop, refuse) is reported to the handlers once, and the
// owner's close() reports nothing (Inbound.shut), as the Conn contract says.
// FakeServer decodes what the client sends with the real frame codec,
// answers Hello with Welcome (or refuses it, or stays silent) and hands
// every later frame to a test's handler. With resume on (welcome's
// resumeWindowMs > 0) it keeps sessions as PROTOCOL.md "Session resume"
// says: every numbered frame it pushes is kept, Ack forgets them, the
// client's numbered frames are counted, and Resume is answered with a
// resumed Welcome and the replay (or refused with the protocol's codes).

import { TickwireError } from "../src/errors";
import { decode, encode, Frame, Kind } from "../src/frames";
import type { Channel, Conn, ConnHandlers, Opener, OpenOptions, TransportName } from "../src/transport";
import { Code } from "../src/codes";
import { isNumbered } from "../src/resume";
import { ConnectionLost, Inbound } from "../src/transport";
import type { Welcome } from "../src/types";

/** One frame the client sent, decoded. */
export interface Sent {
  ch: Channel;
  frame: Frame;
}

export class FakeConn implements Conn {
  lastHeard = Date.now();
  /** what the client sent, in order (Hello first) */
  readonly sent: Sent[] = [];
  /** set once the client closed this connection */
  closedByClient?: { code: number; reason: string };
  /** set once the connection ended, either side */
  ended?: { code: number; reason: string };
  /** the session this connection carries, once welcomed */
  session?: FakeSession;
  private in = new Inbound();

  constructor(
    readonly transport: TransportName,
    private server: FakeServer,
    readonly token: string,
  ) {}

  start(h: ConnHandlers): void {
    this.in.start(h);
  }

  send(ch: Channel, b: Uint8Array): void {
    if (this.in.isClosed) throw new TickwireError(ConnectionLost, "fake connection closed");
    const frame = decode(b); // the client must send valid frames
    this.sent.push({ ch, frame });
    queueMicrotask(() => {
      if (!this.in.isClosed) this.server.received(this, ch, frame);
    });
  }

  close(code = 0, reason = ""): void {
    if (!this.closedByClient && !this.ended) this.closedByClient = { code, reason };
    if (!this.ended) this.ended = { code, reason };
    this.in.shut();
  }

  // ---- the server's side ----

  /** push delivers a frame to the client (after the current task, as a network would). */
  push(f: Frame, ch: Channel = 0): void {
    const b = encode(f);
    // A numbered frame is kept for a replay (sent or not: a frame pushed
    // on a connection that is gone is what the replay is for).
    if (ch === 0 && this.session && isNumbered(f.kind)) this.session.out.push(b);
    this.pushRaw(b, ch);
  }

  pushRaw(b: Uint8Array, ch: Channel = 0): void {
    if (this.in.isClosed) return;
    this.lastHeard = Date.now();
    this.in.message(ch, b);
  }

  /** drop ends the transport as the network or the server would (ConnectionLost unless told). */
  drop(code: number = ConnectionLost, reason = ""): void {
    this.end(code, reason);
  }

  /** refuse sends Error and Close with code, then ends the transport with it (what the server does). */
  refuse(code: number, message = "refused"): void {
    this.push({ kind: Kind.Error, code, message, ref: 0 });
    this.push({ kind: Kind.Close, code, reason: message });
    this.drop(code, message);
  }

  get isClosed(): boolean {
    return this.in.isClosed;
  }

  /** frames of one kind the client sent */
  sentOf(kind: number): Frame[] {
    return this.sent.filter((s) => s.frame.kind === kind).map((s) => s.frame);
  }

  private end(code: number, reason: string): void {
    if (!this.ended) this.ended = { code, reason };
    this.in.close(code, reason);
  }
}

/** A session the fake server keeps for a resume. */
export interface FakeSession {
  id: number;
  secret: string;
  /** every numbered frame pushed, number n at index n − 1 */
  out: Uint8Array[];
  /** frames 1..forgotten were dropped (a replay buffer that overflowed) */
  forgotten: number;
  /** the highest Ack */
  acked: number;
  /** the client's numbered frames processed */
  processed: number;
  /** the processed frames, decoded, in order */
  got: Frame[];
}

/** What to do with a Resume: the protocol's answer, a given refusal, or never answer. */
export type ResumeAnswer = "auto" | "silent" | { refuse: number; message?: string };

/** What to do with a Hello: welcome it, refuse it with a code, or never answer. */
export type HelloAnswer = "welcome" | "silent" | { refuse: number; message?: string };

export type WelcomeFields = Welcome;

export class FakeServer {
  /** every connection opened, in order */
  readonly conns: FakeConn[] = [];
  /** every Hello received */
  readonly hellos: Frame[] = [];
  /** every Resume received */
  readonly resumes: Frame[] = [];
  /** sessions by id */
  readonly sessionsById = new Map<number, FakeSession>();
  /** decides the answer to each Resume (default: as the protocol says) */
  onResume: (resume: Frame, conn: FakeConn) => ResumeAnswer = () => "auto";
  /** openers called, in order, by transport name */
  readonly opened: TransportName[] = [];
  /** decides the answer to each Hello (default: welcome) */
  onHello: (hello: Frame, conn: FakeConn) => HelloAnswer = () => "welcome";
  /** handles each frame after Hello (default: answer Ping with Pong, ignore the rest) */
  onFrame: (f: Frame, conn: FakeConn, ch: Channel) => void = (f, conn, ch) => {
    if (f.kind === Kind.Ping) this.pong(conn, f, ch);
  };
  welcome: WelcomeFields = {
    sessionId: 1,
    userId: "u_ann",
    displayName: "Ann",
    serverTimeUs: Date.now() * 1000,
    maxFrame: 16384,
    maxFramesPerSec: 200,
    // long enough that the client's own pings stay out of the tests' way
    heartbeatMs: 60_000,
    idleTimeoutMs: 120_000,
    resumeId: "r_1",
    // resume off unless a test turns it on
    resumeWindowMs: 0,
    resumed: false,
    received: 0,
    replay: 0,
  };
  private sessions = 0;

  /** opener gives an Opener for name that connects to this server at once. */
  opener(name: TransportName): Opener {
    return async (o: OpenOptions) => {
      this.opened.push(name);
      return this.connect(name, o.token);
    };
  }

  /** openers gives working openers for every transport. */
  openers(): Record<TransportName, Opener> {
    return { webrtc: this.opener("webrtc"), websocket: this.opener("websocket"), longpoll: this.opener("longpoll") };
  }

  connect(name: TransportName, token: string): FakeConn {
    const c = new FakeConn(name, this, token);
    this.conns.push(c);
    return c;
  }

  /** the newest connection */
  get last(): FakeConn {
    const c = this.conns[this.conns.length - 1];
    if (!c) throw new Error("no connection yet");
    return c;
  }

  /** @internal FakeConn */
  received(conn: FakeConn, ch: Channel, f: Frame): void {
    if (f.kind === Kind.Hello) {
      this.hellos.push(f);
      const a = this.onHello(f, conn);
      if (a === "silent") return;
      if (a === "welcome") {
        this.sessions++;
        const sess: FakeSession = { id: this.sessions, secret: this.welcome.resumeId, out: [], forgotten: 0, acked: 0, processed: 0, got: [] };
        this.sessionsById.set(sess.id, sess);
        conn.push({ kind: Kind.Welcome, ...this.welcome, sessionId: this.sessions, serverTimeUs: Date.now() * 1000 });
        conn.session = sess;
        return;
      }
      conn.refuse(a.refuse, a.message ?? "refused");
      return;
    }
    if (f.kind === Kind.Resume) {
      this.resumes.push(f);
      const a = this.onResume(f, conn);
      if (a === "silent") return;
      if (a !== "auto") {
        conn.refuse(a.refuse, a.message ?? "refused");
        return;
      }
      this.resume(f, conn);
      return;
    }
    const sess = conn.session;
    if (sess && ch === 0 && isNumbered(f.kind)) {
      sess.processed++;
      sess.got.push(f);
    }
    if (sess && f.kind === Kind.Ack) {
      const n = f.received as number;
      if (n > sess.out.length) {
        conn.push({ kind: Kind.Error, code: Code.BadRequest, message: "ack above what was sent", ref: 0 });
        return;
      }
      sess.acked = Math.max(sess.acked, n);
    }
    this.onFrame(f, conn, ch);
  }

  /** resume answers a Resume as PROTOCOL.md says: refusals, or a resumed Welcome and the replay. */
  private resume(f: Frame, conn: FakeConn): void {
    const sess = this.sessionsById.get(f.sessionId as number);
    if (!sess || !this.welcome.resumeWindowMs) return conn.refuse(sess ? Code.Unsupported : Code.ResumeUnknown, "no such session");
    if (f.resumeId !== sess.secret) return conn.refuse(Code.ResumeBadSecret, "bad secret");
    const from = f.received as number;
    if (from > sess.out.length) return conn.refuse(Code.BadRequest, "received above what was sent");
    if (from < sess.forgotten) return conn.refuse(Code.ResumeOverflow, "frames were dropped");
    sess.secret = `${sess.secret}+`;
    const replay = sess.out.slice(from);
    conn.push({
      kind: Kind.Welcome,
      ...this.welcome,
      sessionId: sess.id,
      serverTimeUs: Date.now() * 1000,
      resumeId: sess.secret,
      resumed: true,
      received: sess.processed,
      replay: replay.length,
    });
    conn.session = sess;
    for (const b of replay) conn.pushRaw(b, 0);
  }

  pong(conn: FakeConn, ping: Frame, ch: Channel = 0): void {
    conn.push({ kind: Kind.Pong, clientTimeUs: ping.clientTimeUs, serverTimeUs: Date.now() * 1000 }, ch);
  }
}

/** failing is an opener that rejects with code after ms (0: at once). */
export function failing(code: number, ms = 0, calls?: TransportName[], name?: TransportName): Opener {
  return (o: OpenOptions) => {
    if (calls && name) calls.push(name);
    return new Promise<Conn>((_, reject) => {
      const t = setTimeout(() => reject(new TickwireError(code, "fake opener refused")), ms);
      o.signal.addEventListener("abort", () => clearTimeout(t), { once: true });
    });
  };
}

/**
 * hanging is an opener that never connects; when its attempt is aborted it
 * rejects with the signal's reason (an AbortError, as an aborted fetch does),
 * or with what abortError makes of it.
 */
export function hanging(calls?: TransportName[], name?: TransportName, abortError?: (reason: unknown) => unknown): Opener {
  return (o: OpenOptions) => {
    if (calls && name) calls.push(name);
    return new Promise<Conn>((_, reject) => {
      o.signal.addEventListener("abort", () => reject(abortError ? abortError(o.signal.reason) : o.signal.reason), { once: true });
    });
  };
}

/** waitFor polls pred every few ms until it is true, or fails after ms. */
export async function waitFor(pred: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** within rejects if p does not settle within ms (so that a hang fails a test instead of stalling it). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** sleep waits ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
