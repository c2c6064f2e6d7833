// Signaling and calls between friends (docs/VOICE.md, PROTOCOL.md §5
// kinds 108–113). A Call is one call as this session sees it: its state
// follows the server's CallUpdate pushes; accept, end and signal are its
// requests. The CallBook keeps the client's calls by id; it is the one
// place that creates, updates and forgets them. Media is the
// application's: signal() carries its SDP and ICE candidates.

import type { CallEndReasons, CallStates, Frame } from "./frames";
import { Kind } from "./frames";
import { Emitter } from "./events";
import { Code } from "./codes";
import { isCode } from "./errors";

export type CallState = Exclude<(typeof CallStates)[number], "">;
export type CallEndReason = (typeof CallEndReasons)[number];

/** A call's state as the server pushes it (CallUpdate). */
export interface CallUpdate {
  callId: number;
  state: CallState;
  reason: CallEndReason;
  callerId: string;
  callerName: string;
  calleeId: string;
  callerSession: number;
  calleeSession: number;
  byUserId: string;
  timeUs: number;
}

/** A signaling payload that arrived (SignalRecv), with who sent it. */
export interface SignalRecv {
  fromUserId: string;
  fromSession: number;
  /** the room it was addressed within (0n if none) */
  roomId: bigint;
  /** the call it belongs to (0 if none) */
  callId: number;
  payload: Uint8Array;
}

/**
 * Where a signal goes: callId (the other session of an active call), or
 * roomId with userId and/or session (a session sharing that room), or
 * userId with an optional session (a friend).
 */
export interface SignalTarget {
  userId?: string;
  session?: number;
  roomId?: bigint;
  callId?: number;
}

export interface CallEvents {
  /** the call's state changed (ringing → active → ended) */
  state: Call;
  /** a signaling payload for this call arrived */
  signal: SignalRecv;
}

/** The part of the client a call needs. */
export interface CallHost {
  readonly userId: string;
  readonly sessionId: number;
  callOK(f: Frame): Promise<void>;
}

/** signalFrame is the Signal request for target (ref 0: the caller sets it). */
export function signalFrame(to: SignalTarget, payload: Uint8Array): Frame {
  return {
    kind: Kind.Signal,
    ref: 0,
    toUserId: to.userId ?? "",
    toSession: to.session ?? 0,
    roomId: to.roomId ?? 0n,
    callId: to.callId ?? 0,
    payload,
  };
}

export class Call extends Emitter<CallEvents> {
  readonly id: number;
  readonly callerId: string;
  readonly callerName: string;
  readonly calleeId: string;
  readonly callerSession: number;
  state: CallState = "ringing";
  reason: CallEndReason = "none";
  /** the callee session that accepted (0 while ringing) */
  calleeSession = 0;
  /** who declined, cancelled or hung up ("" otherwise) */
  byUserId = "";

  constructor(
    private host: CallHost,
    u: CallUpdate,
  ) {
    super();
    this.id = u.callId;
    this.callerId = u.callerId;
    this.callerName = u.callerName;
    this.calleeId = u.calleeId;
    this.callerSession = u.callerSession;
    this.apply(u);
  }

  /** incoming: this user is the callee. */
  get incoming(): boolean {
    return this.calleeId === this.host.userId;
  }

  /** answeredElsewhere: another session of this (callee) user accepted; stop ringing. */
  get answeredElsewhere(): boolean {
    return this.state === "active" && this.incoming && this.calleeSession !== this.host.sessionId;
  }

  /** mine: this session is one of the call's two sessions (signals go between them). */
  get mine(): boolean {
    const s = this.host.sessionId;
    return s === this.callerSession || (this.state !== "ringing" && s === this.calleeSession);
  }

  /** accept answers a ringing call on this session (call_answered if another was first). */
  accept(): Promise<void> {
    return this.host.callOK({ kind: Kind.CallAccept, callId: this.id });
  }

  /**
   * hangUp ends the call: it declines a ringing incoming call, cancels a
   * ringing outgoing one, hangs up an active one. A call that already
   * ended (the other side hung up at the same moment) is not an error.
   */
  async hangUp(): Promise<void> {
    try {
      await this.host.callOK({ kind: Kind.CallEnd, callId: this.id });
    } catch (err) {
      if (!isCode(err, Code.CallNotFound)) throw err;
    }
  }

  /** decline is hangUp, named for a ringing incoming call. */
  decline(): Promise<void> {
    return this.hangUp();
  }

  /** signal sends payload to the other session of the active call. */
  signal(payload: Uint8Array): Promise<void> {
    return this.host.callOK(signalFrame({ callId: this.id }, payload));
  }

  /** apply takes a new state (CallBook calls it). */
  apply(u: CallUpdate): void {
    this.state = u.state;
    this.reason = u.reason;
    this.calleeSession = u.calleeSession;
    this.byUserId = u.byUserId;
    this.emit("state", this);
  }
}

/** CallBook owns the client's calls: created on their first state, forgotten once ended. */
export class CallBook {
  private calls = new Map<number, Call>();

  constructor(
    private host: CallHost,
    private onNew: (c: Call) => void,
    private onSignal: (s: SignalRecv) => void,
  ) {}

  get all(): Call[] {
    return [...this.calls.values()];
  }

  get(id: number): Call | undefined {
    return this.calls.get(id);
  }

  /**
   * update applies a CallUpdate: a new call is created (and, unless
   * announce is false, announced) — an ended one is forgotten.
   */
  update(f: Frame, announce = true): Call {
    const u = f as unknown as CallUpdate;
    let c = this.calls.get(u.callId);
    if (!c) {
      c = new Call(this.host, u);
      if (u.state !== "ended") this.calls.set(c.id, c);
      if (announce) this.onNew(c);
      return c;
    }
    if (u.state === "ended") this.calls.delete(c.id);
    c.apply(u);
    return c;
  }

  /** signal hands a SignalRecv to the client's listeners and to its call. */
  signal(f: Frame): void {
    const s = f as unknown as SignalRecv;
    this.onSignal(s);
    if (s.callId) this.calls.get(s.callId)?.emit("signal", s);
  }

  /** lost ends every call: the session that held them is gone. */
  lost(): void {
    const calls = this.all;
    this.calls.clear();
    for (const c of calls) {
      c.state = "ended";
      c.reason = "disconnected";
      c.emit("state", c);
    }
  }
}
