// Session resume's bookkeeping without I/O (src/resume.ts) and its frames
// against the Go encoder's golden bytes: which frames are numbered, the
// Ack cadence, the resend buffer and the backoff bounds.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Code } from "../src/codes";
import { decode, encode, Kind } from "../src/frames";
import {
  AckDelayMs,
  AckEvery,
  isNumbered,
  Numbering,
  peekKind,
  ResendFrames,
  resumeBackoffMs,
  resumeRefusal,
} from "../src/resume";

interface Golden {
  name: string;
  kind: number;
  hex: string;
}

const golden: Golden[] = JSON.parse(readFileSync(new URL("../test/golden/frames.json", import.meta.url), "utf8"));

function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, "hex"));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

function goldenOf(name: string): Golden {
  const g = golden.find((x) => x.name === name);
  assert.ok(g, `no golden ${name}`);
  return g;
}

test("golden Welcome: the resume fields by name", () => {
  const w = decode(bytes(goldenOf("Welcome").hex));
  assert.equal(w.resumeId, "q0Nf3x-7PZ2d9hKp1LwYc8eTnR4uVbGmA6sJiOzE5Qk");
  assert.equal(w.resumeWindowMs, 30000);
  assert.equal(w.resumed, true);
  assert.equal(w.received, Number.MAX_SAFE_INTEGER);
  assert.equal(w.replay, 4_000_000_000);
  assert.equal(w.sessionId, 4294967297);
});

test("golden Resume and Ack: what the SDK sends is the Go encoder's bytes", () => {
  const resume = encode({
    kind: Kind.Resume,
    version: 1,
    sessionId: 4294967297,
    resumeId: "q0Nf3x-7PZ2d9hKp1LwYc8eTnR4uVbGmA6sJiOzE5Qk",
    received: Number.MAX_SAFE_INTEGER,
    clientName: "tickwire-js Zoë 🎮",
    clientVersion: "0.1.0",
  });
  assert.equal(hex(resume), goldenOf("Resume").hex);
  assert.equal(hex(encode({ kind: Kind.Ack, received: 4294967299 })), goldenOf("Ack").hex);
});

test("numbered frames: Error, OK and every kind from 16; never the session kinds", () => {
  const numbered = [Kind.Error, Kind.OK, Kind.RoomJoined, Kind.RoomTick, Kind.RoomEvent, Kind.Message, Kind.MessageAck, Kind.FriendList, 200];
  const not = [Kind.Hello, Kind.Welcome, Kind.Ping, Kind.Pong, Kind.Close, Kind.Echo, Kind.Resume, Kind.Ack, 11, 15, -1];
  for (const k of numbered) assert.equal(isNumbered(k), true, `kind ${k}`);
  for (const k of not) assert.equal(isNumbered(k), false, `kind ${k}`);
});

test("peekKind reads every golden frame's kind, and -1 for what is not a frame", () => {
  for (const g of golden) assert.equal(peekKind(bytes(g.hex)), g.kind, g.name);
  assert.equal(peekKind(bytes("dc0001cc82")), 130, "array16 and a uint8 kind");
  assert.equal(peekKind(bytes("dd00000001cd0102")), 258, "array32 and a uint16 kind");
  for (const h of ["", "90", "a1 41", "c0", "91", "91cd01", "91d0ff", "91a141"]) assert.equal(peekKind(bytes(h.replace(/ /g, ""))), -1, h);
});

test("Ack cadence: at once after AckEvery frames, else AckDelayMs after the first uncovered one", () => {
  const n = new Numbering();
  assert.equal(n.ackDueMs, undefined, "nothing to acknowledge");
  for (let i = 1; i < AckEvery; i++) assert.equal(n.counted(1000 + i), false, `frame ${i}`);
  assert.equal(n.ackDueMs, 1001 + AckDelayMs, "due AckDelayMs after the first frame");
  assert.equal(n.counted(1100), true, "the 32nd frame makes an Ack due at once");
  assert.equal(n.takeAck(), AckEvery);
  assert.equal(n.ackDueMs, undefined);

  assert.equal(n.counted(5000), false);
  assert.equal(n.counted(5150), false);
  assert.equal(n.ackDueMs, 5000 + AckDelayMs, "timed from the first frame, not the last");
  assert.equal(n.takeAck(), AckEvery + 2);
  assert.equal(n.received - n.acked, 0);

  // a Resume carries the count: nothing left to acknowledge after it
  n.counted(6000);
  n.resumed();
  assert.equal(n.ackDueMs, undefined);
  assert.equal(n.acked, AckEvery + 3);
});

test("the resend buffer: the frames after the server's count, in order; a gap is refused", () => {
  const n = new Numbering();
  const frame = (i: number) => encode({ kind: Kind.RoomInput, ref: 0, roomId: 1n, seq: i, data: new Uint8Array(0) });
  for (let i = 1; i <= 10; i++) assert.equal(n.keep(frame(i)), i);
  assert.deepEqual(n.toResend(10), []);
  const again = n.toResend(7)!;
  assert.deepEqual(
    again.map((b) => decode(b).seq),
    [8, 9, 10],
  );
  assert.equal(n.toResend(11), undefined, "a count above what was sent");

  for (let i = 11; i <= ResendFrames + 20; i++) n.keep(frame(i));
  assert.equal(n.sent, ResendFrames + 20);
  assert.equal(n.toResend(19), undefined, `frame 20 was overwritten (only the latest ${ResendFrames} are kept)`);
  const all = n.toResend(20)!;
  assert.equal(all.length, ResendFrames);
  assert.equal(decode(all[0]!).seq, 21);
  assert.equal(decode(all[ResendFrames - 1]!).seq, ResendFrames + 20);
});

test("resume backoff: none before the first attempt, doubling to the cap, jitter up to 50 %", () => {
  assert.equal(resumeBackoffMs(1, 100, 2000, 0.99), 0);
  for (let attempt = 2; attempt <= 40; attempt++) {
    const floor = Math.min(2000, 100 * 2 ** (attempt - 2));
    const lo = resumeBackoffMs(attempt, 100, 2000, 0);
    const hi = resumeBackoffMs(attempt, 100, 2000, 0.999999);
    assert.equal(lo, floor, `attempt ${attempt} without jitter`);
    assert.ok(hi <= Math.round(floor * 1.5) && hi > floor, `attempt ${attempt}: ${hi} within (${floor}, ${floor * 1.5}]`);
  }
  assert.equal(resumeBackoffMs(3, 100, 2000, 0), 200);
  assert.equal(resumeBackoffMs(60, 100, 2000, 0.5), 2500, "the cap holds for any attempt");
});

test("codes that end a resume for good (a fresh session follows) and those that do not", () => {
  for (const c of [Code.ResumeUnknown, Code.ResumeBadSecret, Code.ResumeOverflow, Code.Unsupported, Code.BadRequest]) assert.ok(resumeRefusal(c), `${c}`);
  for (const c of [Code.OK, Code.ServerShutdown, Code.TooManySessions, Code.ServerBusy, Code.ConnectionLost, -1, -2]) assert.ok(!resumeRefusal(c), `${c}`);
});

test("peekKind on random bytes never throws and agrees with decode wherever decode succeeds", () => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const prefixes = [[], [0x92], [0x93, 0x15], [0x96, 0x18, 0x00], [0xdc, 0x00, 0x02], [0x92, 0xcc]];
  let agreed = 0;
  for (let i = 0; i < 20000; i++) {
    const p = prefixes[i % prefixes.length]!;
    const b = new Uint8Array(p.length + Math.floor(rnd() * 12));
    b.set(p);
    for (let j = p.length; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
    const k = peekKind(b);
    assert.ok(Number.isInteger(k) && k >= -1, `peekKind ${k}`);
    let kind: number | undefined;
    try {
      kind = decode(b).kind;
    } catch {
      continue;
    }
    assert.equal(k, kind, `bytes ${hex(b)}`);
    agreed++;
  }
  assert.ok(agreed > 0, "some random frames decoded");
});
