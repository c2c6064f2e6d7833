// HTTP long-polling transport (docs/PROTOCOL.md §2.5): POST /v1/lp/open,
// then batches of numbered records both ways; each side acknowledges the
// other's numbers, and the client resends from its last acknowledged
// frame after a failed send, so nothing is lost or duplicated.

import { Code } from "./codes";
import { TickwireError } from "./errors";
import { readError, request } from "./http";
import { Channel, Conn, ConnectionLost, ConnHandlers, httpURL, Inbound, OpenOptions, Timeout, truncateUTF8 } from "./transport";

const recClose = 3;
/** the most a close record's body can be: code u16 and 123 bytes of reason */
const maxCloseBody = 2 + 123;

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

// What the SDK accepts of the open answer's limits (a server, or anything
// in its place, cannot make the client buffer without bound).
const answerLimits: Record<Exclude<keyof OpenAnswer, "id" | "secret">, [number, number, number]> = {
  // [least, most, when absent]
  max_wait_ms: [0, 60_000, 5_000],
  idle_timeout_ms: [1_000, 600_000, 10_000],
  max_message_size: [64, 1 << 20, 16_384],
  max_batch_frames: [1, 65_536, 256],
  max_batch_bytes: [1_024, 16 << 20, 256 << 10],
  max_unacked_frames: [1, 65_536, 1_024],
  max_unacked_bytes: [1_024, 64 << 20, 1 << 20],
};

/** checkAnswer validates the open answer: an id, a secret, and limits within bounds (absent ones take the documented defaults). */
export function checkAnswer(raw: unknown): OpenAnswer {
  const a = (raw ?? {}) as Record<string, unknown>;
  if (typeof a.id !== "string" || a.id === "" || typeof a.secret !== "string" || a.secret === "") {
    throw new TickwireError(Code.BadFrame, "long-poll open: no id or secret");
  }
  const out = { id: a.id, secret: a.secret } as OpenAnswer;
  for (const [k, [least, most, dflt]] of Object.entries(answerLimits)) {
    const v = a[k] ?? dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < least) {
      throw new TickwireError(Code.BadFrame, `long-poll open: ${k} = ${String(v)}`);
    }
    (out as unknown as Record<string, number>)[k] = Math.min(v, most);
  }
  return out;
}

interface Record_ {
  seq: number;
  type: number;
  body: Uint8Array;
}

/** encodeBatch writes a batch: ack, then records seq/type/length/body. */
export function encodeBatch(ack: number, recs: Record_[]): Uint8Array {
  let n = 4;
  for (const r of recs) n += 9 + r.body.length;
  const out = new Uint8Array(n);
  const v = new DataView(out.buffer);
  v.setUint32(0, ack);
  let o = 4;
  for (const r of recs) {
    v.setUint32(o, r.seq);
    v.setUint8(o + 4, r.type);
    v.setUint32(o + 5, r.body.length);
    out.set(r.body, o + 9);
    o += 9 + r.body.length;
  }
  return out;
}

/**
 * decodeBatch reads a batch, checking every length against the bytes left
 * and the limits: a record above maxMessage (a close record above 125
 * bytes) is frame_too_large, more than maxFrames records too; seq 0,
 * numbers that do not follow each other, and a close record shorter than
 * its code are bad_frame.
 */
export function decodeBatch(b: Uint8Array, maxMessage: number, maxFrames = 0xffff_ffff): { ack: number; records: Record_[] } {
  if (b.length < 4) throw new TickwireError(Code.BadFrame, "batch shorter than 4 bytes");
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ack = v.getUint32(0);
  const records: Record_[] = [];
  let o = 4;
  while (o < b.length) {
    if (records.length >= maxFrames) throw new TickwireError(Code.FrameTooLarge, `more than ${maxFrames} records`);
    if (b.length - o < 9) throw new TickwireError(Code.BadFrame, "truncated record header");
    const seq = v.getUint32(o);
    const type = v.getUint8(o + 4);
    const len = v.getUint32(o + 5);
    if (len > (type === recClose ? maxCloseBody : maxMessage)) throw new TickwireError(Code.FrameTooLarge, `record of ${len} bytes`);
    if (len > b.length - o - 9) throw new TickwireError(Code.BadFrame, "truncated record body");
    if (seq === 0) throw new TickwireError(Code.BadFrame, "record seq 0");
    const prev = records[records.length - 1];
    if (prev && seq !== prev.seq + 1) throw new TickwireError(Code.BadFrame, `record ${seq} after ${prev.seq}`);
    if (type === recClose && len < 2) throw new TickwireError(Code.BadFrame, "close record without a code");
    records.push({ seq, type, body: b.subarray(o + 9, o + 9 + len) });
    o += 9 + len;
  }
  return { ack, records };
}

/**
 * readCapped reads a response body, refusing (frame_too_large, the read
 * cancelled) one longer than limit bytes instead of buffering it.
 */
export async function readCapped(res: Response, limit: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const header = res.headers.get("Content-Length");
  const declared = header === null ? -1 : Number(header);
  if (declared > limit) {
    await res.body.cancel().catch(() => {});
    throw new TickwireError(Code.FrameTooLarge, `answer of ${declared} bytes, limit ${limit}`);
  }
  // A declared length within the limit bounds the body by itself (HTTP
  // framing): read it whole, the fast path.
  if (declared >= 0) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > limit) {
      await reader.cancel().catch(() => {});
      throw new TickwireError(Code.FrameTooLarge, `answer above ${limit} bytes`);
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** closeWaitMs bounds how long close waits for a send in flight, and its DELETE. */
const closeWaitMs = 1000;

class LPConn implements Conn {
  readonly transport = "longpoll" as const;
  lastHeard = Date.now();
  private in = new Inbound();
  private life = new AbortController(); // aborts every request when the connection ends
  private lastRecv = 0; // highest server seq delivered
  private nextSeq = 1; // our next frame number
  private unacked: Record_[] = []; // sent or queued, not yet acknowledged
  private unackedBytes = 0;
  private waitingSince = 0; // ms when the oldest unacknowledged frame began to wait (0 = none waits)
  /** unreliable frames dropped because the unacknowledged window was full */
  dropped = 0;
  private inflight: Promise<void> | undefined; // the one send in flight
  private failures = 0;
  private closing = false;
  private readonly fetch: typeof fetch;

  constructor(
    private base: string,
    private a: OpenAnswer,
    f: typeof fetch,
  ) {
    this.fetch = f;
    void this.recvLoop();
  }

  private url(path: string): URL {
    return httpURL(this.base, `v1/lp/${encodeURIComponent(this.a.id)}${path}`);
  }

  private headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.a.secret}` };
  }

  start(h: ConnHandlers): void {
    this.in.start(h);
  }

  /**
   * send queues a frame. The frames the server has not acknowledged are
   * bounded by the open answer's max_unacked_frames/bytes: past them an
   * unreliable frame is dropped (counted in dropped) and a reliable one
   * ends the connection with slow_consumer, as the server does.
   */
  send(ch: Channel, frame: Uint8Array): void {
    if (this.in.isClosed) throw new TickwireError(ConnectionLost, "long-poll session closed");
    if (frame.length > this.a.max_message_size) throw new TickwireError(Code.FrameTooLarge, `${frame.length} bytes`);
    if (this.unacked.length >= this.a.max_unacked_frames || this.unackedBytes + frame.length > this.a.max_unacked_bytes) {
      if (ch === 1) {
        this.dropped++;
        return;
      }
      this.fail(Code.SlowConsumer, "long-poll: the server acknowledges too slowly");
      throw new TickwireError(Code.SlowConsumer, "long-poll: too many frames wait for the server");
    }
    if (this.unacked.length === 0) this.waitingSince = Date.now();
    this.unacked.push({ seq: this.nextSeq++, type: ch, body: frame });
    this.unackedBytes += frame.length;
    this.pump();
  }

  /** acked forgets the frames the server has up to ack. */
  private acked(ack: number): void {
    const before = this.unacked.length;
    this.unacked = this.unacked.filter((r) => r.seq > ack);
    if (this.unacked.length === before) return;
    this.unackedBytes = this.unacked.reduce((n, r) => n + r.body.length, 0);
    this.waitingSince = this.unacked.length > 0 ? Date.now() : 0;
  }

  /** pump posts everything unacknowledged, one send in flight at a time. */
  private pump(): void {
    if (this.inflight || this.unacked.length === 0 || this.closing) return;
    // The next send starts as soon as this one has answered (after its
    // backoff, if it failed): frames queued meanwhile never wait for a
    // later send() to carry them.
    const p: Promise<void> = this.post(this.batchOf()).finally(() => {
      if (this.inflight === p) this.inflight = undefined;
      this.pump();
    });
    this.inflight = p;
  }

  /** batchOf takes the unacknowledged frames that fit in one batch. */
  private batchOf(): Record_[] {
    const batch: Record_[] = [];
    let bytes = 4;
    for (const r of this.unacked) {
      if (batch.length >= this.a.max_batch_frames || bytes + 9 + r.body.length > this.a.max_batch_bytes) break;
      batch.push(r);
      bytes += 9 + r.body.length;
    }
    return batch;
  }

  /**
   * postBatch sends one batch, acknowledging what we received. It is
   * bounded by the idle timeout (a send a proxy holds forever is given up
   * and retried) and by the connection's life.
   */
  private postBatch(batch: Record_[], keepalive = false): Promise<Response> {
    return this.fetch(this.url("/send"), {
      method: "POST",
      headers: { ...this.headers(), "Content-Type": "application/octet-stream" },
      body: encodeBatch(this.lastRecv, batch) as BodyInit,
      cache: "no-store",
      credentials: "omit",
      keepalive,
      signal: AbortSignal.any([this.life.signal, AbortSignal.timeout(this.a.idle_timeout_ms)]),
    });
  }

  /** readBatch reads and decodes an answer's batch within the open answer's limits. */
  private async readBatch(res: Response): Promise<{ ack: number; records: Record_[] }> {
    const b = await readCapped(res, this.a.max_batch_bytes);
    return decodeBatch(b, this.a.max_message_size, this.a.max_batch_frames);
  }

  private async post(batch: Record_[]): Promise<void> {
    try {
      const res = await this.postBatch(batch);
      if (!res.ok) {
        if (await this.refused(res)) await this.backoff();
        return;
      }
      const { ack } = await this.readBatch(res);
      this.lastHeard = Date.now();
      this.failures = 0;
      this.acked(ack);
    } catch (err) {
      if (err instanceof TickwireError) return this.ended(err.code, err.message);
      await this.backoff(); // then the same frames go again, from the last acknowledged
    }
  }

  private async recvLoop(): Promise<void> {
    const wait = Math.min(this.a.max_wait_ms, 5000);
    while (!this.in.isClosed) {
      let res: Response;
      try {
        const u = this.url("/recv");
        u.searchParams.set("ack", String(this.lastRecv));
        u.searchParams.set("wait", String(wait));
        res = await this.fetch(u, {
          headers: this.headers(),
          signal: this.life.signal,
          cache: "no-store",
          credentials: "omit",
        });
      } catch {
        if (this.in.isClosed) return;
        if (!(await this.backoff())) return;
        continue;
      }
      if (!res.ok) {
        if ((await this.refused(res)) && !(await this.backoff())) return;
        if (this.in.isClosed) return;
        continue;
      }
      let batch: { ack: number; records: Record_[] };
      try {
        batch = await this.readBatch(res);
      } catch (err) {
        if (this.in.isClosed) return;
        if (err instanceof TickwireError) return this.fail(err.code, err.message);
        if (!(await this.backoff())) return;
        continue;
      }
      this.lastHeard = Date.now();
      this.failures = 0;
      this.acked(batch.ack);
      for (const r of batch.records) {
        if (r.seq <= this.lastRecv) continue; // a repeat of an answer we had
        if (r.seq !== this.lastRecv + 1) return this.fail(Code.BadRequest, `gap before record ${r.seq}`);
        this.lastRecv = r.seq;
        if (r.type === recClose) {
          const v = new DataView(r.body.buffer, r.body.byteOffset, r.body.byteLength);
          return this.ended(v.getUint16(0), new TextDecoder().decode(r.body.subarray(2)));
        }
        if (r.type !== 0 && r.type !== 1) return this.fail(Code.BadFrame, `record type ${r.type}`);
        this.in.message(r.type, r.body);
        if (this.in.isClosed) return;
      }
    }
  }

  /**
   * refused handles a non-2xx answer: true for 503 server_busy (retry after
   * a backoff); otherwise the session has ended (410 carries its close code,
   * 404 means it is gone).
   */
  private async refused(res: Response): Promise<boolean> {
    const err = await readError(res);
    if (res.status === 503 && err.code === Code.ServerBusy) return true;
    if (res.status === 404) this.ended(ConnectionLost, "long-poll session not found");
    else this.ended(err.code, err.message);
    return false;
  }

  /**
   * backoff waits before a retry; false once nothing was heard for the
   * idle timeout, or once frames have waited that long for the server's
   * acknowledgement (sends stuck while receives still answer).
   */
  private async backoff(): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastHeard > this.a.idle_timeout_ms) {
      this.ended(Timeout, "long-poll: no answer within the idle timeout");
      return false;
    }
    if (this.waitingSince > 0 && now - this.waitingSince > this.a.idle_timeout_ms) {
      this.ended(Timeout, "long-poll: sends unacknowledged for the idle timeout");
      return false;
    }
    this.failures++;
    await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** this.failures, 1000)));
    return !this.in.isClosed;
  }

  /**
   * close ends the session with a close record after the frames still
   * unacknowledged (so a Close frame sent just before arrives first), once
   * the send in flight has answered: two sends at once could overlap. If
   * that send fails, DELETE carries the code instead.
   */
  close(code = 0, reason = ""): void {
    if (this.closing) return;
    this.closing = true;
    this.in.shut();
    const text = new TextEncoder().encode(truncateUTF8(reason, 123));
    const body = new Uint8Array(2 + text.length);
    new DataView(body.buffer).setUint16(0, Math.max(0, Math.min(code, 0xffff)));
    body.set(text, 2);
    this.unacked.push({ seq: this.nextSeq++, type: recClose, body });
    void (async () => {
      // The send in flight answers first, but a stuck one is not waited for.
      const settled = await Promise.race([
        (this.inflight ?? Promise.resolve()).then(
          () => true,
          () => true,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(false), closeWaitMs)),
      ]);
      const batch = this.batchOf();
      let sent = false;
      if (settled && batch[batch.length - 1]?.type === recClose) {
        try {
          const res = await this.postBatch(batch, true);
          await res.arrayBuffer();
          sent = res.ok;
        } catch {
          // DELETE below
        }
      }
      this.life.abort();
      if (sent) return;
      const u = this.url("");
      u.searchParams.set("code", String(Math.max(0, code)));
      u.searchParams.set("reason", truncateUTF8(reason, 123));
      // The body is read (empty) so that the request completes rather than
      // showing as cancelled.
      await this.fetch(u, {
        method: "DELETE",
        headers: this.headers(),
        credentials: "omit",
        keepalive: true,
        signal: AbortSignal.timeout(closeWaitMs),
      })
        .then((res) => res.arrayBuffer())
        .catch(() => {});
    })();
  }

  /** fail reports a protocol error to the session and closes the server's side with its code. */
  private fail(code: number, reason: string): void {
    this.in.close(code, reason);
    this.close(code, reason);
  }

  private ended(code: number, reason: string): void {
    this.closing = true;
    this.in.close(code, reason);
    this.life.abort();
  }
}

/** openLongPoll opens a long-poll session. */
export async function openLongPoll(o: OpenOptions): Promise<Conn> {
  const f = o.fetch ?? globalThis.fetch.bind(globalThis);
  const a = checkAnswer(await request<unknown>(o.url, "POST", "v1/lp/open", { token: o.token, fetch: f, signal: o.signal }));
  return new LPConn(o.url, a, f);
}
