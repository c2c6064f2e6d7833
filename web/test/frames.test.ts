// The frame codec against the Go reference encoder's golden frames
// (test/golden/frames.json, written by `go test ./web -run Golden -update`),
// and its refusals of malformed input.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Code } from "../src/codes";
import { TickwireError } from "../src/errors";
import { decode, encode, Frame, Kind, MaxMessage, wireFields } from "../src/frames";

interface Golden {
  name: string;
  example?: string;
  kind: number;
  hex: string;
  fields: unknown[];
}

// esbuild bundles this file into .test-build/; the golden file stays in test/.
const goldenURL = new URL("../test/golden/frames.json", import.meta.url);
const golden: Golden[] = JSON.parse(readFileSync(goldenURL, "utf8"));

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
}

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/** normalise turns wireFields' values into the golden file's JSON forms. */
function normalise(v: unknown): unknown {
  if (typeof v === "bigint") return v > maxSafe || v < -maxSafe ? { int: v.toString() } : Number(v);
  if (typeof v === "number") {
    assert.ok(Number.isInteger(v), `non-integer ${v} in a frame`);
    return Number.isSafeInteger(v) ? v : { int: BigInt(v).toString() };
  }
  if (v instanceof Uint8Array) return { bin: hex(v) };
  if (Array.isArray(v)) return v.map(normalise);
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  throw new Error(`unexpected ${typeof v} in wire fields: ${String(v)}`);
}

/** refused runs fn and checks it throws a TickwireError with code. */
function refused(fn: () => unknown, code: number, what: string): TickwireError {
  let err: unknown;
  try {
    const f = fn();
    assert.fail(`${what}: decoded instead of refusing: ${JSON.stringify(f, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TickwireError, `${what}: threw ${String(err)}, not a TickwireError`);
  assert.equal(err.code, code, `${what}: code ${err.code} (${err.message}), want ${code}`);
  return err;
}

test("the golden file has entries", () => {
  assert.ok(golden.length > 0);
  for (const g of golden) {
    assert.equal(typeof g.name, "string");
    assert.equal(typeof g.kind, "number");
    assert.match(g.hex, /^([0-9a-f]{2})+$/);
    assert.ok(Array.isArray(g.fields));
  }
});

for (const g of golden) {
  const label = `golden ${g.name} (kind ${g.kind})${g.example ? ` from ${g.example}` : ""}`;
  test(label, () => {
    let f: Frame;
    try {
      f = decode(bytes(g.hex));
    } catch (err) {
      assert.fail(`decode(${g.hex}) failed: ${String(err)}`);
    }
    assert.equal(f.kind, g.kind, "decoded kind");
    assert.deepEqual(normalise(wireFields(f)), g.fields, "wireFields(decoded) is the Go encoder's fields");
    assert.equal(hex(encode(f)), g.hex, "encode(decoded) is the Go encoder's bytes");
  });
}

test("every kind of Kind has a golden entry", () => {
  const have = new Set(golden.map((g) => g.kind));
  const missing = Object.entries(Kind)
    .filter(([, k]) => !have.has(k))
    .map(([name, k]) => `${name} (${k})`);
  assert.deepEqual(missing, [], `kinds with no golden frame: ${missing.join(", ")}`);
});

test("every golden kind is a kind the SDK knows", () => {
  const known = new Set<number>(Object.values(Kind));
  const unknown = golden.filter((g) => !known.has(g.kind)).map((g) => `${g.name} (${g.kind})`);
  assert.deepEqual(unknown, [], `golden kinds missing from Kind: ${unknown.join(", ")}`);
});

test("the PROTOCOL.md §1 Ping example", () => {
  const b = bytes("92 04 cf 00 06 0a 24 18 1e 40 00");
  const f = decode(b);
  assert.equal(f.kind, Kind.Ping);
  assert.equal(f.clientTimeUs, 1700000000000000);
  assert.equal(hex(encode({ kind: Kind.Ping, clientTimeUs: 1700000000000000 })), hex(b));
});

test("decode refuses too few fields with bad_frame", () => {
  refused(() => decode(bytes("91 04")), Code.BadFrame, "Ping with no fields");
  refused(() => decode(bytes("92 05 01")), Code.BadFrame, "Pong with one of two fields");
  // Welcome needs session_id, user_id, display_name, server_time_us
  refused(() => decode(bytes("94 02 01 a1 75 a1 64")), Code.BadFrame, "Welcome with three fields");
  refused(() => decode(bytes("92 13 01")), Code.BadFrame, "RoomJoined without a room id");
  // a list entry with fewer fields than its record needs (a TickInput needs member, seq, data)
  refused(() => decode(bytes("96 18 00 2a 01 01 91 92 01 02")), Code.BadFrame, "RoomTick input of two fields");
});

test("decode refuses wrong field types with bad_frame", () => {
  refused(() => decode(bytes("92 04 a1 78")), Code.BadFrame, "Ping with a str time");
  refused(() => decode(bytes("92 04 cb 3f f8 00 00 00 00 00 00")), Code.BadFrame, "Ping with a float time");
  refused(() => decode(bytes("93 01 a1 31 a3 74 6f 6b")), Code.BadFrame, "Hello with a str version");
  refused(() => decode(bytes("93 01 01 c4 01 78")), Code.BadFrame, "Hello with a bin token");
  refused(() => decode(bytes("94 07 01 02 a1 78")), Code.BadFrame, "Echo with a str payload");
  refused(() => decode(bytes("94 50 01 a1 67 01")), Code.BadFrame, "GroupCreate with an int for open");
  refused(() => decode(bytes("92 06 ff")), Code.BadFrame, "Close with a negative code");
  refused(() => decode(bytes("93 11 01 ff")), Code.BadFrame, "RoomJoin with a negative room id");
  refused(() => decode(bytes("93 11 01 a1 31")), Code.BadFrame, "RoomJoin with a str room id");
  refused(() => decode(bytes("93 1b 01 01")), Code.BadFrame, "RoomListResult with an int for the list");
  refused(() => decode(bytes("93 1b 01 91 01")), Code.BadFrame, "RoomListResult with an int entry");
  refused(() => decode(bytes("92 04 c0")), Code.BadFrame, "Ping with nil");
});

test("decode refuses an unknown enum number with bad_frame", () => {
  refused(() => decode(bytes("94 68 01 09 a0")), Code.BadFrame, "SetPresence with presence 9");
  refused(() => decode(bytes("95 58 01 07 a1 75 09")), Code.BadFrame, "GroupSetRole with role 9");
  refused(() => decode(bytes("95 15 00 2a 09 01")), Code.BadFrame, "RoomEvent with event 9");
  refused(() => decode(bytes("95 15 00 2a ff 01")), Code.BadFrame, "RoomEvent with event -1");
  // a valid one decodes to its name
  const f = decode(bytes("94 68 01 02 a0"));
  assert.equal(f.presence, "away");
});

test("decode refuses trailing bytes after the frame with bad_frame", () => {
  const ping = encode({ kind: Kind.Ping, clientTimeUs: 5 });
  for (const tail of ["00", "c0", "92 04 05", "ff ff"]) {
    refused(() => decode(new Uint8Array([...ping, ...bytes(tail)])), Code.BadFrame, `Ping + ${tail}`);
  }
});

test("decode refuses what is not a frame with bad_frame", () => {
  refused(() => decode(new Uint8Array(0)), Code.BadFrame, "no bytes");
  refused(() => decode(bytes("04")), Code.BadFrame, "a bare integer");
  refused(() => decode(bytes("90")), Code.BadFrame, "an empty array");
  refused(() => decode(bytes("81 04 05")), Code.BadFrame, "a map");
  refused(() => decode(bytes("92 a1 34 05")), Code.BadFrame, "a str kind");
  refused(() => decode(bytes("92 cd 01 00 05")), Code.BadFrame, "kind 256");
  refused(() => decode(bytes("92 04")), Code.BadFrame, "an array shorter than its header");
});

test("decode refuses an unknown kind with unknown_kind", () => {
  refused(() => decode(bytes("91 0c")), Code.UnknownKind, "kind 12");
  refused(() => decode(bytes("92 0f 01")), Code.UnknownKind, "kind 15");
  refused(() => decode(bytes("92 cc c8 01")), Code.UnknownKind, "kind 200");
  refused(() => decode(bytes("91 67")), Code.UnknownKind, "kind 103 (a gap between History and SetPresence)");
  assert.throws(() => encode({ kind: 12 }), (e: unknown) => e instanceof TickwireError && e.code === Code.UnknownKind);
});

test("a str/bin/array header claiming more than remains fails fast without allocating it", () => {
  const claims: Array<[string, string]> = [
    ["bin32 of 2^31 bytes in an Echo", "94 07 01 02 c6 80 00 00 00 01 02"],
    ["bin32 of 2^31 bytes as the second element", "92 07 c6 80 00 00 00 01 02"],
    ["bin32 of 4 GiB − 1", "92 07 c6 ff ff ff ff"],
    ["str32 of 2^31 bytes", "92 01 db 80 00 00 00 61"],
    ["array32 of 2^31 elements", "92 1b dd 80 00 00 00 01"],
    ["bin16 of 1000 bytes with 2 there", "94 07 01 02 c5 03 e8 01 02"],
    ["str8 of 200 bytes with 1 there", "93 01 01 d9 c8 61"],
    ["a bin one byte longer than a frame", `94 07 01 02 c6 ${(MaxMessage + 1).toString(16).padStart(8, "0")}`],
  ];
  for (const [what, h] of claims) {
    const before = process.memoryUsage();
    const t0 = performance.now();
    let err: unknown;
    try {
      decode(bytes(h));
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    const after = process.memoryUsage();
    assert.ok(err instanceof TickwireError, `${what}: ${err === undefined ? "decoded" : `threw ${String(err)}`}, want a TickwireError`);
    assert.ok(err.code === Code.BadFrame || err.code === Code.FrameTooLarge, `${what}: code ${err.code} (${err.message})`);
    assert.ok(ms < 250, `${what}: took ${ms.toFixed(1)} ms`);
    const grew = after.arrayBuffers - before.arrayBuffers + (after.external - before.external);
    assert.ok(grew < 64 << 20, `${what}: external memory grew by ${grew} bytes`);
  }
});

test("a byte string longer than a frame is refused even when its bytes are there", () => {
  const payload = new Uint8Array(MaxMessage + 1);
  const h = `94 07 01 02 c6 ${(MaxMessage + 1).toString(16).padStart(8, "0")}`;
  const b = new Uint8Array([...bytes(h), ...payload]);
  assert.throws(
    () => decode(b),
    (err: unknown) => err instanceof TickwireError && (err.code === Code.BadFrame || err.code === Code.FrameTooLarge),
  );
  // one at the limit is fine
  const ok = encode({ kind: Kind.Echo, seq: 1, sentUs: 2, payload: new Uint8Array(MaxMessage - 16) });
  assert.equal((decode(ok).payload as Uint8Array).length, MaxMessage - 16);
});

test("golden frames decode to the fields PROTOCOL.md names", () => {
  // wire order alone cannot tell two swapped names apart: check some by name
  const byName = new Map(golden.filter((g) => !g.example).map((g) => [g.name, decode(bytes(g.hex))]));
  const want: Record<string, Record<string, unknown>> = {
    Hello: { version: 1, token: "tw1.eyJ1IjoidV9hbm4ifQ.c2ln", clientVersion: "0.1.0", resumeId: "r_0123456789abcdef" },
    Pong: { clientTimeUs: 1764115200000123, serverTimeUs: 1764115200000456 },
    Error: { code: 101, ref: 77 },
    Close: { code: 10 },
    Echo: { seq: 4000000000, sentUs: 1764115200000000 },
    RoomCreate: { ref: 1, type: "relay", capacity: 16, tickRate: 30, private: true, emptyTimeoutMs: 30000 },
    RoomJoinOrCreate: { ref: 3, capacity: 8, tickRate: 60, emptyTimeoutMs: 15000 },
    RoomJoined: { ref: 4, roomId: 0xf0e1d2c3b4a59687n, tickRate: 30, capacity: 16, you: 2, serverTimeUs: 1764115200000000 },
    RoomEvent: { event: "joined", member: 3, userId: "u_cy" },
    RoomClosed: { code: 102 },
    RoomInput: { ref: 6, seq: 70000 },
    RoomData: { serverTimeUs: 1764115200033333 },
    RoomList: { type: "relay", limit: 50 },
    FriendRequest: { ref: 8, username: "bob" },
    FriendList: { afterUserId: "u_al" },
    FriendListResult: { more: true },
    FriendUpdate: { event: "accepted" },
    GroupCreate: { open: true },
    SetPresence: { presence: "away", statusText: "brb 🍕" },
    PresenceUpdate: { userId: "u_bob", presence: "away", lastSeenUs: 1764115140000000 },
    DirectSend: { toUserId: "u_bob" },
    Signal: { ref: 30, toUserId: "u_bob", toSession: 4294967297, roomId: 0xf0e1d2c3b4a59687n, callId: 4503599627370499 },
    SignalRecv: { fromUserId: "u_ann", fromSession: 4294967297, roomId: 0xf0e1d2c3b4a59687n, callId: 4503599627370499 },
    CallInvite: { ref: 31, toUserId: "u_bob" },
    CallAccept: { ref: 32, callId: 4503599627370499 },
    CallEnd: { ref: 33, callId: 4503599627370499 },
    CallUpdate: {
      ref: 31,
      callId: 4503599627370499,
      state: "ended",
      reason: "hung_up",
      callerId: "u_ann",
      callerName: "Zoë 🎮",
      calleeId: "u_bob",
      callerSession: 4294967297,
      calleeSession: 4294967298,
      byUserId: "u_bob",
      timeUs: 1764115200000000,
    },
  };
  for (const [name, fields] of Object.entries(want)) {
    const f = byName.get(name);
    assert.ok(f, `no golden ${name}`);
    for (const [k, v] of Object.entries(fields)) assert.equal(f[k], v, `${name}.${k}`);
  }
  const friend = (byName.get("FriendUpdate")!.friend ?? {}) as Record<string, unknown>;
  assert.deepEqual(
    [friend.userId, friend.username, friend.state, friend.presence, friend.statusText, friend.lastSeenUs],
    ["u_bob", "bob", "friend", "away", "brb 🍕", 1764115140000000],
  );
  const joined = byName.get("RoomJoined")!;
  assert.deepEqual(joined.members, [
    { member: 1, userId: "u_ann", displayName: "Ann" },
    { member: 2, userId: "u_bob", displayName: "Zoë 🎮" },
  ]);
  const tick = byName.get("RoomTick")!;
  assert.deepEqual(
    (tick.inputs as Array<{ member: number; seq: number; data: Uint8Array }>).map((i) => [i.member, i.seq, hex(i.data)]),
    [
      [1, 7, "0102"],
      [2, 70000, "0102feff007f"],
    ],
  );
  const list = byName.get("RoomListResult")!.rooms as Array<Record<string, unknown>>;
  assert.deepEqual(list[1], { roomId: 42n, type: "arena", label: "lobby", members: 1, capacity: 1024, tickRate: 128 });
  const members = byName.get("GroupMembersResult")!;
  assert.deepEqual(members.members, [
    { userId: "u_ann", displayName: "Ann", role: "owner", presence: "online" },
    { userId: "u_bob", displayName: "Zoë 🎮", role: "admin", presence: "away" },
  ]);
});

test("room ids above 2^53 survive as bigint", () => {
  const ids = [0n, 42n, 2n ** 53n + 1n, 0xf0e1d2c3b4a59687n, 2n ** 64n - 1n];
  for (const id of ids) {
    const b = encode({ kind: Kind.RoomJoin, ref: 3, roomId: id });
    const f = decode(b);
    assert.equal(typeof f.roomId, "bigint", `room id ${id}`);
    assert.equal(f.roomId, id);
    assert.deepEqual(encode(f), b);
  }
  // uint64 on the wire: cf + 8 bytes, whatever JS would round it to
  assert.equal(hex(encode({ kind: Kind.RoomLeave, ref: 1, roomId: 2n ** 53n + 1n })), "931401cf0020000000000001");
  const tick = decode(bytes("96 18 00 cf ff ff ff ff ff ff ff ff 01 01 90"));
  assert.equal(tick.roomId, 2n ** 64n - 1n);
  // every room id inside a list or record too
  const list = decode(
    encode({ kind: Kind.RoomListResult, ref: 1, rooms: [{ roomId: 2n ** 63n + 7n, type: "relay", label: "", members: 1, capacity: 2, tickRate: 3 }] }),
  );
  assert.equal((list.rooms as Array<{ roomId: bigint }>)[0]!.roomId, 2n ** 63n + 7n);
});

test("missing optional trailing fields read as zero values", () => {
  const hello = decode(bytes("93 01 01 a3 74 6f 6b")); // [1, 1, "tok"]
  assert.deepEqual(hello, { kind: Kind.Hello, version: 1, token: "tok", clientName: "", clientVersion: "", resumeId: "", resume: false });

  const welcome = decode(bytes("95 02 07 a1 75 a1 64 05")); // four of nine fields
  assert.equal(welcome.sessionId, 7);
  assert.equal(welcome.maxFrame, 0);
  assert.equal(welcome.heartbeatMs, 0);
  assert.equal(welcome.resumeId, "");

  const create = decode(bytes("93 10 01 a5 72 65 6c 61 79")); // [16, 1, "relay"]
  assert.equal(create.label, "");
  assert.equal(create.capacity, 0);
  assert.equal(create.private, false);
  assert.ok(create.params instanceof Uint8Array);
  assert.equal((create.params as Uint8Array).length, 0);

  const joined = decode(bytes("93 13 01 2a")); // [19, 1, 42]
  assert.equal(joined.roomId, 42n);
  assert.deepEqual(joined.members, []);
  assert.equal(joined.tick, 0);

  const friends = decode(bytes("93 47 01 90")); // [71, 1, []]
  assert.equal(friends.more, false);

  const members = decode(bytes("94 5a 01 07 91 91 a1 75")); // a Member with only its user id
  assert.deepEqual(members.members, [{ userId: "u", displayName: "", role: "invited", presence: "offline" }]);

  const error = decode(bytes("92 03 65")); // [3, 101]
  assert.deepEqual(error, { kind: Kind.Error, code: 101, message: "", ref: 0 });
});

test("fields after the ones the SDK knows are ignored", () => {
  const f = decode(bytes("94 04 05 a1 78 93 01 02 03")); // Ping with two extra fields
  assert.deepEqual(f, { kind: Kind.Ping, clientTimeUs: 5 });
});
