import { Conn, OpenOptions } from "./transport";
interface Record_ {
    seq: number;
    type: number;
    body: Uint8Array;
}
/** encodeBatch writes a batch: ack, then records seq/type/length/body. */
export declare function encodeBatch(ack: number, recs: Record_[]): Uint8Array;
/** decodeBatch reads a batch, checking every length against the bytes left and maxMessage. */
export declare function decodeBatch(b: Uint8Array, maxMessage: number): {
    ack: number;
    records: Record_[];
};
/** openLongPoll opens a long-poll session. */
export declare function openLongPoll(o: OpenOptions): Promise<Conn>;
export {};
