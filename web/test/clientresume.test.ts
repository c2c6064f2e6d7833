// Session resume in the session layer, against the fake server's session
// model (fakes.ts, as PROTOCOL.md "Session resume" says): Resume instead
// of Hello, the room kept, the replay seen once and in order, Acks by the
// protocol's rule, requests that survive the loss, and the refusals that
// fall back to a fresh session with the rooms joined again.

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { ClientEvents, ConnectOptions } from "../src/client";
import { Client } from "../src/client";
import { Code } from "../src/codes";
import { TickwireError } from "../src/errors";
import { encode, Frame, Kind } from "../src/frames";
import { AckDelayMs, AckEvery, ResendFrames } from "../src/resume";
import type { Room } from "../src/room";
import type { Conn, Opener, OpenOptions, TransportName } from "../src/transport";
import { ConnectionLost, Timeout } from "../src/transport";
import type { RoomTick } from "../src/types";
import { FakeServer, sleep, waitFor, within } from "./fakes";

const roomId = 0xf0e1d2c3b4a59687n;

const live = new Set<Client>();
afterEach(async () => {
  for (const c of live) await c.close();
  live.clear();
});

interface Setup {
  c: Client;
  s: FakeServer;
  events: Array<[keyof ClientEvents, unknown]>;
  of<K extends keyof ClientEvents>(name: K): Array<ClientEvents[K]>;
}

const names: Array<keyof ClientEvents> = ["transport", "disconnected", "reconnecting", "resumed", "resumeFailed", "reconnected", "closed", "error"];

/** resumingServer is a fake server that offers resume and answers RoomJoin. */
function resumingServer(windowMs = 30_000): FakeServer {
  const s = new FakeServer();
  s.welcome.resumeWindowMs = windowMs;
  const base = s.onFrame;
  s.onFrame = (f, conn, ch) => {
    if (f.kind === Kind.RoomJoin) {
      conn.push({
        kind: Kind.RoomJoined,
        ref: f.ref,
        roomId: f.roomId,
        type: "relay",
        label: "arena",
        tickRate: 30,
        tick: 100,
        serverTimeUs: Date.now() * 1000,
        capacity: 8,
        you: s.conns.indexOf(conn) + 1,
        members: [
          { member: 1, userId: "u_bob", displayName: "Bob" },
          { member: s.conns.indexOf(conn) + 1, userId: "u_ann", displayName: "Ann" },
        ],
      });
      return;
    }
    base(f, conn, ch);
  };
  return s;
}

async function connect(s: FakeServer, o: Partial<ConnectOptions> = {}): Promise<Setup> {
  const c = await within(
    Client.connect({
      url: "http://fake.test",
      token: "tok",
      transports: ["websocket"],
      openers: s.openers(),
      connectTimeoutMs: 200,
      requestTimeoutMs: 3000,
      reconnectMinMs: 5,
      reconnectMaxMs: 40,
      resume: { backoffMs: 5, maxBackoffMs: 40 },
      ...o,
    }),
    2000,
    "connect",
  );
  live.add(c);
  const events: Setup["events"] = [];
  for (const n of names) c.on(n, (ev) => events.push([n, ev]));
  return {
    c,
    s,
    events,
    of: <K extends keyof ClientEvents>(name: K) => events.filter(([n]) => n === name).map(([, ev]) => ev as ClientEvents[K]),
  };
}

function tick(n: number, unreliable = false): [Frame, 0 | 1] {
  const inputs = unreliable ? [] : [{ member: 1, seq: n, data: new Uint8Array([n & 0xff]) }];
  return [{ kind: Kind.RoomTick, ref: 0, roomId, tick: n, serverTimeUs: Date.now() * 1000, inputs }, unreliable ? 1 : 0];
}

/** ticksOf records the ticks a room emits. */
function ticksOf(room: Room): RoomTick[] {
  const got: RoomTick[] = [];
  room.on("tick", (t) => got.push(t));
  return got;
}

test("a lost connection resumes the session: Resume, same session and room, the replay once and in order, unreliable not counted", async () => {
  const s = resumingServer();
  const { c, of } = await connect(s);
  const room = await within(c.joinRoom(roomId), 1000, "join");
  const ticks = ticksOf(room);
  const sessionId = c.sessionId;
  const conn1 = s.last;
  // numbered so far: RoomJoined (1). Ticks 1..5 reliable (numbered 2..6),
  // unreliable ticks and a Pong in between (not numbered).
  for (let i = 1; i <= 5; i++) {
    conn1.push(...tick(i));
    conn1.push(...tick(1000 + i, true));
  }
  await c.ping();
  await waitFor(() => ticks.length === 10, "ten ticks");

  conn1.drop(ConnectionLost, "");
  // while the session waits, the server keeps numbered frames (7..9); an
  // unreliable tick is dropped
  for (let i = 6; i <= 8; i++) conn1.push(...tick(i));
  conn1.push(...tick(2000, true));
  await waitFor(() => of("resumed").length === 1, "resumed");

  assert.equal(s.conns.length, 2);
  const conn2 = s.last;
  assert.equal(conn2.sentOf(Kind.Hello).length, 0, "no Hello on the new connection");
  const [resume] = conn2.sentOf(Kind.Resume);
  assert.ok(resume);
  assert.equal(resume.sessionId, sessionId);
  assert.equal(resume.resumeId, "r_1");
  assert.equal(resume.received, 6, "RoomJoined and five reliable ticks; unreliable ticks and the Pong not counted");
  assert.equal(resume.version, 1);
  assert.equal(conn2.sentOf(Kind.RoomJoin).length, 0, "no rejoin");

  await waitFor(() => ticks.length === 13, "the replay");
  assert.deepEqual(
    ticks.filter((t) => !t.unreliable).map((t) => t.tick),
    [1, 2, 3, 4, 5, 6, 7, 8],
    "every reliable tick once, in order",
  );
  assert.ok(!ticks.some((t) => t.tick === 2000), "unreliable frames are not replayed");
  assert.equal(c.sessionId, sessionId);
  assert.equal(c.welcome.resumeId, "r_1+", "the new secret is kept for the next resume");
  assert.deepEqual(c.joinedRooms, [room]);
  assert.ok(room.isOpen);
  assert.equal(room.me, 1, "the seat is the same");
  const ev = of("resumed")[0]!;
  assert.equal(ev.sessionId, sessionId);
  assert.equal(ev.replayed, 3);
  assert.equal(ev.resent, 0);
  assert.equal(ev.transport, "websocket");
  assert.deepEqual(of("disconnected"), [{ code: ConnectionLost, codeName: "connection_lost", reason: "", willReconnect: true, resuming: true }]);
  assert.equal(of("reconnected").length, 0);
  assert.equal(of("resumeFailed").length, 0);
  assert.equal(c.stats.resumes, 1);
  assert.equal(c.stats.replayed, 3);

  // a second loss resumes with the latest secret and the new count
  s.last.push(...tick(9));
  await waitFor(() => ticks.length === 14, "tick 9");
  s.last.drop(ConnectionLost, "");
  await waitFor(() => of("resumed").length === 2, "resumed again");
  const [again] = s.last.sentOf(Kind.Resume);
  assert.equal(again!.resumeId, "r_1+");
  assert.equal(again!.received, 10);
});

test("Ack: at once after 32 numbered frames, otherwise 200 ms after the first one not covered", async () => {
  const s = resumingServer();
  const { c } = await connect(s);
  const room = await within(c.joinRoom(roomId), 1000, "join");
  const ticks = ticksOf(room);
  const conn = s.last;
  const acks = () => conn.sentOf(Kind.Ack).map((f) => f.received);
  await waitFor(() => acks().length === 1, "the Ack of RoomJoined", 3000);
  assert.deepEqual(acks(), [1]);

  for (let i = 1; i <= AckEvery; i++) conn.push(...tick(i));
  for (let i = 1; i <= 50; i++) conn.push(...tick(500 + i, true)); // not counted
  await waitFor(() => ticks.length === AckEvery + 50, "the ticks");
  await sleep(10);
  assert.deepEqual(acks(), [1, 1 + AckEvery], "an Ack after the 32nd numbered frame, without waiting");

  const t0 = Date.now();
  conn.push(...tick(100));
  await waitFor(() => acks().length === 3, "the timed Ack", 3000);
  const waited = Date.now() - t0;
  assert.equal(acks()[2], 2 + AckEvery);
  assert.ok(waited >= AckDelayMs - 20, `the timed Ack came after ${waited} ms, not before ${AckDelayMs}`);
  assert.equal(conn.session!.acked, 2 + AckEvery);
  assert.equal(c.stats.acks, 3);

  await sleep(AckDelayMs + 50);
  assert.equal(acks().length, 3, "no Ack when nothing new arrived");
});

test("resume off: with resume.off no frame is counted and no Ack is sent", async () => {
  const s = resumingServer();
  const { c } = await connect(s, { resume: { off: true } });
  await within(c.joinRoom(roomId), 1000, "join");
  for (let i = 1; i <= AckEvery + 1; i++) s.last.push(...tick(i));
  await sleep(AckDelayMs + 50);
  assert.equal(s.last.sentOf(Kind.Ack).length, 0);
  s.last.drop(ConnectionLost, "");
  await waitFor(() => s.conns.length === 2 && s.hellos.length === 2, "a fresh session");
  assert.equal(s.resumes.length, 0);
});

test("requests survive a resume: one the server never got is resent, one it answered while parked is replayed", async () => {
  const s = resumingServer();
  const friendsReplies: Frame[] = [];
  const base = s.onFrame;
  s.onFrame = (f, conn, ch) => {
    if (f.kind === Kind.FriendList) {
      friendsReplies.push(f);
      return; // answered by the test
    }
    base(f, conn, ch);
  };
  const { c, of } = await connect(s);
  const conn1 = s.last;
  const answered = c.friends(); // reaches the server; its reply will be lost with the connection
  await waitFor(() => friendsReplies.length === 1, "FriendList 1");
  const unseen = c.setPresence("online", "afk"); // never reaches the server
  conn1.drop(ConnectionLost, "");
  // the server answers the first while the session waits (into the replay)
  conn1.push({ kind: Kind.FriendListResult, ref: friendsReplies[0]!.ref, friends: [], more: false });
  // and the app sends while the session resumes: kept, sent after the resume
  const whileDown = c.setPresence("away", "brb");
  await waitFor(() => of("resumed").length === 1, "resumed");
  const conn2 = s.last;
  const sp = s.sessionsById.get(c.sessionId)!;
  await waitFor(() => sp.got.filter((f) => f.kind === Kind.SetPresence).length === 2, "both SetPresence processed");
  const setp = sp.got.filter((f) => f.kind === Kind.SetPresence);
  assert.deepEqual(
    setp.map((f) => f.statusText),
    ["afk", "brb"],
    "resent in order, once each",
  );
  assert.equal(sp.got.filter((f) => f.kind === Kind.FriendList).length, 1, "the processed request is not sent again");
  assert.equal(of("resumed")[0]!.resent, 2);
  assert.equal(conn2.sentOf(Kind.Resume)[0]!.received, 0);
  assert.deepEqual(await within(answered, 1000, "the replayed reply"), []);
  for (const f of setp) conn2.push({ kind: Kind.OK, ref: f.ref });
  await within(Promise.all([unseen, whileDown]), 1000, "the resent requests' replies");
});

test("unreliable input sent while resuming is dropped; Ping is refused", async () => {
  const s = resumingServer();
  s.onResume = () => "silent";
  const { c, of } = await connect(s, { connectTimeoutMs: 100 });
  const room = await within(c.joinRoom(roomId), 1000, "join");
  s.last.drop(ConnectionLost, "");
  await waitFor(() => c.resuming, "resuming");
  room.send(new Uint8Array([1])); // no throw: dropped
  await assert.rejects(c.ping(), (err: unknown) => err instanceof TickwireError && err.code === ConnectionLost);
  assert.equal(of("closed").length, 0);
});

for (const [name, code, setup] of [
  ["resume_unknown", Code.ResumeUnknown, (s: FakeServer) => s.sessionsById.clear()],
  ["resume_bad_secret", Code.ResumeBadSecret, (s: FakeServer) => (s.sessionsById.get(1)!.secret = "another")],
  [
    "resume_overflow",
    Code.ResumeOverflow,
    (s: FakeServer) => {
      // five frames the client never got, the oldest three of them dropped
      const sess = s.sessionsById.get(1)!;
      for (let i = 10; i < 15; i++) sess.out.push(encode(tick(i)[0]));
      sess.forgotten = sess.out.length - 2;
    },
  ],
  ["unsupported", Code.Unsupported, (s: FakeServer) => (s.onResume = () => ({ refuse: Code.Unsupported }))],
  ["bad_request", Code.BadRequest, (s: FakeServer) => (s.sessionsById.get(1)!.out.length = 0)],
] as const) {
  test(`a resume refused with ${name} (${code}) falls back to a fresh session that rejoins the room`, async () => {
    const s = resumingServer();
    const { c, of } = await connect(s, { transports: ["websocket", "longpoll"] });
    const room = await within(c.joinRoom(roomId), 1000, "join");
    const rejoined: unknown[] = [];
    room.on("rejoined", (j) => rejoined.push(j));
    for (let i = 1; i <= 9; i++) s.last.push(...tick(i));
    await waitFor(() => room.lastTick === 100 && s.last.sentOf(Kind.Ack).length > 0, "ticks acknowledged");
    const pending = c.friends(); // never answered
    pending.catch(() => {});
    await waitFor(() => s.last.sentOf(Kind.FriendList).length === 1, "FriendList");
    setup(s);
    s.last.drop(ConnectionLost, "");
    await waitFor(() => of("reconnected").length === 1, "reconnected", 3000);

    assert.equal(s.resumes.length, 1, "one Resume, then Hello: a refusal is not retried on another transport or round");
    assert.equal(of("resumeFailed").length, 1);
    const f = of("resumeFailed")[0]!;
    assert.equal(f.code, code);
    assert.equal(f.codeName, name);
    assert.equal(of("resumed").length, 0);
    await assert.rejects(pending, (err: unknown) => err instanceof TickwireError && err.code === Code.ConnectionLost);
    assert.equal(s.hellos.length, 2);
    assert.equal(s.last.sentOf(Kind.RoomJoin).length, 1, "the room is joined again");
    assert.equal(rejoined.length, 1);
    assert.notEqual(c.sessionId, 1, "a new session");
    assert.equal(c.stats.resumeFailures, 1);
    assert.deepEqual(of("reconnected")[0]!.rooms, [roomId]);

    // the fresh session numbers from 1 again
    s.last.push(...tick(500));
    await waitFor(() => s.last.sentOf(Kind.Ack).length > 0, "the new session's Ack", 3000);
    assert.deepEqual(
      s.last.sentOf(Kind.Ack).map((a) => a.received),
      [2],
      "RoomJoined and one tick of the new session",
    );
  });
}

test("the resume window passes while the server is unreachable: resumeFailed with timeout, then a fresh session", async () => {
  const s = resumingServer(150);
  let down = false;
  const ok = s.opener("websocket");
  const opener: Opener = (o: OpenOptions): Promise<Conn> => (down ? Promise.reject(new TickwireError(ConnectionLost, "network down")) : ok(o));
  const { c, of } = await connect(s, { openers: { websocket: opener } });
  down = true;
  s.last.drop(ConnectionLost, "");
  await waitFor(() => of("resumeFailed").length === 1, "resumeFailed", 2000);
  assert.equal(of("resumeFailed")[0]!.code, Timeout);
  const tries = of("reconnecting").filter((r) => r.resume);
  assert.ok(tries.length >= 3, `several resume attempts (${tries.length})`);
  const delays = tries.map((r) => r.delayMs);
  assert.equal(delays[0], 0, "the first attempt at once");
  for (let i = 1; i < delays.length; i++) {
    const floor = Math.min(40, 5 * 2 ** (i - 1));
    assert.ok(delays[i]! >= floor && delays[i]! <= Math.round(floor * 1.5), `delay ${i}: ${delays[i]} in [${floor}, ${floor * 1.5}]`);
  }
  down = false;
  await waitFor(() => of("reconnected").length === 1, "a fresh session");
  assert.equal(s.resumes.length, 0, "no Resume reached the server");
  assert.ok(c.connected);
});

test("a resume tries the transports in order: the first refusing, the second resumes", async () => {
  const s = resumingServer();
  const calls: TransportName[] = [];
  let down = false;
  const webrtc: Opener = (o) => {
    calls.push("webrtc");
    return down ? Promise.reject(new TickwireError(ConnectionLost, "no ICE")) : s.opener("webrtc")(o);
  };
  const { c, of } = await connect(s, { transports: ["webrtc", "websocket"], openers: { webrtc, websocket: s.opener("websocket") } });
  assert.equal(c.transport, "webrtc");
  down = true;
  s.last.drop(ConnectionLost, "");
  await waitFor(() => of("resumed").length === 1, "resumed");
  assert.equal(c.transport, "websocket");
  assert.equal(s.last.transport, "websocket");
  assert.equal(s.resumes.length, 1);
  assert.deepEqual(calls, ["webrtc", "webrtc"]);
});

test("more numbered frames sent while down than the resend buffer keeps: the resume ends and a fresh session starts", async () => {
  const s = resumingServer();
  s.onResume = () => "silent";
  const { c, of } = await connect(s, { connectTimeoutMs: 100 });
  const room = await within(c.joinRoom(roomId), 1000, "join");
  s.last.drop(ConnectionLost, "");
  await waitFor(() => c.resuming, "resuming");
  for (let i = 0; i < ResendFrames + 1; i++) room.send(new Uint8Array([i & 0xff]), { reliable: true });
  s.onResume = () => "auto";
  await waitFor(() => of("resumeFailed").length === 1, "resumeFailed", 3000);
  const f = of("resumeFailed")[0]!;
  assert.equal(f.code, Code.ConnectionLost);
  assert.match(f.reason, /no longer kept/);
  const resumedConn = s.conns.find((x) => x.sentOf(Kind.Resume).length > 0 && x.sentOf(Kind.Close).length > 0);
  assert.ok(resumedConn, "the resumed connection was closed with Close (a goodbye)");
  assert.equal(resumedConn.closedByClient?.code, Code.OK);
  await waitFor(() => of("reconnected").length === 1, "a fresh session", 3000);
  assert.equal(s.last.sentOf(Kind.RoomJoin).length, 1);
});

test("a server Close frame ends the session: no Resume, a fresh session", async () => {
  const s = resumingServer();
  const { of } = await connect(s);
  s.last.push({ kind: Kind.Close, code: Code.ServerShutdown, reason: "restarting" });
  s.last.drop(Code.ServerShutdown, "restarting");
  await waitFor(() => of("reconnected").length === 1, "reconnected");
  assert.equal(s.resumes.length, 0);
  assert.equal(of("disconnected")[0]!.resuming, false);
});

test("codes that must not reconnect stay fatal with resume on", async () => {
  const s = resumingServer();
  const { of } = await connect(s);
  s.last.drop(Code.Replaced, "resumed elsewhere");
  await waitFor(() => of("closed").length === 1, "closed");
  await sleep(30);
  assert.equal(s.resumes.length, 0);
  assert.equal(of("closed")[0]!.code, Code.Replaced);
});

test("a resume refused with bad_token-like fatal codes ends the client", async () => {
  const s = resumingServer();
  s.onResume = () => ({ refuse: Code.TokenRevoked });
  const { of } = await connect(s);
  s.last.drop(ConnectionLost, "");
  await waitFor(() => of("closed").length === 1, "closed");
  assert.equal(of("closed")[0]!.code, Code.TokenRevoked);
  assert.equal(s.hellos.length, 1, "no fresh session after a fatal code");
});

test("close() while resuming ends the client and stops the attempts", async () => {
  const s = resumingServer();
  s.onResume = () => "silent";
  const { c, of } = await connect(s, { connectTimeoutMs: 50 });
  s.last.drop(ConnectionLost, "");
  await waitFor(() => s.resumes.length >= 1, "a Resume");
  await c.close();
  const n = s.conns.length;
  await sleep(150);
  assert.equal(s.conns.length, n, "no attempt after close");
  assert.equal(of("closed").length, 1);
  assert.equal(c.resuming, false);
});

test("an abandoned Resume attempt closes its connection with a code that keeps the session parked", async () => {
  const s = resumingServer();
  s.onResume = () => "silent";
  const { c } = await connect(s, { connectTimeoutMs: 50 });
  s.last.drop(ConnectionLost, "");
  await waitFor(() => s.conns.length >= 3, "two Resume attempts");
  const abandoned = s.conns[1]!;
  assert.equal(abandoned.sentOf(Kind.Resume).length, 1);
  assert.equal(abandoned.closedByClient?.code, Code.ConnectionLost, "connection_lost parks the session; a close with ok would end it");
  await c.close();
});

test("room members away and back keep their seat; left frees it", async () => {
  const s = resumingServer();
  const { c } = await connect(s);
  const room = await within(c.joinRoom(roomId), 1000, "join");
  const seen: string[] = [];
  room.on("member", (e) => seen.push(`${e.event}:${e.member}`));
  const ev = (event: string) => ({ kind: Kind.RoomEvent, ref: 0, roomId, event, member: 1, userId: "u_bob", displayName: "Bob" });
  s.last.push(ev("away"));
  await waitFor(() => seen.length === 1, "away");
  assert.ok(room.members.has(1), "the seat is kept");
  assert.ok(room.away.has(1));
  s.last.push(ev("back"));
  await waitFor(() => seen.length === 2, "back");
  assert.ok(room.members.has(1));
  assert.ok(!room.away.has(1));
  s.last.push(ev("away"));
  s.last.push(ev("left"));
  await waitFor(() => seen.length === 4, "left");
  assert.ok(!room.members.has(1));
  assert.ok(!room.away.has(1));
  assert.deepEqual(seen, ["away:1", "back:1", "away:1", "left:1"]);
});

test("a silent connection (nothing heard for idle_timeout_ms) is closed with idle_timeout, which keeps the session parked, and resumed", async () => {
  const s = resumingServer();
  s.welcome.heartbeatMs = 100;
  s.welcome.idleTimeoutMs = 1000; // the SDK's floor
  let silent = false;
  const base = s.onFrame;
  s.onFrame = (f, conn, ch) => {
    if (silent && conn === s.conns[0]) return; // the old path went dead: no Pong
    base(f, conn, ch);
  };
  const { c, of } = await connect(s);
  const room = await within(c.joinRoom(roomId), 1000, "join");
  const first = s.last;
  silent = true;
  await waitFor(() => of("resumed").length === 1, "resumed", 4000);
  assert.equal(first.closedByClient?.code, Code.IdleTimeout, "closed with a code that parks, never ok");
  assert.equal(of("disconnected")[0]!.code, Code.IdleTimeout);
  assert.equal(of("disconnected")[0]!.resuming, true);
  assert.equal(c.sessionId, 1);
  assert.deepEqual(c.joinedRooms, [room]);
});
