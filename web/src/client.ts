// The session: Hello/Welcome on the chosen transport, requests matched by
// ref, pings with RTT and clock offset, pushes turned into events, session
// resume after a lost connection (the same session on a new connection,
// rooms kept, missed frames replayed), and fresh reconnects with backoff
// that rejoin the rooms when a resume is not possible (docs/WEB.md).

import { Code, mayReconnect } from "./codes";
import { Attempt, dial, Dialed, fatal, nowUs, ResumeRequest, Router } from "./dial";
import { asTickwireError, TickwireError } from "./errors";
import { Emitter } from "./events";
import { decode, encode, Frame, Kind } from "./frames";
import * as http from "./http";
import { DefaultResumeBackoffMs, DefaultResumeMaxBackoffMs, isNumbered, Numbering, peekKind, resumeBackoffMs, resumeRefusal } from "./resume";
import { Room, RoomHost } from "./room";
import { checkBase } from "./secure";
import { Call, CallBook, signalFrame } from "./calls";
import type { SignalRecv, SignalTarget } from "./calls";
import type { Channel, Conn, Opener, TransportName } from "./transport";
import { ConnectionLost, DefaultTransports, describeCode, httpURL, Reliable, Timeout, Unreliable } from "./transport";
import type {
  Auth,
  ChatMessage,
  Friend,
  FriendUpdate,
  Group,
  GroupMember,
  GroupUpdate,
  HistoryQuery,
  MessageSent,
  Presence,
  PresenceUpdate,
  Role,
  RoomClosed,
  RoomData,
  RoomEvent,
  RoomInfo,
  RoomJoined,
  RoomOptions,
  RoomTick,
  VoiceEvent,
  Welcome,
} from "./types";

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
  transport: { transport: TransportName; attempts: Attempt[] };
  /** the connection was lost; resuming: the session is being resumed (rooms kept, requests waiting) */
  disconnected: { code: number; codeName: string; reason: string; willReconnect: boolean; resuming: boolean };
  /** an attempt is about to be made, after delayMs (resume: a Resume, else a fresh session) */
  reconnecting: { attempt: number; delayMs: number; resume: boolean };
  /** the session continues on a new connection: same session id and rooms; the frames missed follow, each once, in order */
  resumed: { transport: TransportName; sessionId: number; replayed: number; resent: number; attempts: number; downMs: number };
  /** the session could not be resumed (code says why: resume_unknown, resume_overflow, ..., timeout when the window passed); a fresh session follows, pending requests failed with connection_lost (33) */
  resumeFailed: { code: number; codeName: string; reason: string };
  /** a fresh session replaced a lost one and joined its rooms again */
  reconnected: { transport: TransportName; rooms: bigint[] };
  closed: { code: number; codeName: string; reason: string };
  rtt: { rttMs: number; offsetMs: number };
  friend: FriendUpdate;
  presence: PresenceUpdate;
  message: ChatMessage;
  /** a Notice (kind 11) from the server's operators, to everyone or to this user; code 0 for plain text */
  notice: { code: number; codeName: string; text: string };
  group: GroupUpdate;
  /** an Error the server sent with no request to match (ref 0, e.g. a refused input) */
  error: TickwireError;
  /** a call this session did not start: ringing for this user, or started on another session */
  call: Call;
  /** a signaling payload arrived (for a call, a room or from a friend) */
  signal: SignalRecv;
}

interface Pending {
  resolve(f: Frame): void;
  reject(err: TickwireError): void;
  timer: ReturnType<typeof setTimeout>;
  /** runs when the reply is handled, before frames behind it (a push right after RoomJoined) */
  onReply?: (f: Frame) => void;
}

interface PingWait {
  sentUs: number;
  resolve(rttMs: number): void;
  reject(err: TickwireError): void;
  timer: ReturnType<typeof setTimeout>;
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

const samplesKept = 8;

/** DefaultMaxRedirects bounds the redirects one room join follows (ConnectOptions.maxRedirects). */
export const DefaultMaxRedirects = 2;

/** NodeReconnectAttempts bounds the reconnects of a session opened on another node to follow a redirect, unless maxReconnectAttempts is set: when it gives up, its rooms get "closed". */
export const NodeReconnectAttempts = 3;

/** MaxListEntries bounds what friends() and groups() collect over pages. */
const MaxListEntries = 100_000;

function defaultOrigin(): string {
  const loc = (globalThis as { location?: { origin?: string } }).location;
  if (loc?.origin && loc.origin !== "null") return loc.origin;
  throw new TickwireError(Code.BadRequest, "no url given and no page origin to default to");
}

function roomKey(id: bigint): string {
  return id.toString();
}

export class Client extends Emitter<ClientEvents> implements RoomHost {
  // ---- HTTP token endpoints (static) ----
  static guest(base: string, name?: string): Promise<Auth> {
    return http.guest(base, name);
  }
  static register(base: string, username: string, password: string, displayName?: string): Promise<Auth> {
    return http.register(base, username, password, displayName);
  }
  static login(base: string, username: string, password: string): Promise<Auth> {
    return http.login(base, username, password);
  }
  static refresh(base: string, token: string): Promise<Auth> {
    return http.refresh(base, token);
  }
  static logout(base: string, token: string): Promise<void> {
    return http.logout(base, token);
  }

  /** connect opens a session, trying the transports in order, and resolves once Welcome arrived. */
  static async connect(o: ConnectOptions): Promise<Client> {
    const c = new Client(o);
    await c.establish();
    return c;
  }

  readonly url: string;
  readonly stats: ClientStats = {
    framesIn: 0,
    framesOut: 0,
    badFrames: 0,
    duplicateMessages: 0,
    reconnects: 0,
    resumes: 0,
    resumeFailures: 0,
    replayed: 0,
    resent: 0,
    acks: 0,
  };
  welcome!: Welcome;
  transport!: TransportName;
  /** the transports tried by the last (re)connect */
  attempts: Attempt[] = [];
  /** smoothed RTT in ms (0 before the first sample) */
  rtt = 0;
  /** server clock minus client clock, ms, from the fastest recent ping */
  clockOffsetMs = 0;

  private o: ConnectOptions;
  private token: string;
  private conn?: Conn;
  private router?: Router;
  private state: "connecting" | "open" | "resuming" | "reconnecting" | "closing" | "closed" = "connecting";
  /** is reads the state afresh (after calls that may change it, where TypeScript's narrowing would not). */
  private is(st: Client["state"]): boolean {
    return this.state === st;
  }
  private nextRef = 0;
  private pending = new Map<number, Pending>();
  private pings = new Map<number, PingWait>();
  private lastPingUs = 0;
  private samples: Array<{ rttMs: number; offsetMs: number }> = [];
  private pingTimer?: ReturnType<typeof setInterval>;
  private rooms = new Map<string, Room>();
  /** sessions opened on other nodes to follow redirects, by HTTP origin */
  private nodes = new Map<string, Promise<Client>>();
  private callBook = new CallBook(
    this,
    (c) => this.emit("call", c),
    (sg) => this.emit("signal", sg),
  );
  private lastMessageId = 0;
  private ackTimer?: ReturnType<typeof setTimeout>;
  private ackedUpTo = 0;
  /** the session's numbered frames, both ways (resume on) */
  private numbering = new Numbering();
  /** the server offers resume for this session and the client uses it */
  private resumable = false;
  private resumeAckTimer?: ReturnType<typeof setTimeout>;
  private closeCtl = new AbortController();
  /** the code the session ended with, once closed */
  private endCode: number = ConnectionLost;

  private constructor(o: ConnectOptions) {
    super();
    this.o = o;
    this.url = o.url ?? defaultOrigin();
    checkBase(this.url);
    this.token = o.token;
  }

  get userId(): string {
    return this.welcome.userId;
  }

  /** sessionId is the session's id (Welcome's; a resume keeps it, a fresh reconnect changes it). */
  get sessionId(): number {
    return this.welcome.sessionId;
  }

  /** resuming reports whether the connection was lost and the session is being resumed. */
  get resuming(): boolean {
    return this.state === "resuming";
  }

  /** connected reports whether a session is open right now (false while reconnecting). */
  get connected(): boolean {
    return this.state === "open";
  }

  /** serverNowMs estimates the server's clock (ms since the Unix epoch). */
  serverNowMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private order(): readonly TransportName[] {
    if (this.o.transport) return [this.o.transport];
    return this.o.transports ?? DefaultTransports;
  }

  /** dial runs the transport choice with the session's options (first connect and every reconnect). */
  private dial(resume?: ResumeRequest): Promise<Dialed> {
    return dial({
      url: this.url,
      token: this.token,
      order: this.order(),
      timeoutMs: this.o.connectTimeoutMs ?? 3000,
      clientName: this.o.clientName,
      clientVersion: this.o.clientVersion,
      resume,
      askResume: this.o.resume?.off !== true && this.o.reconnect !== false,
      openers: this.o.openers,
      webSocket: this.o.webSocket,
      fetch: this.o.fetch,
      signal: this.closeCtl.signal,
    });
  }

  private async establish(): Promise<void> {
    const d = await this.dial();
    if (this.state === "closed") {
      d.conn.close(Code.OK, "client closed");
      throw new TickwireError(Code.OK, "client closed");
    }
    this.adopt(d);
    if (this.is("closed")) throw new TickwireError(this.endCode, "the session ended right after Welcome");
  }

  /**
   * adopt makes a dialed connection the session's. before runs right
   * before the frames held since Welcome are handed on (a resume resends
   * its frames there, ahead of the replay's consequences).
   */
  private adopt(d: Dialed, before?: () => void): void {
    const conn = d.conn;
    this.conn = conn;
    this.router = d.router;
    this.welcome = d.welcome;
    this.transport = conn.transport;
    this.attempts = d.attempts;
    this.state = "open";
    const rttMs = (d.welcomeAtUs - d.helloSentUs) / 1000;
    this.sample(rttMs, d.welcome.serverTimeUs / 1000 - (d.helloSentUs / 1000 + rttMs / 2));
    this.startPings();
    this.ackedUpTo = 0; // acks sent on the old connection may be lost with it
    if (!d.welcome.resumed) {
      // A fresh session: its numbering starts over.
      this.numbering = new Numbering();
      this.resumable =
        this.o.resume?.off !== true && this.o.reconnect !== false && d.welcome.resumeWindowMs > 0 && d.welcome.resumeId !== "";
    }
    this.emit("transport", { transport: this.transport, attempts: this.attempts });
    before?.();
    // Last: frames held since Welcome (a Close among them ends the session
    // here, after which nothing above may run).
    d.router.release({
      message: (ch, b) => {
        if (this.conn === conn) this.onMessage(ch, b);
      },
      close: (code, reason) => {
        if (this.conn === conn) this.lost(code, reason);
      },
    });
  }

  // ---- sending and requests ----

  /**
   * send writes one frame. With resume on, a numbered frame is numbered
   * and kept for a resend first; while the session is resuming it is only
   * kept (resent on resume), unreliable frames are dropped (as a lossy link
   * would) and session frames (Ping) are refused. A numbered frame whose
   * write fails is not an error: the resume resends it.
   */
  private send(ch: Channel, f: Frame): void {
    const resuming = this.is("resuming");
    if (!resuming && (!this.conn || this.state !== "open")) throw new TickwireError(ConnectionLost, "not connected");
    const numbered = this.resumable && ch === Reliable && isNumbered(f.kind);
    if (resuming && !numbered) {
      if (ch === Unreliable) return;
      throw new TickwireError(ConnectionLost, "not connected (resuming the session)");
    }
    const b = encode(f);
    if (b.length > (this.welcome.maxFrame || 16384)) {
      throw new TickwireError(Code.FrameTooLarge, `${b.length} bytes, the server takes ${this.welcome.maxFrame}`);
    }
    if (numbered) this.numbering.keep(b);
    if (resuming || !this.conn) return;
    try {
      this.conn.send(ch, b);
    } catch (err) {
      if (!numbered) throw err;
      return;
    }
    this.stats.framesOut++;
  }

  /**
   * call sends a request and resolves with its reply (OK or a result
   * frame). onReply runs synchronously when the reply arrives, so that
   * state it sets up (a room) is there for the frames right behind it.
   */
  private call(f: Frame, onReply?: (f: Frame) => void): Promise<Frame> {
    this.nextRef = this.nextRef >= 0xffff_ffff ? 1 : this.nextRef + 1;
    const ref = this.nextRef;
    f.ref = ref;
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new TickwireError(Timeout, `no answer to ${f.kind} within ${this.o.requestTimeoutMs ?? 10000} ms`));
      }, this.o.requestTimeoutMs ?? 10000);
      this.pending.set(ref, { resolve, reject, timer, onReply });
      try {
        this.send(Reliable, f);
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(ref);
        reject(asTickwireError(err));
      }
    });
  }

  /** callOK performs a request answered with OK (CallHost). */
  async callOK(f: Frame): Promise<void> {
    await this.call(f);
  }

  // ---- receiving ----

  private onMessage(ch: Channel, b: Uint8Array): void {
    if (this.resumable && ch === Reliable && isNumbered(peekKind(b))) {
      // Counted as processed before it is handed on (as the Go SDK does):
      // a frame the app was handed is never replayed.
      this.countNumbered();
    }
    let f: Frame;
    try {
      f = decode(b);
    } catch {
      this.stats.badFrames++;
      return;
    }
    this.stats.framesIn++;
    switch (f.kind) {
      case Kind.Pong:
        return this.onPong(f.clientTimeUs as number, f.serverTimeUs as number);
      case Kind.Close: {
        // Close our end at once (PROTOCOL.md §3), after the session has
        // taken the server's code.
        // The session ended there: nothing to resume.
        const conn = this.conn;
        this.lost(f.code as number, f.reason as string, true);
        conn?.close(Code.OK, "closed by the server");
        return;
      }
      case Kind.Notice:
        this.emit("notice", { code: f.code as number, codeName: describeCode(f.code as number), text: f.text as string });
        return;
      case Kind.Error: {
        const err = new TickwireError(f.code as number, f.message as string);
        const p = f.ref ? this.pending.get(f.ref as number) : undefined;
        if (p) {
          this.settle(f.ref as number);
          p.reject(err);
        } else {
          this.emit("error", err);
        }
        return;
      }
      case Kind.RoomTick:
        return this.rooms.get(roomKey(f.roomId as bigint))?.onTick({ ...(f as unknown as RoomTick), unreliable: ch === Unreliable });
      case Kind.RoomData:
        this.rooms.get(roomKey(f.roomId as bigint))?.emit("data", { ...(f as unknown as RoomData), unreliable: ch === Unreliable });
        return;
      case Kind.RoomEvent:
        return this.rooms.get(roomKey(f.roomId as bigint))?.onEvent(f as unknown as RoomEvent);
      case Kind.VoiceEvent:
        this.rooms.get(roomKey(f.roomId as bigint))?.onVoice(f as unknown as VoiceEvent);
        return;
      case Kind.RoomClosed: {
        const key = roomKey(f.roomId as bigint);
        const r = this.rooms.get(key);
        this.rooms.delete(key);
        return r?.onClosed(f as unknown as RoomClosed);
      }
      case Kind.FriendUpdate:
        return this.emit("friend", f as unknown as FriendUpdate);
      case Kind.PresenceUpdate:
        return this.emit("presence", f as unknown as PresenceUpdate);
      case Kind.GroupUpdate:
        return this.emit("group", f as unknown as GroupUpdate);
      case Kind.Message:
        return this.onChat(f as unknown as ChatMessage);
      case Kind.SignalRecv:
        return this.callBook.signal(f);
      case Kind.CallUpdate:
        if (!f.ref) return void this.callBook.update(f);
        break; // the reply to invite()
    }
    const ref = typeof f.ref === "number" ? f.ref : 0;
    const p = ref ? this.pending.get(ref) : undefined;
    if (p) {
      this.settle(ref);
      try {
        p.onReply?.(f);
      } catch (err) {
        p.reject(asTickwireError(err, Code.BadFrame));
        return;
      }
      p.resolve(f);
    }
  }

  private settle(ref: number): void {
    const p = this.pending.get(ref);
    if (p) clearTimeout(p.timer);
    this.pending.delete(ref);
  }

  /** onChat delivers each message once, in id order, and acknowledges it (docs/PROTOCOL.md §5). */
  private onChat(m: ChatMessage): void {
    if (m.id <= this.lastMessageId) {
      // Delivered again (the ack was lost with a connection): acknowledge
      // it again, or the server holds the next backlog window for it.
      this.stats.duplicateMessages++;
      if (this.o.autoAck !== false) this.scheduleAck();
      return;
    }
    this.lastMessageId = m.id;
    this.emit("message", m);
    if (this.o.autoAck !== false) this.scheduleAck();
  }

  // ---- numbered frames and Ack (resume on) ----

  /** countNumbered counts one numbered frame and sends Ack by the protocol's rule (AckEvery frames, or AckDelayMs after the first uncovered one). */
  private countNumbered(): void {
    const now = Date.now();
    if (this.numbering.counted(now)) {
      this.sendAck();
      return;
    }
    const due = this.numbering.ackDueMs;
    if (this.resumeAckTimer === undefined && due !== undefined) {
      this.resumeAckTimer = setTimeout(() => {
        this.resumeAckTimer = undefined;
        if (this.numbering.received > this.numbering.acked) this.sendAck();
      }, Math.max(0, due - now));
    }
  }

  /** sendAck acknowledges every numbered frame processed (not while resuming: the Resume carries the count). */
  private sendAck(): void {
    clearTimeout(this.resumeAckTimer);
    this.resumeAckTimer = undefined;
    if (!this.conn || !this.is("open")) return;
    try {
      this.conn.send(Reliable, encode({ kind: Kind.Ack, received: this.numbering.received }));
    } catch {
      return; // the connection is going: the Resume carries the count
    }
    this.numbering.takeAck();
    this.stats.acks++;
    this.stats.framesOut++;
  }

  private scheduleAck(): void {
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      if (this.lastMessageId > 0 && this.lastMessageId >= this.ackedUpTo && this.state === "open") {
        try {
          this.ackMessages(this.lastMessageId);
        } catch {
          // delivered again after the reconnect, then acknowledged
        }
      }
    }, 20);
  }

  // ---- pings, RTT and clock ----

  /**
   * ping measures one round trip in ms. On WebRTC, { unreliable: true }
   * measures the unreliable channel (what game inputs take).
   */
  ping(opts: { unreliable?: boolean } = {}): Promise<number> {
    let t = nowUs();
    if (t <= this.lastPingUs) t = this.lastPingUs + 1;
    this.lastPingUs = t;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(t);
        reject(new TickwireError(Timeout, "no Pong in time"));
      }, this.o.requestTimeoutMs ?? 10000);
      this.pings.set(t, { sentUs: t, resolve, reject, timer });
      try {
        this.send(opts.unreliable ? Unreliable : Reliable, { kind: Kind.Ping, clientTimeUs: t });
      } catch (err) {
        clearTimeout(timer);
        this.pings.delete(t);
        reject(asTickwireError(err));
      }
    });
  }

  private onPong(clientUs: number, serverUs: number): void {
    const w = this.pings.get(clientUs);
    if (!w) return;
    this.pings.delete(clientUs);
    clearTimeout(w.timer);
    const rttMs = (nowUs() - clientUs) / 1000;
    this.sample(rttMs, (serverUs - (clientUs + (rttMs * 1000) / 2)) / 1000);
    w.resolve(rttMs);
    this.emit("rtt", { rttMs, offsetMs: this.clockOffsetMs });
  }

  private sample(rttMs: number, offsetMs: number): void {
    this.rtt = this.rtt === 0 ? rttMs : this.rtt + (rttMs - this.rtt) / 8;
    this.samples.push({ rttMs, offsetMs });
    if (this.samples.length > samplesKept) this.samples.shift();
    let best = this.samples[0]!;
    for (const s of this.samples) if (s.rttMs < best.rttMs) best = s;
    this.clockOffsetMs = best.offsetMs;
  }

  /** startPings pings every heartbeat interval (liveness and live RTT) and watches the idle timeout. */
  private startPings(): void {
    clearInterval(this.pingTimer);
    // Welcome's values, within sane bounds: a server's heartbeat_ms of 1
    // must not make the client ping a thousand times a second.
    const idle = Math.max(this.welcome.idleTimeoutMs || 10000, 1000);
    const every = Math.min(Math.max(this.welcome.heartbeatMs || 1000, 100), idle / 2);
    this.pingTimer = setInterval(() => {
      const conn = this.conn;
      if (!conn || this.state !== "open") return;
      if (Date.now() - conn.lastHeard > idle) {
        conn.close(Code.IdleTimeout, "nothing heard from the server");
        this.lost(Code.IdleTimeout, "nothing heard from the server");
        return;
      }
      this.ping({ unreliable: this.transport === "webrtc" }).catch(() => {});
    }, every);
  }

  // ---- losing and regaining the connection ----

  /**
   * failPending ends what belonged to the session that is gone (it is not
   * called while a resume may keep the session): pending requests, pings,
   * and calls (they were bound to the session's id).
   */
  private failPending(err: TickwireError): void {
    this.callBook.lost();
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(ref);
      p.reject(err);
    }
    for (const [t, w] of this.pings) {
      clearTimeout(w.timer);
      this.pings.delete(t);
      w.reject(err);
    }
  }

  private failPings(err: TickwireError): void {
    for (const [t, w] of this.pings) {
      clearTimeout(w.timer);
      this.pings.delete(t);
      w.reject(err);
    }
  }

  /**
   * lost handles the end of the session's connection. A session the
   * server keeps (resume on, and no Close frame from the server: that one
   * ended the session) is resumed: rooms stay, requests keep waiting, and
   * only the pings in flight fail. Otherwise pending requests fail and a
   * fresh session follows (or the client ends, for a code that must not
   * reconnect).
   */
  private lost(code: number, reason: string, serverClosed = false): void {
    if (this.state !== "open") return;
    this.conn = undefined;
    clearInterval(this.pingTimer);
    clearTimeout(this.resumeAckTimer);
    this.resumeAckTimer = undefined;
    const err = new TickwireError(code === Code.OK ? ConnectionLost : code, reason || "connection lost");
    const again = this.o.reconnect !== false && mayReconnect(code) && !(code === Code.TokenExpired && !this.o.getToken);
    const resuming = again && this.resumable && !serverClosed;
    if (resuming) this.failPings(err);
    else this.failPending(err);
    this.state = !again ? "closing" : resuming ? "resuming" : "reconnecting";
    this.emit("disconnected", { code, codeName: describeCode(code), reason, willReconnect: again, resuming });
    if (!again) {
      this.finish(code, reason);
      return;
    }
    if (resuming) void this.resumeLoop(Date.now());
    else void this.reconnectLoop();
  }

  /**
   * resumeLoop sends Resume over the transports in order, with backoff and
   * jitter between rounds, until the session continues, the server refuses
   * it (a fresh session follows), or the server's resume window has passed
   * since the loss.
   */
  private async resumeLoop(lostAtMs: number): Promise<void> {
    const ro = this.o.resume ?? {};
    const base = ro.backoffMs ?? DefaultResumeBackoffMs;
    const max = ro.maxBackoffMs ?? DefaultResumeMaxBackoffMs;
    const windowMs = this.welcome.resumeWindowMs;
    let last: TickwireError | undefined;
    for (let attempt = 1; this.is("resuming"); attempt++) {
      if (ro.maxAttempts !== undefined && attempt > ro.maxAttempts) {
        return this.resumeFailed(last?.code ?? ConnectionLost, `not resumed in ${ro.maxAttempts} attempts (${last?.message ?? ""})`);
      }
      const delayMs = resumeBackoffMs(attempt, base, max, Math.random());
      if (Date.now() + delayMs >= lostAtMs + windowMs) {
        return this.resumeFailed(Timeout, `not resumed within the server's resume window (${windowMs} ms)`);
      }
      this.emit("reconnecting", { attempt, delayMs, resume: true });
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (!this.is("resuming")) return;
      try {
        if (this.o.getToken) this.token = await this.o.getToken();
        if (!this.is("resuming")) return;
        const d = await this.dial({ sessionId: this.welcome.sessionId, resumeId: this.welcome.resumeId, received: this.numbering.received });
        if (!this.is("resuming")) {
          d.conn.close(Code.OK, "client closed");
          return;
        }
        return this.resumedOn(d, attempt, lostAtMs);
      } catch (err) {
        const e = asTickwireError(err);
        last = e;
        if (resumeRefusal(e.code)) return this.resumeFailed(e.code, e.message);
        if (fatal(e.code) && !(e.code === Code.TokenExpired && this.o.getToken)) return this.finish(e.code, e.message);
      }
    }
  }

  /** resumedOn continues the session on d: the client's unprocessed frames are resent, then the replay is handed on. */
  private resumedOn(d: Dialed, attempts: number, lostAtMs: number): void {
    const w = d.welcome;
    const resend = w.resumed && w.sessionId === this.welcome.sessionId ? this.numbering.toResend(w.received) : undefined;
    if (!resend) {
      // The server processed frames the client no longer has (or answered
      // with something else than this session): it cannot go on without a
      // gap. End it politely and start fresh.
      try {
        d.conn.send(Reliable, encode({ kind: Kind.Close, code: Code.OK, reason: "cannot resend" }));
      } catch {
        // closing anyway
      }
      d.conn.close(Code.OK, "cannot resend");
      const why = w.resumed
        ? `the server processed ${w.received} of the client's frames; frames after it are no longer kept (${this.numbering.sent} sent)`
        : "the server answered Resume with a fresh session";
      return this.resumeFailed(Code.ConnectionLost, why);
    }
    this.numbering.resumed();
    this.stats.resumes++;
    this.stats.replayed += w.replay;
    this.stats.resent += resend.length;
    const conn = d.conn;
    this.adopt(d, () => {
      for (const b of resend) {
        try {
          conn.send(Reliable, b);
        } catch {
          return; // lost again: its close follows, and another resume
        }
        this.stats.framesOut++;
      }
      this.emit("resumed", {
        transport: this.transport,
        sessionId: w.sessionId,
        replayed: w.replay,
        resent: resend.length,
        attempts,
        downMs: Date.now() - lostAtMs,
      });
    });
  }

  /** resumeFailed gives the resume up: pending requests fail with connection_lost (33) and a fresh session follows. */
  private resumeFailed(code: number, reason: string): void {
    if (!this.is("resuming")) return;
    this.stats.resumeFailures++;
    this.failPending(new TickwireError(Code.ConnectionLost, `the session was not resumed: ${reason}`));
    this.emit("resumeFailed", { code, codeName: describeCode(code), reason });
    if (!this.is("resuming")) return; // a handler closed the client
    this.state = "reconnecting";
    void this.reconnectLoop();
  }

  private finish(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.endCode = code;
    clearInterval(this.pingTimer);
    clearTimeout(this.ackTimer);
    clearTimeout(this.resumeAckTimer);
    this.closeCtl.abort();
    for (const r of this.rooms.values()) r.onClosed({ roomId: r.id, code, message: reason });
    this.rooms.clear();
    this.emit("closed", { code, codeName: describeCode(code), reason });
    this.end();
  }

  private async reconnectLoop(): Promise<void> {
    const min = this.o.reconnectMinMs ?? 250;
    const max = this.o.reconnectMaxMs ?? 5000;
    for (let attempt = 1; this.state === "reconnecting"; attempt++) {
      if (this.o.maxReconnectAttempts !== undefined && attempt > this.o.maxReconnectAttempts) {
        return this.finish(ConnectionLost, "gave up reconnecting");
      }
      const delayMs = Math.round(Math.min(max, min * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      this.emit("reconnecting", { attempt, delayMs, resume: false });
      await new Promise((r) => setTimeout(r, delayMs));
      if (this.state !== "reconnecting") return;
      try {
        if (this.o.getToken) this.token = await this.o.getToken();
        const d = await this.dial();
        if (this.state !== "reconnecting") {
          d.conn.close(Code.OK, "client closed");
          return;
        }
        this.stats.reconnects++;
        this.adopt(d);
        const conn = this.conn;
        const rooms = await this.rejoin();
        // Only if this connection is still the session's: it may have
        // dropped (a new reconnect runs) or the client closed meanwhile.
        if (this.is("open") && this.conn === conn) this.emit("reconnected", { transport: this.transport, rooms });
        return;
      } catch (err) {
        const e = asTickwireError(err);
        if (fatal(e.code) && !(e.code === Code.TokenExpired && this.o.getToken)) return this.finish(e.code, e.message);
      }
    }
  }

  /**
   * rejoin joins again every room the client was in before the connection
   * was lost, in a fresh session (a resumed session keeps its rooms). A
   * room that cannot be joined again is reported closed.
   */
  private async rejoin(): Promise<bigint[]> {
    const done: bigint[] = [];
    for (const [key, r] of [...this.rooms]) {
      try {
        const j = await this.call({ kind: Kind.RoomJoin, roomId: r.id }, (f) => r.reset(f as unknown as RoomJoined));
        r.emit("rejoined", j as unknown as RoomJoined);
        done.push(r.id);
      } catch (err) {
        if (this.state !== "open") return done;
        const e = asTickwireError(err);
        this.rooms.delete(key);
        r.onClosed({ roomId: r.id, code: e.code, message: e.message });
      }
    }
    return done;
  }

  /** close ends the session politely (the server ends it at once, no resume window) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    const conn = this.conn;
    if (conn && this.state === "open") {
      try {
        this.send(Reliable, { kind: Kind.Close, code: Code.OK, reason: "bye" });
      } catch {
        // closing anyway
      }
    }
    this.conn = undefined;
    this.failPending(new TickwireError(Code.OK, "client closed"));
    this.finish(Code.OK, "client closed");
    conn?.close(Code.OK, "client closed");
    const nodes = [...this.nodes.values()];
    this.nodes.clear();
    for (const n of nodes) {
      await n.then(
        (c) => c.close(),
        () => undefined, // never opened: nothing to close
      );
    }
  }

  // ---- rooms ----

  async listRooms(q: { type?: string; label?: string; limit?: number } = {}): Promise<RoomInfo[]> {
    const f = await this.call({ kind: Kind.RoomList, type: q.type ?? "", label: q.label ?? "", limit: q.limit ?? 0 });
    return f.rooms as RoomInfo[];
  }

  createRoom(o: RoomOptions = {}): Promise<Room> {
    return this.joined({
      kind: Kind.RoomCreate,
      type: o.type ?? "relay",
      label: o.label ?? "",
      capacity: o.capacity ?? 0,
      tickRate: o.tickRate ?? 0,
      private: o.private ?? false,
      emptyTimeoutMs: o.emptyTimeoutMs ?? 0,
      params: o.params ?? new Uint8Array(0),
    });
  }

  joinRoom(id: bigint): Promise<Room> {
    return this.joined({ kind: Kind.RoomJoin, roomId: id });
  }

  joinOrCreateRoom(o: RoomOptions = {}): Promise<Room> {
    return this.joined({
      kind: Kind.RoomJoinOrCreate,
      type: o.type ?? "relay",
      label: o.label ?? "",
      capacity: o.capacity ?? 0,
      tickRate: o.tickRate ?? 0,
      emptyTimeoutMs: o.emptyTimeoutMs ?? 0,
      params: o.params ?? new Uint8Array(0),
    });
  }

  private joined(req: Frame): Promise<Room> {
    return this.joinVia(this, req, req, 0);
  }

  /**
   * joinVia sends req to node (this client or one of its node sessions)
   * and follows the redirects that answer it, at most maxRedirects: each
   * to a session on the owner node (nodeSession), joining there with the
   * ticket. A join-or-create whose ticket join finds the room full or
   * gone (the directory was behind) matchmakes again on that node.
   */
  private async joinVia(node: Client, req: Frame, original: Frame, hops: number): Promise<Room> {
    let r: Room | undefined;
    let f: Frame;
    try {
      f = await node.call(req, (j) => {
        if (j.kind !== Kind.RoomJoined) return;
        r = new Room(node, j as unknown as RoomJoined);
        node.rooms.set(roomKey(r.id), r);
      });
    } catch (err) {
      const e = asTickwireError(err);
      if (req.kind === Kind.RoomJoinTicket && original.kind === Kind.RoomJoinOrCreate && (e.code === Code.RoomFull || e.code === Code.RoomNotFound)) {
        return this.joinVia(node, { ...original }, original, hops);
      }
      throw e;
    }
    if (f.kind !== Kind.RoomRedirect) return r!;
    const max = this.o.maxRedirects ?? DefaultMaxRedirects;
    if (hops >= max) {
      throw new TickwireError(Code.TooManyRedirects, `redirected ${hops + 1} times, last to node ${f.nodeId as string}`);
    }
    let next: Client;
    try {
      next = await this.nodeSession(f.url as string);
    } catch (err) {
      throw new TickwireError(Code.NodeGone, `node ${f.nodeId as string} (${f.url as string}) unreachable: ${asTickwireError(err).message}`);
    }
    return this.joinVia(next, { kind: Kind.RoomJoinTicket, roomId: f.roomId, ticket: f.ticket }, original, hops + 1);
  }

  /** nodeSession is this client's session on the node whose HTTP API is at url: an open one or a new one (same token and options). */
  private nodeSession(url: string): Promise<Client> {
    if (this.is("closed")) return Promise.reject(new TickwireError(Code.OK, "client closed"));
    checkBase(url);
    const have = this.nodes.get(url);
    if (have) {
      return have.then(
        (c) => (c.is("closed") ? this.openNode(url) : c),
        () => this.openNode(url),
      );
    }
    return this.openNode(url);
  }

  private openNode(url: string): Promise<Client> {
    // A node that died stays dead: give up after a few reconnects (the
    // session's end closes its rooms, with its code).
    const p = Client.connect({ ...this.o, url, token: this.token, maxReconnectAttempts: this.o.maxReconnectAttempts ?? NodeReconnectAttempts });
    this.nodes.set(url, p);
    p.catch(() => {
      if (this.nodes.get(url) === p) this.nodes.delete(url);
    });
    return p;
  }

  /** rooms the client is in. */
  get joinedRooms(): Room[] {
    return [...this.rooms.values()];
  }

  /** @internal RoomHost */
  sendInput(room: Room, seq: number, data: Uint8Array, reliable: boolean): void {
    this.send(reliable ? Reliable : Unreliable, { kind: Kind.RoomInput, ref: 0, roomId: room.id, seq, data });
  }

  /** setVoice sets my mute and deafen state in a voice room (VoiceSet; docs/VOICE.md). */
  setVoice(room: Room, muted: boolean, deafened: boolean): Promise<void> {
    return this.callOK({ kind: Kind.VoiceSet, roomId: room.id, muted, deafened });
  }

  /** @internal voice.ts: posts an audio offer for room to the SFU and returns the answer SDP. */
  async voiceOffer(room: Room, sdp: string, signal?: AbortSignal): Promise<string> {
    const path = `v1/rtc/voice?session=${this.sessionId}&room=${room.id}`;
    const res = await fetch(httpURL(this.url, path), {
      method: "POST",
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/sdp" },
      body: sdp,
      signal,
      cache: "no-store",
      credentials: "omit",
    });
    if (res.status !== 201) throw await http.readError(res);
    return res.text();
  }

  /** @internal RoomHost */
  async leaveRoom(room: Room): Promise<void> {
    await this.callOK({ kind: Kind.RoomLeave, roomId: room.id });
    this.rooms.delete(roomKey(room.id));
  }

  // ---- social: friends ----

  requestFriend(username: string): Promise<void> {
    return this.callOK({ kind: Kind.FriendRequest, username });
  }
  acceptFriend(userId: string): Promise<void> {
    return this.callOK({ kind: Kind.FriendAccept, userId });
  }
  declineFriend(userId: string): Promise<void> {
    return this.callOK({ kind: Kind.FriendDecline, userId });
  }
  removeFriend(userId: string): Promise<void> {
    return this.callOK({ kind: Kind.FriendRemove, userId });
  }
  blockUser(userId: string): Promise<void> {
    return this.callOK({ kind: Kind.FriendBlock, userId });
  }
  unblockUser(userId: string): Promise<void> {
    return this.callOK({ kind: Kind.FriendUnblock, userId });
  }

  /** friends lists friends, requests both ways and blocks (every page). */
  friends(): Promise<Friend[]> {
    return this.allPages<Friend, string>(
      "",
      (after) => ({ kind: Kind.FriendList, afterUserId: after }),
      "friends",
      (f) => f.userId,
    );
  }

  /**
   * allPages asks for a list page after page (each after the last entry of
   * the one before) until the server says there is no more.
   */
  private async allPages<T, C>(first: C, req: (after: C) => Frame, field: string, cursor: (entry: T) => C): Promise<T[]> {
    const out: T[] = [];
    let after = first;
    for (;;) {
      const f = await this.call(req(after));
      const page = f[field] as T[];
      out.push(...page);
      if (!f.more || page.length === 0) return out;
      const next = cursor(page[page.length - 1]!);
      // A server that does not move on, or lists without end, is refused.
      if (next === after || out.length > MaxListEntries) {
        throw new TickwireError(Code.BadFrame, `${field}: the list does not advance or exceeds ${MaxListEntries} entries`);
      }
      after = next;
    }
  }

  // ---- social: groups ----

  async createGroup(name: string, open: boolean): Promise<Group> {
    const f = await this.call({ kind: Kind.GroupCreate, name, open });
    return f.group as Group;
  }
  joinGroup(groupId: number): Promise<void> {
    return this.callOK({ kind: Kind.GroupJoin, groupId });
  }
  inviteToGroup(groupId: number, userId: string): Promise<void> {
    return this.callOK({ kind: Kind.GroupInvite, groupId, userId });
  }
  acceptGroupInvite(groupId: number): Promise<void> {
    return this.callOK({ kind: Kind.GroupAccept, groupId });
  }
  declineGroupInvite(groupId: number): Promise<void> {
    return this.callOK({ kind: Kind.GroupDecline, groupId });
  }
  leaveGroup(groupId: number): Promise<void> {
    return this.callOK({ kind: Kind.GroupLeave, groupId });
  }
  removeGroupMember(groupId: number, userId: string): Promise<void> {
    return this.callOK({ kind: Kind.GroupRemove, groupId, userId });
  }
  setGroupRole(groupId: number, userId: string, role: Role): Promise<void> {
    return this.callOK({ kind: Kind.GroupSetRole, groupId, userId, role });
  }
  async groupMembers(groupId: number, o: { after?: string; limit?: number } = {}): Promise<{ members: GroupMember[]; more: boolean }> {
    const f = await this.call({ kind: Kind.GroupMembers, groupId, afterUserId: o.after ?? "", limit: o.limit ?? 0 });
    return { members: f.members as GroupMember[], more: f.more as boolean };
  }
  /** groups lists my groups and my pending invitations (role "invited"), every page. */
  groups(): Promise<Group[]> {
    return this.allPages<Group, number>(
      0,
      (after) => ({ kind: Kind.GroupList, afterGroupId: after }),
      "groups",
      (g) => g.id,
    );
  }

  // ---- social: messages and presence ----

  /** sendDirect resolves once the message is stored (MessageSent). */
  async sendDirect(toUserId: string, body: string): Promise<MessageSent> {
    const f = await this.call({ kind: Kind.DirectSend, toUserId, body });
    return { id: f.id as number, timeUs: f.timeUs as number };
  }
  async sendGroup(groupId: number, body: string): Promise<MessageSent> {
    const f = await this.call({ kind: Kind.GroupSend, groupId, body });
    return { id: f.id as number, timeUs: f.timeUs as number };
  }
  /** ackMessages acknowledges every message with id ≤ upToId (no reply is asked for). */
  ackMessages(upToId: number): void {
    this.send(Reliable, { kind: Kind.MessageAck, ref: 0, upToId });
    this.ackedUpTo = Math.max(this.ackedUpTo, upToId);
  }
  async history(q: HistoryQuery): Promise<{ messages: ChatMessage[]; more: boolean }> {
    const f = await this.call({
      kind: Kind.History,
      groupId: q.groupId ?? 0,
      userId: q.userId ?? "",
      beforeId: q.beforeId ?? 0,
      limit: q.limit ?? 0,
    });
    return { messages: f.messages as ChatMessage[], more: f.more as boolean };
  }
  setPresence(presence: Exclude<Presence, "offline">, statusText = ""): Promise<void> {
    return this.callOK({ kind: Kind.SetPresence, presence, statusText });
  }

  // ---- signaling and calls (calls.ts, docs/VOICE.md) ----

  /** signal sends payload to a session sharing a call, a room or a friendship with this one. */
  signal(to: SignalTarget, payload: Uint8Array): Promise<void> {
    return this.callOK(signalFrame(to, payload));
  }
  /** invite rings a friend on every session; the Call follows its states. */
  async invite(userId: string): Promise<Call> {
    let call: Call | undefined;
    await this.call({ kind: Kind.CallInvite, toUserId: userId }, (f) => {
      call = this.callBook.update(f, false);
    });
    return call!;
  }
  /** calls lists the calls not yet ended that this client knows. */
  get calls(): Call[] {
    return this.callBook.all;
  }
}
