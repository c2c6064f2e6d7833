import { Conn, OpenOptions } from "./transport";
interface OpenAnswer {
    id: string;
    secret: string;
    max_wait_ms: number;
    idle_timeout_ms: number;
    max_message_size: number;
    max_batch_frames: number;
    max_batch_bytes: number;
    max_unacked_frames: number;
    max_unacked_bytes: number;
}
/** checkAnswer validates the open answer: an id, a secret, and limits within bounds (absent ones take the documented defaults). */
export declare function checkAnswer(raw: unknown): OpenAnswer;
interface Record_ {
    seq: number;
    type: number;
    body: Uint8Array;
}
/** encodeBatch writes a batch: ack, then records seq/type/length/body. */
export declare function encodeBatch(ack: number, recs: Record_[]): Uint8Array;
/**
 * decodeBatch reads a batch, checking every length against the bytes left
 * and the limits: a record above maxMessage (a close record above 125
 * bytes) is frame_too_large, more than maxFrames records too; seq 0,
 * numbers that do not follow each other, and a close record shorter than
 * its code are bad_frame.
 */
export declare function decodeBatch(b: Uint8Array, maxMessage: number, maxFrames?: number): {
    ack: number;
    records: Record_[];
};
/**
 * readCapped reads a response body, refusing (frame_too_large, the read
 * cancelled) one longer than limit bytes instead of buffering it.
 */
export declare function readCapped(res: Response, limit: number): Promise<Uint8Array>;
/** openLongPoll opens a long-poll session. */
export declare function openLongPoll(o: OpenOptions): Promise<Conn>;
export {};
