/** ResendFrames is how many of its latest numbered frames the client keeps to resend after a resume (the Go SDK keeps as many). */
export declare const ResendFrames = 256;
/** AckEvery: an Ack goes out once this many numbered frames arrived since the last one. */
export declare const AckEvery = 32;
/** AckDelayMs: or this long after the first numbered frame the last Ack did not cover. */
export declare const AckDelayMs = 200;
/** Resume backoff defaults, as in the Go SDK (client.DefaultResumeBackoff, DefaultResumeMaxBackoff). */
export declare const DefaultResumeBackoffMs = 100;
export declare const DefaultResumeMaxBackoffMs = 2000;
/**
 * isNumbered reports whether a frame of this kind, on the reliable
 * channel after Welcome, is numbered: Error, OK and every kind from 16 on
 * (rooms, social, later services). Both directions use the same rule.
 */
export declare function isNumbered(kind: number): boolean;
/**
 * peekKind reads a frame's kind without decoding the rest (-1 if the
 * bytes do not start like a frame). A numbered frame counts even when its
 * body fails to decode: the server numbered it, and a count that skipped
 * it would make a resume replay from the wrong place.
 */
export declare function peekKind(b: Uint8Array): number;
/**
 * resumeRefusal reports whether a code answering a Resume says that this
 * session cannot be resumed (on any transport): the client starts a fresh
 * session instead. protocol_version is fatal on its own (dial.fatal).
 */
export declare function resumeRefusal(code: number): boolean;
/**
 * resumeBackoffMs is the wait before resume attempt n (1-based): none
 * before the first, then base doubled per attempt up to max, plus up to
 * 50 % jitter (random in [0, 1)), as the Go SDK waits.
 */
export declare function resumeBackoffMs(attempt: number, baseMs: number, maxMs: number, random: number): number;
/**
 * Numbering is one session's count of numbered frames, both ways. It
 * lives as long as the session (over every connection of it) and is
 * started afresh with a fresh session.
 */
export declare class Numbering {
    /** numbered frames received and processed (what Ack and Resume carry) */
    received: number;
    /** the value of the last Ack sent (or of the Resume: the server knows it) */
    acked: number;
    /** numbered frames sent: the last one's number */
    sent: number;
    /** when the first numbered frame the last Ack did not cover was counted (-1: none) */
    private firstUnackedMs;
    /** the latest numbered frames sent, by (number − 1) % ResendFrames */
    private out;
    /** counted records one numbered frame processed at nowMs; true when an Ack is due at once. */
    counted(nowMs: number): boolean;
    /** ackDueMs is when an Ack falls due by time (undefined while everything is acknowledged). */
    get ackDueMs(): number | undefined;
    /** takeAck returns the count for an Ack being sent, and marks it acknowledged. */
    takeAck(): number;
    /** resumed notes that a Resume told the server the count (it needs no Ack for it). */
    resumed(): void;
    /** keep numbers a frame the client sends and keeps it for a resend. */
    keep(b: Uint8Array): number;
    /**
     * toResend returns, in order, the frames after the server's count
     * (resumed Welcome's received), or undefined when one of them is no
     * longer kept (or the count is above what was sent): the session cannot
     * go on without a gap.
     */
    toResend(serverReceived: number): Uint8Array[] | undefined;
}
