// The session layer against a fake server: requests by ref, pings,
// chat dedupe and acks, reconnects with backoff and room rejoin, and the
// closes that must not reconnect.

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { ClientEvents, ConnectOptions } from "../src/client";
import { Client } from "../src/client";
import { Code } from "../src/codes";
import { TickwireError } from "../src/errors";
import { Frame, Kind } from "../src/frames";
import type { Conn, Opener, OpenOptions, TransportName } from "../src/transport";
import { ConnectionLost } from "../src/transport";
import { FakeConn, FakeServer, sleep, waitFor, within } from "./fakes";

const bigRoom = 0xf0e1d2c3b4a59687n; // above 2^53: only a bigint holds it

interface Setup {
  c: Client;
  s: FakeServer;
  /** every event the client emitted, in order */
  events: Array<[keyof ClientEvents, unknown]>;
  of<K extends keyof ClientEvents>(name: K): Array<ClientEvents[K]>;
}

// Every client a test opened is closed after it, whatever it asserted, so
// that a client left reconnecting cannot keep the run alive.
const live = new Set<Client>();
afterEach(async () => {
  for (const c of live) await c.close();
  live.clear();
});

const names: Array<keyof ClientEvents> = ["transport", "disconnected", "reconnecting", "reconnected", "closed", "rtt", "message", "notice", "error"];

/** connect opens a client on a fake server over "websocket", recording its events. */
async function connect(s = new FakeServer(), o: Partial<ConnectOptions> = {}): Promise<Setup> {
  const c = await within(
    Client.connect({
      url: "http://fake.test",
      token: "tok",
      transports: ["websocket"],
      openers: s.openers(),
      connectTimeoutMs: 200,
      requestTimeoutMs: 2000,
      reconnectMinMs: 5,
      reconnectMaxMs: 40,
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

/** rooms makes s answer RoomJoin with RoomJoined, you = the connection's number. */
function servesRooms(s: FakeServer): void {
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
        members: [{ member: s.conns.indexOf(conn) + 1, userId: "u_ann", displayName: "Ann" }],
      });
      return;
    }
    base(f, conn, ch);
  };
}

/** flaky wraps s's opener for name: it refuses while down() is true. */
function flaky(s: FakeServer, name: TransportName, down: () => boolean, calls: string[]): Opener {
  const ok = s.opener(name);
  return (o: OpenOptions): Promise<Conn> => {
    if (down()) {
      calls.push("refused");
      return Promise.reject(new TickwireError(ConnectionLost, "fake network down"));
    }
    calls.push("opened");
    return ok(o);
  };
}

function message(id: number, body = `m${id}`): Frame {
  return { kind: Kind.Message, ref: 0, id, groupId: 0, fromUserId: "u_bob", toUserId: "u_ann", timeUs: Date.now() * 1000, body, fromName: "Bob" };
}

test("connect: Hello carries the token and client name; welcome and transport are set", async () => {
  const { c, s } = await connect(undefined, { clientName: "unit", clientVersion: "9.9" });
  try {
    const hello = s.hellos[0]!;
    assert.equal(hello.token, "tok");
    assert.equal(hello.clientName, "unit");
    assert.equal(hello.clientVersion, "9.9");
    assert.equal(c.transport, "websocket");
    assert.equal(c.userId, "u_ann");
    assert.equal(c.welcome.resumeId, "r_1");
    assert.ok(c.connected);
  } finally {
    await c.close();
  }
});

test("replies out of order resolve the promises of their own refs", async () => {
  const s = new FakeServer();
  const sends: Frame[] = [];
  s.onFrame = (f) => {
    if (f.kind === Kind.DirectSend) sends.push(f);
  };
  const { c } = await connect(s);
  try {
    const a = c.sendDirect("u_bob", "one");
    const b = c.sendDirect("u_cy", "two");
    const d = c.sendDirect("u_dee", "three");
    await waitFor(() => sends.length === 3, "three DirectSends");
    const refs = sends.map((f) => f.ref as number);
    assert.equal(new Set(refs).size, 3, `distinct refs ${refs}`);
    assert.ok(refs.every((r) => r > 0), `non-zero refs ${refs}`);
    const conn = s.last;
    // answer the last first, the first last; id = 10 × the request's position
    for (const i of [2, 0, 1]) conn.push({ kind: Kind.MessageSent, ref: refs[i], id: 10 * (i + 1), timeUs: 5 });
    assert.deepEqual(await within(Promise.all([a, b, d]), 1000, "replies"), [
      { id: 10, timeUs: 5 },
      { id: 20, timeUs: 5 },
      { id: 30, timeUs: 5 },
    ]);
    assert.deepEqual(
      sends.map((f) => f.toUserId),
      ["u_bob", "u_cy", "u_dee"],
    );
  } finally {
    await c.close();
  }
});

test("an Error with a ref rejects that request with its code and codeName; the others go on", async () => {
  const s = new FakeServer();
  s.onFrame = (f, conn) => {
    if (f.kind === Kind.FriendRequest && f.username === "nobody") {
      conn.push({ kind: Kind.Error, code: Code.UserNotFound, message: "no such user", ref: f.ref });
    } else if (f.kind === Kind.FriendRequest) {
      setTimeout(() => conn.push({ kind: Kind.OK, ref: f.ref }), 5);
    }
  };
  const { c, of } = await connect(s);
  try {
    const good = c.requestFriend("bob");
    const bad = c.requestFriend("nobody");
    await assert.rejects(within(bad, 1000, "refused request"), (err: unknown) => {
      assert.ok(err instanceof TickwireError);
      assert.equal(err.code, 250);
      assert.equal(err.codeName, "user_not_found");
      assert.match(err.message, /no such user/);
      return true;
    });
    await within(good, 1000, "accepted request");
    assert.equal(of("error").length, 0, "a matched Error is not also an error event");
  } finally {
    await c.close();
  }
});

test("an Error with ref 0 is an error event and rejects nothing", async () => {
  const s = new FakeServer();
  const lists: Frame[] = [];
  s.onFrame = (f) => {
    if (f.kind === Kind.FriendList) lists.push(f);
  };
  const { c, of } = await connect(s);
  try {
    const p = c.friends();
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await waitFor(() => lists.length === 1, "FriendList");
    s.last.push({ kind: Kind.Error, code: Code.InputRateLimited, message: "slow down", ref: 0 });
    await waitFor(() => of("error").length === 1, "error event");
    assert.equal(of("error")[0]!.code, Code.InputRateLimited);
    assert.equal(settled, false);
    s.last.push({ kind: Kind.FriendListResult, ref: lists[0]!.ref, friends: [], more: false });
    assert.deepEqual(await within(p, 1000, "friends"), []);
  } finally {
    await c.close();
  }
});

test("ping resolves with the RTT and fires rtt", async () => {
  const s = new FakeServer();
  const pings: Frame[] = [];
  s.onFrame = (f, conn, ch) => {
    if (f.kind !== Kind.Ping) return;
    pings.push(f);
    setTimeout(() => s.pong(conn, f, ch), 15);
  };
  const { c, of } = await connect(s);
  try {
    const rtt = await within(c.ping(), 1000, "ping");
    assert.equal(typeof rtt, "number");
    assert.ok(rtt >= 14 && rtt < 1000, `rtt ${rtt} ms for a 15 ms delay`);
    assert.equal(pings.length, 1);
    assert.equal(typeof pings[0]!.clientTimeUs, "number");
    const ev = of("rtt");
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.rttMs, rtt);
    assert.ok(c.rtt > 0);
  } finally {
    await c.close();
  }
});

test("a Pong for no ping is ignored", async () => {
  const s = new FakeServer();
  s.onFrame = () => {};
  const { c, of } = await connect(s);
  try {
    s.last.push({ kind: Kind.Pong, clientTimeUs: 12345, serverTimeUs: 1 });
    await sleep(10);
    assert.equal(of("rtt").length, 0);
  } finally {
    await c.close();
  }
});

test("chat messages are delivered once and acknowledged up to the highest id", async () => {
  const { c, s, of } = await connect();
  try {
    for (const id of [1, 2, 2, 3, 1, 3]) s.last.push(message(id));
    await waitFor(() => s.last.sentOf(Kind.MessageAck).length > 0, "a MessageAck");
    await sleep(40);
    assert.deepEqual(
      of("message").map((m) => m.id),
      [1, 2, 3],
    );
    assert.equal(of("message")[2]!.body, "m3");
    assert.equal(c.stats.duplicateMessages, 3);
    const acks = s.last.sentOf(Kind.MessageAck);
    assert.equal(acks[acks.length - 1]!.upToId, 3, "the last ack covers the highest id");
    assert.ok(
      acks.every((a) => a.ref === 0 && (a.upToId as number) <= 3),
      `acks ${acks.map((a) => a.upToId)}`,
    );
    // a later message is acknowledged too
    s.last.push(message(7));
    await waitFor(() => s.last.sentOf(Kind.MessageAck).some((a) => a.upToId === 7), "an ack of 7");
  } finally {
    await c.close();
  }
});

test("a Notice (kind 11) is emitted as a notice event with its code's name", async () => {
  const { c, s, of } = await connect();
  try {
    s.last.push({ kind: Kind.Notice, code: 0, text: "restart in 5 minutes" });
    s.last.push({ kind: Kind.Notice, code: Code.Draining, text: "draining" });
    await waitFor(() => of("notice").length === 2, "two notices");
    assert.deepEqual(of("notice"), [
      { code: 0, codeName: "ok", text: "restart in 5 minutes" },
      { code: 34, codeName: "draining", text: "draining" },
    ]);
    assert.ok(c.connected, "a notice does not end the session");
  } finally {
    await c.close();
  }
});

test("autoAck: false sends no MessageAck", async () => {
  const { c, s, of } = await connect(undefined, { autoAck: false });
  try {
    s.last.push(message(1));
    await sleep(60);
    assert.equal(of("message").length, 1);
    assert.deepEqual(s.last.sentOf(Kind.MessageAck), []);
  } finally {
    await c.close();
  }
});

test("a lost connection reconnects with growing delays, rejoins the room by id, and fails pending requests", async (t) => {
  t.mock.method(Math, "random", () => 0.99); // the jitter at its top: delays ≈ 5, 10, 20 ms
  const s = new FakeServer();
  servesRooms(s);
  let down = false;
  let refusals = 0;
  const calls: string[] = [];
  const opener = flaky(s, "websocket", () => down && refusals++ < 2, calls);
  const { c, of } = await connect(s, { openers: { websocket: opener } });
  try {
    const room = await within(c.joinRoom(bigRoom), 1000, "join");
    assert.equal(room.id, bigRoom);
    assert.equal(room.me, 1);
    const rejoined: unknown[] = [];
    room.on("rejoined", (j) => rejoined.push(j));
    const pending = c.friends(); // never answered
    pending.catch(() => {});
    await waitFor(() => s.last.sentOf(Kind.FriendList).length === 1, "FriendList");

    down = true;
    s.last.drop(ConnectionLost, "");
    await assert.rejects(within(pending, 1000, "pending request"), (err: unknown) => {
      assert.ok(err instanceof TickwireError);
      assert.equal(err.code, ConnectionLost);
      return true;
    });
    assert.deepEqual(of("disconnected")[0], { code: ConnectionLost, codeName: "connection_lost", reason: "", willReconnect: true, resuming: false });
    assert.equal(c.connected, false);

    await waitFor(() => of("reconnected").length === 1, "reconnected", 3000);
    const tries = of("reconnecting");
    assert.deepEqual(
      tries.map((r) => r.attempt),
      [1, 2, 3],
    );
    const delays = tries.map((r) => r.delayMs);
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! > delays[i - 1]!, `delays grow: ${delays}`);
    assert.ok(delays[0]! >= 2 && delays[0]! <= 5 && delays[2]! <= 40, `delays within min/max: ${delays}`);
    assert.deepEqual(calls, ["opened", "refused", "refused", "opened"]);

    assert.equal(s.conns.length, 2, "a new connection was dialed");
    const again = s.last.sentOf(Kind.RoomJoin);
    assert.equal(again.length, 1, "the room was joined again on the new connection");
    assert.equal(typeof again[0]!.roomId, "bigint");
    assert.equal(again[0]!.roomId, bigRoom);
    assert.equal(s.hellos[1]!.resumeId, "", "Hello's resume_id is reserved (a session is resumed with Resume)");
    assert.equal(s.resumes.length, 0, "resume off (resume_window_ms 0): no Resume");

    const ev = of("reconnected")[0]!;
    assert.equal(ev.transport, "websocket");
    assert.deepEqual(ev.rooms, [bigRoom]);
    assert.equal(room.me, 2, "the rejoin's member number");
    assert.equal(rejoined.length, 1);
    assert.ok(room.isOpen);
    assert.deepEqual(c.joinedRooms, [room]);
    assert.equal(c.stats.reconnects, 1);
    assert.ok(c.connected);
    assert.equal(of("closed").length, 0);
    assert.equal(of("transport").length, 1, "transport fires for the new connection");
  } finally {
    await c.close();
  }
});

test("a room that cannot be joined again after a reconnect is reported closed and left out", async () => {
  const s = new FakeServer();
  servesRooms(s);
  const { c, of } = await connect(s);
  const gone = await within(c.joinRoom(7n), 1000, "join 7");
  const kept = await within(c.joinRoom(bigRoom), 1000, "join big");
  const closed: Array<{ code: number }> = [];
  gone.on("closed", (ev) => closed.push(ev));
  const rooms = s.onFrame;
  s.onFrame = (f, conn, ch) => {
    if (f.kind === Kind.RoomJoin && f.roomId === 7n && s.conns.indexOf(conn) > 0) {
      conn.push({ kind: Kind.Error, code: Code.RoomNotFound, message: "no such room", ref: f.ref });
      return;
    }
    rooms(f, conn, ch);
  };
  s.last.drop(ConnectionLost, "");
  await waitFor(() => of("reconnected").length === 1, "reconnected");
  assert.deepEqual(of("reconnected")[0]!.rooms, [bigRoom]);
  assert.deepEqual(
    s.last.sentOf(Kind.RoomJoin).map((f) => f.roomId),
    [7n, bigRoom],
  );
  assert.deepEqual(
    closed.map((e) => e.code),
    [Code.RoomNotFound],
  );
  assert.equal(gone.isOpen, false);
  assert.deepEqual(c.joinedRooms, [kept]);
});

test("a ConnectionLost error is named connection_lost", async () => {
  const s = new FakeServer();
  s.onFrame = () => {};
  const { c } = await connect(s, { reconnect: false });
  const p = c.friends();
  await waitFor(() => s.last.sentOf(Kind.FriendList).length === 1, "FriendList");
  s.last.drop(ConnectionLost, "");
  await assert.rejects(within(p, 1000, "pending"), (err: unknown) => {
    assert.ok(err instanceof TickwireError);
    assert.equal(err.code, ConnectionLost);
    assert.equal(err.codeName, "connection_lost", `codeName ${err.codeName}`);
    return true;
  });
});

for (const [code, name] of [
  [Code.BadToken, "bad_token"],
  [Code.Replaced, "replaced"],
  [Code.TokenRevoked, "token_revoked"],
] as const) {
  test(`a transport closed with ${name} (${code}) ends the client without reconnecting`, async () => {
    const s = new FakeServer();
    const { c, of } = await connect(s, { getToken: () => "tok2" });
    const p = c.friends();
    p.catch(() => {});
    s.last.drop(code, name);
    await waitFor(() => of("closed").length === 1, "closed");
    await sleep(40);
    assert.deepEqual(of("disconnected"), [{ code, codeName: name, reason: name, willReconnect: false, resuming: false }]);
    assert.deepEqual(of("closed"), [{ code, codeName: name, reason: name }]);
    assert.equal(of("reconnecting").length, 0);
    assert.equal(s.opened.length, 1, "no reconnect was dialed");
    await assert.rejects(p, (err: unknown) => err instanceof TickwireError && err.code === code);
    assert.equal(c.connected, false);
  });

  test(`a server Close frame with ${name} (${code}) ends the client without reconnecting`, async () => {
    // What the server does: Close with the code on the reliable channel,
    // then the transport ends.
    const s = new FakeServer();
    const { c, of } = await connect(s);
    s.last.push({ kind: Kind.Close, code, reason: name });
    s.last.drop(code, name);
    await waitFor(() => of("closed").length === 1 || of("reconnecting").length > 0, "closed or reconnecting");
    await sleep(40);
    try {
      assert.deepEqual(of("disconnected"), [{ code, codeName: name, reason: name, willReconnect: false, resuming: false }]);
      assert.deepEqual(of("closed"), [{ code, codeName: name, reason: name }]);
      assert.equal(of("reconnecting").length, 0);
      assert.equal(s.opened.length, 1, "no reconnect was dialed");
    } finally {
      await c.close();
    }
  });
}

test("a server Close frame with a reconnectable code (server_shutdown) reconnects", async () => {
  const s = new FakeServer();
  const { c, of } = await connect(s);
  try {
    s.last.push({ kind: Kind.Close, code: Code.ServerShutdown, reason: "restarting" });
    s.last.drop(Code.ServerShutdown, "restarting");
    await waitFor(() => of("reconnected").length === 1, "reconnected");
    assert.deepEqual(of("disconnected"), [{ code: Code.ServerShutdown, codeName: "server_shutdown", reason: "restarting", willReconnect: true, resuming: false }]);
    assert.ok(s.last.closedByClient === undefined);
    assert.equal(s.conns.length, 2);
  } finally {
    await c.close();
  }
});

test("token_expired without getToken ends the client", async () => {
  const s = new FakeServer();
  const { c, of } = await connect(s);
  s.last.drop(Code.TokenExpired, "token expired");
  await waitFor(() => of("closed").length === 1, "closed");
  await sleep(30);
  assert.equal(of("disconnected")[0]!.willReconnect, false);
  assert.equal(of("closed")[0]!.code, Code.TokenExpired);
  assert.equal(of("reconnecting").length, 0);
  assert.equal(s.opened.length, 1);
  assert.equal(c.connected, false);
});

test("token_expired with getToken reconnects with the new token", async () => {
  const s = new FakeServer();
  let asked = 0;
  const { c, of } = await connect(s, {
    getToken: () => {
      asked++;
      return "tok2";
    },
  });
  try {
    s.last.drop(Code.TokenExpired, "token expired");
    await waitFor(() => of("reconnected").length === 1, "reconnected");
    assert.equal(of("disconnected")[0]!.willReconnect, true);
    assert.equal(asked, 1);
    assert.deepEqual(
      s.hellos.map((h) => h.token),
      ["tok", "tok2"],
    );
    assert.equal(s.last.token, "tok2", "the opener got the new token too");
    assert.deepEqual(of("reconnected")[0]!.rooms, []);
  } finally {
    await c.close();
  }
});

test("a reconnect refused with bad_token ends the client", async () => {
  const s = new FakeServer();
  const { c, of } = await connect(s);
  s.onHello = () => ({ refuse: Code.BadToken, message: "key rotated" });
  s.last.drop(ConnectionLost, "");
  await waitFor(() => of("closed").length === 1, "closed");
  await sleep(40);
  assert.equal(of("closed")[0]!.code, Code.BadToken);
  assert.equal(of("reconnecting").length, 1);
  assert.equal(s.hellos.length, 2);
  assert.equal(c.connected, false);
});

test("maxReconnectAttempts gives up with closed", async () => {
  const s = new FakeServer();
  const calls: string[] = [];
  let down = false;
  const { c, of } = await connect(s, { maxReconnectAttempts: 2, openers: { websocket: flaky(s, "websocket", () => down, calls) } });
  down = true;
  s.last.drop(ConnectionLost, "");
  await waitFor(() => of("closed").length === 1, "closed", 3000);
  await sleep(60);
  assert.deepEqual(
    of("reconnecting").map((r) => r.attempt),
    [1, 2],
  );
  assert.deepEqual(calls, ["opened", "refused", "refused"]);
  const closed = of("closed");
  assert.equal(closed.length, 1);
  assert.equal(closed[0]!.code, ConnectionLost);
  assert.equal(c.connected, false);
});

test("reconnect: false ends the client on a lost connection", async () => {
  const s = new FakeServer();
  const { c, of } = await connect(s, { reconnect: false });
  s.last.drop(ConnectionLost, "");
  await waitFor(() => of("closed").length === 1, "closed");
  await sleep(30);
  assert.equal(of("disconnected")[0]!.willReconnect, false);
  assert.equal(s.opened.length, 1);
  assert.equal(c.connected, false);
});

test("close() sends Close, closes the transport, fires closed and stops reconnecting", async () => {
  const s = new FakeServer();
  const { c, of } = await connect(s);
  const conn: FakeConn = s.last;
  await c.close();
  const closes = conn.sentOf(Kind.Close);
  assert.equal(closes.length, 1);
  assert.equal(closes[0]!.code, 0);
  assert.ok(conn.closedByClient);
  assert.deepEqual(
    of("closed").map((e) => e.code),
    [0],
  );
  await sleep(30);
  assert.equal(s.opened.length, 1);
  await assert.rejects(c.ping(), (err: unknown) => err instanceof TickwireError);
});

// ---- found in review: frames right behind a reply, acks after a reconnect, ordering, hostile lists, iterators ----

test("pushes in the same batch right behind RoomJoined reach the new room", async () => {
  const s = new FakeServer();
  s.onFrame = (f, conn) => {
    if (f.kind !== Kind.RoomJoinOrCreate) return;
    const members = [{ member: 1, userId: "u_ann", displayName: "Ann" }];
    conn.push({ kind: Kind.RoomJoined, ref: f.ref, roomId: bigRoom, type: "relay", label: "a", tickRate: 30, tick: 10, serverTimeUs: 0, capacity: 8, you: 1, members });
    conn.push({ kind: Kind.RoomEvent, ref: 0, roomId: bigRoom, event: "joined", member: 2, userId: "u_bob", displayName: "Bob" });
    conn.push({ kind: Kind.RoomTick, ref: 0, roomId: bigRoom, tick: 11, serverTimeUs: 0, inputs: [] });
  };
  const { c } = await connect(s);
  const room = await c.joinOrCreateRoom({ label: "a" });
  assert.deepEqual([...room.members.keys()], [1, 2], "Bob's join, pushed right behind the reply, is in the room");
  assert.equal(room.lastTick, 11, "the tick right behind the reply reached the room");
});

test("a message delivered again after a reconnect is acknowledged again", async () => {
  const { c, s } = await connect();
  const first = s.last;
  first.push(message(5));
  await waitFor(() => first.sentOf(Kind.MessageAck).length === 1, "the first ack");
  first.drop(); // the ack may have been lost with the connection
  await waitFor(() => s.conns.length === 2 && c.connected, "reconnected");
  const second = s.last;
  second.push(message(5)); // the server delivers it again
  await waitFor(() => second.sentOf(Kind.MessageAck).length === 1, "the ack on the new connection");
  assert.equal(second.sentOf(Kind.MessageAck)[0]!.upToId, 5);
  assert.equal(c.stats.duplicateMessages, 1);
});

test("a Close right behind Welcome makes connect reject with its code", async () => {
  const s = new FakeServer();
  s.onHello = (_h, conn) => {
    conn.push({ kind: Kind.Welcome, ...s.welcome });
    conn.push({ kind: Kind.Close, code: Code.BadToken, reason: "revoked meanwhile" });
    return "silent";
  };
  await assert.rejects(
    Client.connect({ url: "http://fake.test", token: "tok", transports: ["websocket"], openers: s.openers(), connectTimeoutMs: 200 }),
    (err: unknown) => err instanceof TickwireError && err.code === Code.BadToken,
  );
});

test("reconnected is not reported for a connection that dropped while rooms were rejoined", async () => {
  const s = new FakeServer();
  servesRooms(s);
  const rooms = s.onFrame;
  let dropNextJoin = false;
  s.onFrame = (f, conn, ch) => {
    if (f.kind === Kind.RoomJoin && dropNextJoin) {
      dropNextJoin = false;
      conn.drop();
      return;
    }
    rooms(f, conn, ch);
  };
  const { c, of, events } = await connect(s);
  await c.joinRoom(bigRoom);
  dropNextJoin = true;
  s.last.drop();
  await waitFor(() => of("reconnected").length === 1, "reconnected once the rooms are back");
  assert.equal(s.conns.length, 3, "the second connection dropped during the rejoin; the third made it");
  const order = events.map(([n]) => n).filter((n) => n === "disconnected" || n === "reconnected");
  assert.deepEqual(order, ["disconnected", "disconnected", "reconnected"]);
  assert.deepEqual(of("reconnected")[0]!.rooms, [bigRoom]);
});

test("a friend list that never advances is refused instead of read forever", async () => {
  const s = new FakeServer();
  s.onFrame = (f, conn) => {
    if (f.kind !== Kind.FriendList) return;
    const friend = { userId: "u_bob", username: "bob", displayName: "Bob", state: "friend", presence: "online", statusText: "", lastSeenUs: 0 };
    conn.push({ kind: Kind.FriendListResult, ref: f.ref, friends: [friend], more: true });
  };
  const { c } = await connect(s);
  await assert.rejects(within(c.friends(), 2000, "friends"), (err: unknown) => err instanceof TickwireError && err.code === Code.BadFrame);
});

test("iterators end when their room closes and when the client closes", async () => {
  const s = new FakeServer();
  servesRooms(s);
  const { c } = await connect(s);
  const room = await c.joinRoom(bigRoom);
  const ticks = room.events("tick");
  const messages = c.events("message");
  s.last.push({ kind: Kind.RoomTick, ref: 0, roomId: bigRoom, tick: 200, serverTimeUs: 0, inputs: [] });
  s.last.push({ kind: Kind.RoomClosed, ref: 0, roomId: bigRoom, code: Code.RoomClosed, message: "bye" });
  assert.equal((await within(ticks.next(), 1000, "queued tick")).value?.tick, 200, "what was queued is handed out first");
  assert.equal((await within(ticks.next(), 1000, "end of ticks")).done, true);
  const pending = messages.next();
  await c.close();
  assert.equal((await within(pending, 1000, "end of messages")).done, true);
});
