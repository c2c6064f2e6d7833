// The long-poll batch codec (docs/PROTOCOL.md §2.5 "Batch layout").

import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "../src/codes";
import { TickwireError } from "../src/errors";
import { checkAnswer, decodeBatch, encodeBatch, readCapped } from "../src/longpoll";

const maxMessage = 16384;

function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
}

// The worked example of PROTOCOL.md §2.5: ack 5, a reliable frame 92 04 01
// with seq 1, then a close record (code 101 room_full, reason "ok") with seq 2.
const example = bytes(`
  00 00 00 05
  00 00 00 01  00  00 00 00 03  92 04 01
  00 00 00 02  03  00 00 00 04  00 65 6f 6b
`);
const exampleRecords = [
  { seq: 1, type: 0, body: bytes("92 04 01") },
  { seq: 2, type: 3, body: bytes("00 65 6f 6b") },
];

function refused(fn: () => unknown, code: number, what: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TickwireError, `${what}: threw ${String(err)}, not a TickwireError`);
    assert.equal(err.code, code, `${what}: code ${err.code} (${err.message}), want ${code}`);
    return true;
  }, `${what}: accepted`);
}

test("encodeBatch writes the PROTOCOL.md §2.5 example byte for byte", () => {
  assert.deepEqual(encodeBatch(5, exampleRecords), example);
});

test("decodeBatch reads the PROTOCOL.md §2.5 example", () => {
  const { ack, records } = decodeBatch(example, maxMessage);
  assert.equal(ack, 5);
  assert.equal(records.length, 2);
  for (const [i, want] of exampleRecords.entries()) {
    assert.equal(records[i]!.seq, want.seq);
    assert.equal(records[i]!.type, want.type);
    assert.deepEqual([...records[i]!.body], [...want.body]);
  }
  const close = records[1]!.body;
  assert.equal((close[0]! << 8) | close[1]!, 101);
  assert.equal(new TextDecoder().decode(close.subarray(2)), "ok");
});

test("an ack-only batch and the largest numbers round-trip", () => {
  assert.deepEqual(encodeBatch(0, []), bytes("00 00 00 00"));
  assert.deepEqual(decodeBatch(bytes("ff ff ff fe"), maxMessage), { ack: 0xfffffffe, records: [] });
  const recs = [
    { seq: 0xfffffffd, type: 1, body: new Uint8Array(0) },
    { seq: 0xfffffffe, type: 0, body: new Uint8Array(maxMessage).fill(0xab) },
  ];
  const b = encodeBatch(0xfffffffe, recs);
  assert.equal(b.length, 4 + 9 + 9 + maxMessage);
  const back = decodeBatch(b, maxMessage);
  assert.equal(back.ack, 0xfffffffe);
  assert.deepEqual(
    back.records.map((r) => [r.seq, r.type, r.body.length]),
    [
      [0xfffffffd, 1, 0],
      [0xfffffffe, 0, maxMessage],
    ],
  );
});

test("decodeBatch reads a batch inside a larger buffer at an offset", () => {
  const big = new Uint8Array(example.length + 10);
  big.set(example, 7);
  const { ack, records } = decodeBatch(big.subarray(7, 7 + example.length), maxMessage);
  assert.equal(ack, 5);
  assert.deepEqual([...records[0]!.body], [0x92, 0x04, 0x01]);
});

test("truncated batches are refused with bad_frame", () => {
  refused(() => decodeBatch(new Uint8Array(0), maxMessage), Code.BadFrame, "empty body");
  refused(() => decodeBatch(bytes("00 00 05"), maxMessage), Code.BadFrame, "3-byte ack");
  // every cut inside the example's records: a record header or body cut short
  for (let n = 5; n < example.length; n++) {
    if (n === 16) continue; // 4 + 12: exactly the first record, a whole batch
    refused(() => decodeBatch(example.subarray(0, n), maxMessage), Code.BadFrame, `example cut to ${n} bytes`);
  }
  assert.equal(decodeBatch(example.subarray(0, 16), maxMessage).records.length, 1);
  refused(() => decodeBatch(bytes("00 00 00 00  00 00 00 01  00  00 00 00 03  92 04"), maxMessage), Code.BadFrame, "body one byte short");
});

test("a record length above the limit is refused before the body is looked for", () => {
  for (const len of [0xffffffff, 0x80000000, maxMessage + 1]) {
    const h = `00 00 00 00  00 00 00 01  00  ${len.toString(16).padStart(8, "0")}  92 04 01`;
    refused(() => decodeBatch(bytes(h), maxMessage), Code.FrameTooLarge, `length ${len}`);
  }
  // a close record carries at most a code and 123 bytes of reason
  refused(() => decodeBatch(bytes(`00 00 00 00  00 00 00 01  03  00 00 00 7e  00 00`), maxMessage), Code.FrameTooLarge, "close of 126");
  // at the limit it is only a matter of bytes present
  refused(
    () => decodeBatch(bytes(`00 00 00 00  00 00 00 01  00  ${maxMessage.toString(16).padStart(8, "0")}  92 04 01`), maxMessage),
    Code.BadFrame,
    `length ${maxMessage} with 3 bytes there`,
  );
});

test("seq 0, numbers that do not follow, a close without its code and too many records are refused", () => {
  refused(() => decodeBatch(bytes(`00 00 00 00  00 00 00 00  00  00 00 00 01  01`), maxMessage), Code.BadFrame, "seq 0");
  refused(
    () => decodeBatch(bytes(`00 00 00 00  00 00 00 01  00  00 00 00 01  01  00 00 00 03  00  00 00 00 01  01`), maxMessage),
    Code.BadFrame,
    "1 then 3",
  );
  refused(() => decodeBatch(bytes(`00 00 00 00  00 00 00 01  03  00 00 00 01  00`), maxMessage), Code.BadFrame, "close of 1 byte");
  const two = bytes(`00 00 00 00  00 00 00 01  00  00 00 00 00  00 00 00 02  00  00 00 00 00`);
  assert.equal(decodeBatch(two, maxMessage, 2).records.length, 2);
  refused(() => decodeBatch(two, maxMessage, 1), Code.FrameTooLarge, "2 records, limit 1");
});

test("readCapped refuses an answer above the limit without buffering it", async () => {
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(64 << 10));
    },
  });
  await assert.rejects(readCapped(new Response(endless), 1 << 20), (err: unknown) => {
    assert.ok(err instanceof TickwireError);
    assert.equal(err.code, Code.FrameTooLarge);
    return true;
  });
  assert.ok(pulled <= 20, `read ${pulled} chunks of 64 KiB for a 1 MiB limit`);
  assert.deepEqual(await readCapped(new Response(bytes("00 00 00 05") as BodyInit), 4), bytes("00 00 00 05"));
  await assert.rejects(readCapped(new Response(bytes("00 00 00 05 00") as BodyInit), 4));
});

test("checkAnswer takes defaults for absent limits, clamps large ones and refuses bad ones", () => {
  const a = checkAnswer({ id: "x", secret: "y" });
  assert.equal(a.max_batch_bytes, 256 << 10);
  assert.equal(a.max_unacked_frames, 1024);
  assert.equal(checkAnswer({ id: "x", secret: "y", max_batch_bytes: 1e12 }).max_batch_bytes, 16 << 20);
  for (const bad of [{}, { id: "x" }, { id: "x", secret: "y", max_message_size: -1 }, { id: "x", secret: "y", idle_timeout_ms: "10" }]) {
    assert.throws(() => checkAnswer(bad), (err: unknown) => err instanceof TickwireError && err.code === Code.BadFrame, JSON.stringify(bad));
  }
});
