import type { CallEndReasons, CallStates, Frame } from "./frames";
import { Emitter } from "./events";
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
export declare function signalFrame(to: SignalTarget, payload: Uint8Array): Frame;
export declare class Call extends Emitter<CallEvents> {
    private host;
    readonly id: number;
    readonly callerId: string;
    readonly callerName: string;
    readonly calleeId: string;
    readonly callerSession: number;
    state: CallState;
    reason: CallEndReason;
    /** the callee session that accepted (0 while ringing) */
    calleeSession: number;
    /** who declined, cancelled or hung up ("" otherwise) */
    byUserId: string;
    constructor(host: CallHost, u: CallUpdate);
    /** incoming: this user is the callee. */
    get incoming(): boolean;
    /** answeredElsewhere: another session of this (callee) user accepted; stop ringing. */
    get answeredElsewhere(): boolean;
    /** mine: this session is one of the call's two sessions (signals go between them). */
    get mine(): boolean;
    /** accept answers a ringing call on this session (call_answered if another was first). */
    accept(): Promise<void>;
    /**
     * hangUp ends the call: it declines a ringing incoming call, cancels a
     * ringing outgoing one, hangs up an active one. A call that already
     * ended (the other side hung up at the same moment) is not an error.
     */
    hangUp(): Promise<void>;
    /** decline is hangUp, named for a ringing incoming call. */
    decline(): Promise<void>;
    /** signal sends payload to the other session of the active call. */
    signal(payload: Uint8Array): Promise<void>;
    /** apply takes a new state (CallBook calls it). */
    apply(u: CallUpdate): void;
}
/** CallBook owns the client's calls: created on their first state, forgotten once ended. */
export declare class CallBook {
    private host;
    private onNew;
    private onSignal;
    private calls;
    constructor(host: CallHost, onNew: (c: Call) => void, onSignal: (s: SignalRecv) => void);
    get all(): Call[];
    get(id: number): Call | undefined;
    /**
     * update applies a CallUpdate: a new call is created (and, unless
     * announce is false, announced) — an ended one is forgotten.
     */
    update(f: Frame, announce?: boolean): Call;
    /** signal hands a SignalRecv to the client's listeners and to its call. */
    signal(f: Frame): void;
    /** lost ends every call: the session that held them is gone. */
    lost(): void;
}
