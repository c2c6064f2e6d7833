// Calls and signaling against a fake server: invite → ringing → active
// → ended, answered elsewhere, signals routed to their call, hang-up
// races, and the golden frames' call kinds through the client.

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { Call, SignalRecv } from "../src/calls";
import { Client } from "../src/client";
import { Code } from "../src/codes";
import { TickwireError } from "../src/errors";
import { Frame, Kind } from "../src/frames";
import { FakeConn, FakeServer, waitFor, within } from "./fakes";

const live = new Set<Client>();
afterEach(async () => {
  for (const c of live) await c.close();
  live.clear();
});

async function connect(s: FakeServer): Promise<Client> {
  const c = await within(
    Client.connect({ url: "http://fake.test", token: "tok", transports: ["websocket"], openers: s.openers(), requestTimeoutMs: 2000, reconnect: false }),
    2000,
    "connect",
  );
  live.add(c);
  return c;
}

const callId = 2 ** 52 + 3;

function update(over: Partial<Record<string, unknown>>): Frame {
  return {
    kind: Kind.CallUpdate,
    ref: 0,
    callId,
    state: "ringing",
    reason: "none",
    callerId: "u_ann",
    callerName: "Ann",
    calleeId: "u_bob",
    callerSession: 1,
    calleeSession: 0,
    byUserId: "",
    timeUs: 1764115200000000,
    ...over,
  };
}

/** okAll answers every call request with OK and records it. */
function okAll(s: FakeServer, seen: Frame[]): void {
  s.onFrame = (f, conn) => {
    if (f.kind === Kind.Ping) return s.pong(conn, f);
    seen.push(f);
    if (f.kind === Kind.CallInvite) {
      conn.push(update({ ref: f.ref }));
      return;
    }
    conn.push({ kind: Kind.OK, ref: f.ref });
  };
}

test("invite: the reply makes the call; its states follow the pushes; signals reach the call", async () => {
  const s = new FakeServer();
  const seen: Frame[] = [];
  okAll(s, seen);
  const c = await connect(s);
  const announced: Call[] = [];
  c.on("call", (x) => announced.push(x));
  const call = await within(c.invite("u_bob"), 1000, "invite");
  assert.equal(call.id, callId);
  assert.equal(call.state, "ringing");
  assert.equal(call.incoming, false);
  assert.deepEqual(announced, [], "an outgoing call started here is not announced");
  assert.deepEqual(c.calls, [call]);
  assert.equal(seen[0]!.toUserId, "u_bob");

  const states: string[] = [];
  call.on("state", (x) => states.push(`${x.state}/${x.reason}`));
  const signals: SignalRecv[] = [];
  call.on("signal", (sg) => signals.push(sg));
  const conn = s.last;
  conn.push(update({ state: "active", calleeSession: 9 }));
  const payload = new Uint8Array([0, 1, 0xfe, 0xff]);
  conn.push({ kind: Kind.SignalRecv, ref: 0, fromUserId: "u_bob", fromSession: 9, roomId: 0n, callId, payload });
  conn.push({ kind: Kind.SignalRecv, ref: 0, fromUserId: "u_cy", fromSession: 4, roomId: 7n, callId: 0, payload });
  await waitFor(() => signals.length === 1 && states.length === 1, "active and a signal");
  assert.equal(call.calleeSession, 9);
  assert.equal(call.mine, true, "the caller's session is a call session");
  assert.deepEqual(signals[0]!.payload, payload);
  assert.equal(signals[0]!.fromSession, 9);

  await call.signal(new Uint8Array([7, 7]));
  const sg = seen.find((f) => f.kind === Kind.Signal)!;
  assert.equal(sg.callId, callId);
  assert.deepEqual(sg.payload, new Uint8Array([7, 7]));

  await call.hangUp();
  assert.equal(seen.at(-1)!.kind, Kind.CallEnd);
  conn.push(update({ state: "ended", reason: "hung_up", calleeSession: 9, byUserId: "u_ann" }));
  await waitFor(() => states.length === 2, "ended");
  assert.deepEqual(states, ["active/none", "ended/hung_up"]);
  assert.equal(call.byUserId, "u_ann");
  assert.deepEqual(c.calls, [], "an ended call is forgotten");
});

test("an incoming call rings; answered on another session, it says so; a late accept is refused", async () => {
  const s = new FakeServer();
  s.welcome = { ...s.welcome, userId: "u_bob" };
  s.onFrame = (f, conn) => {
    if (f.kind === Kind.CallAccept) conn.push({ kind: Kind.Error, code: Code.CallAnswered, message: "answered elsewhere", ref: f.ref });
  };
  const c = await connect(s);
  const rings: Call[] = [];
  const signals: SignalRecv[] = [];
  c.on("call", (x) => rings.push(x));
  c.on("signal", (x) => signals.push(x));
  const conn: FakeConn = s.last;
  conn.push(update({ callerSession: 50 }));
  await waitFor(() => rings.length === 1, "ringing");
  const call = rings[0]!;
  assert.equal(call.incoming, true);
  assert.equal(call.callerName, "Ann");
  assert.equal(call.answeredElsewhere, false);
  conn.push(update({ state: "active", callerSession: 50, calleeSession: c.sessionId + 1 }));
  await waitFor(() => call.state === "active", "active");
  assert.equal(call.answeredElsewhere, true, "another session of bob accepted");
  assert.equal(call.mine, false);
  await assert.rejects(call.accept(), (err: unknown) => err instanceof TickwireError && err.code === Code.CallAnswered);
  // A room signal is a client event, not a call's.
  conn.push({ kind: Kind.SignalRecv, ref: 0, fromUserId: "u_cy", fromSession: 4, roomId: 7n, callId: 0, payload: new Uint8Array([1]) });
  await waitFor(() => signals.length === 1, "signal event");
  assert.equal(signals[0]!.roomId, 7n);
});

test("hangUp of a call the other side ended at the same moment resolves", async () => {
  const s = new FakeServer();
  s.onFrame = (f, conn) => {
    if (f.kind === Kind.CallInvite) conn.push(update({ ref: f.ref }));
    if (f.kind === Kind.CallEnd) conn.push({ kind: Kind.Error, code: Code.CallNotFound, message: "no such call", ref: f.ref });
    if (f.kind === Kind.Signal) conn.push({ kind: Kind.Error, code: Code.NoRelation, message: "no", ref: f.ref });
  };
  const c = await connect(s);
  const call = await c.invite("u_bob");
  await within(call.hangUp(), 1000, "hangUp");
  await assert.rejects(c.signal({ userId: "u_zed" }, new Uint8Array([1])), (err: unknown) => err instanceof TickwireError && err.codeName === "no_relation");
  const sent = s.last.sentOf(Kind.Signal)[0]!;
  assert.deepEqual([sent.toUserId, sent.toSession, sent.roomId, sent.callId], ["u_zed", 0, 0n, 0]);
});

test("a lost session ends its calls locally (disconnected)", async () => {
  const s = new FakeServer();
  s.onFrame = (f, conn) => {
    if (f.kind === Kind.CallInvite) conn.push(update({ ref: f.ref }));
  };
  const c = await connect(s);
  const call = await c.invite("u_bob");
  const ended = new Promise<Call>((resolve) => call.on("state", resolve));
  s.last.drop();
  const got = await within(ended, 1000, "ended");
  assert.equal(got.state, "ended");
  assert.equal(got.reason, "disconnected");
  assert.deepEqual(c.calls, []);
});
