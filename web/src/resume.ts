// Session resume, the client's bookkeeping (docs/PROTOCOL.md "Session
// resume", docs/WEB.md "Session resume"): which frames are numbered, the
// count of numbered frames processed and when to acknowledge it, the
// client's own latest numbered frames kept for a resend, and the resume
// backoff. No I/O and no clock: the session layer (client.ts) passes the
// time in and does the sending.

import { Code } from "./codes";
import { Kind } from "./frames";

/** ResendFrames is how many of its latest numbered frames the client keeps to resend after a resume (the Go SDK keeps as many). */
export const ResendFrames = 256;
/** AckEvery: an Ack goes out once this many numbered frames arrived since the last one. */
export const AckEvery = 32;
/** AckDelayMs: or this long after the first numbered frame the last Ack did not cover. */
export const AckDelayMs = 200;

/** Resume backoff defaults, as in the Go SDK (client.DefaultResumeBackoff, DefaultResumeMaxBackoff). */
export const DefaultResumeBackoffMs = 100;
export const DefaultResumeMaxBackoffMs = 2000;

/**
 * isNumbered reports whether a frame of this kind, on the reliable
 * channel after Welcome, is numbered: Error, OK and every kind from 16 on
 * (rooms, social, later services). Both directions use the same rule.
 */
export function isNumbered(kind: number): boolean {
  return kind === Kind.Error || kind === Kind.OK || kind >= 16;
}

/**
 * peekKind reads a frame's kind without decoding the rest (-1 if the
 * bytes do not start like a frame). A numbered frame counts even when its
 * body fails to decode: the server numbered it, and a count that skipped
 * it would make a resume replay from the wrong place.
 */
export function peekKind(b: Uint8Array): number {
  let i: number;
  const h = b[0];
  if (h === undefined) return -1;
  if (h >= 0x90 && h <= 0x9f) i = 1;
  else if (h === 0xdc) i = 3;
  else if (h === 0xdd) i = 5;
  else return -1;
  const k = b[i];
  if (k === undefined) return -1;
  if (k <= 0x7f) return k;
  const n = { 0xcc: 1, 0xcd: 2, 0xce: 4 }[k];
  if (n === undefined || b.length < i + 1 + n) return -1;
  let v = 0;
  for (let j = 1; j <= n; j++) v = v * 256 + b[i + j]!;
  return v;
}

/**
 * resumeRefusal reports whether a code answering a Resume says that this
 * session cannot be resumed (on any transport): the client starts a fresh
 * session instead. protocol_version is fatal on its own (dial.fatal).
 */
export function resumeRefusal(code: number): boolean {
  switch (code) {
    case Code.ResumeUnknown:
    case Code.ResumeBadSecret:
    case Code.ResumeOverflow:
    case Code.Unsupported:
    case Code.BadRequest:
      return true;
  }
  return false;
}

/**
 * resumeBackoffMs is the wait before resume attempt n (1-based): none
 * before the first, then base doubled per attempt up to max, plus up to
 * 50 % jitter (random in [0, 1)), as the Go SDK waits.
 */
export function resumeBackoffMs(attempt: number, baseMs: number, maxMs: number, random: number): number {
  if (attempt <= 1) return 0;
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 2, 30));
  return Math.round(d * (1 + random / 2));
}

/**
 * Numbering is one session's count of numbered frames, both ways. It
 * lives as long as the session (over every connection of it) and is
 * started afresh with a fresh session.
 */
export class Numbering {
  /** numbered frames received and processed (what Ack and Resume carry) */
  received = 0;
  /** the value of the last Ack sent (or of the Resume: the server knows it) */
  acked = 0;
  /** numbered frames sent: the last one's number */
  sent = 0;
  /** when the first numbered frame the last Ack did not cover was counted (-1: none) */
  private firstUnackedMs = -1;
  /** the latest numbered frames sent, by (number − 1) % ResendFrames */
  private out: Array<Uint8Array | undefined> = new Array(ResendFrames);

  /** counted records one numbered frame processed at nowMs; true when an Ack is due at once. */
  counted(nowMs: number): boolean {
    this.received++;
    if (this.firstUnackedMs < 0) this.firstUnackedMs = nowMs;
    return this.received - this.acked >= AckEvery;
  }

  /** ackDueMs is when an Ack falls due by time (undefined while everything is acknowledged). */
  get ackDueMs(): number | undefined {
    return this.received > this.acked && this.firstUnackedMs >= 0 ? this.firstUnackedMs + AckDelayMs : undefined;
  }

  /** takeAck returns the count for an Ack being sent, and marks it acknowledged. */
  takeAck(): number {
    this.acked = this.received;
    this.firstUnackedMs = -1;
    return this.received;
  }

  /** resumed notes that a Resume told the server the count (it needs no Ack for it). */
  resumed(): void {
    this.takeAck();
  }

  /** keep numbers a frame the client sends and keeps it for a resend. */
  keep(b: Uint8Array): number {
    this.sent++;
    this.out[(this.sent - 1) % ResendFrames] = b;
    return this.sent;
  }

  /**
   * toResend returns, in order, the frames after the server's count
   * (resumed Welcome's received), or undefined when one of them is no
   * longer kept (or the count is above what was sent): the session cannot
   * go on without a gap.
   */
  toResend(serverReceived: number): Uint8Array[] | undefined {
    if (serverReceived > this.sent || this.sent - serverReceived > ResendFrames) return undefined;
    const frames: Uint8Array[] = [];
    for (let n = serverReceived + 1; n <= this.sent; n++) {
      const b = this.out[(n - 1) % ResendFrames];
      if (!b) return undefined;
      frames.push(b);
    }
    return frames;
  }
}
