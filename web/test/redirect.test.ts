// Redirects in a cluster (docs/CLUSTER.md): a join answered with
// RoomRedirect is followed to a session on the owner node, with the
// ticket, within maxRedirects; an unreachable node is node_gone.

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { Client } from "../src/client";
import { Code } from "../src/codes";
import { TickwireError } from "../src/errors";
import { Frame, Kind } from "../src/frames";
import type { Opener, OpenOptions, TransportName } from "../src/transport";
import { FakeConn, FakeServer, within } from "./fakes";

const ticket = new Uint8Array([1, 2, 3, 4]);
const live = new Set<Client>();
afterEach(async () => {
  for (const c of live) await c.close();
  live.clear();
});

/** cluster is fake servers by origin, reached through openers that route by url. */
function cluster(...origins: string[]): { servers: Map<string, FakeServer>; openers: Record<TransportName, Opener> } {
  const servers = new Map(origins.map((o) => [o, new FakeServer()]));
  const route = (name: TransportName): Opener => (o: OpenOptions) => {
    const s = servers.get(o.url);
    if (!s) return Promise.reject(new TickwireError(Code.NodeGone, `nobody at ${o.url}`));
    return s.opener(name)(o);
  };
  return { servers, openers: { webrtc: route("webrtc"), websocket: route("websocket"), longpoll: route("longpoll") } };
}

function joined(conn: FakeConn, f: Frame): void {
  conn.push({
    kind: Kind.RoomJoined, ref: f.ref, roomId: f.roomId, type: "relay", label: "eu", tickRate: 30, tick: 1,
    serverTimeUs: Date.now() * 1000, capacity: 4, you: 2, members: [{ member: 2, userId: "u_ann", displayName: "Ann" }],
  });
}

function redirect(conn: FakeConn, f: Frame, to: string, roomId = 42n): void {
  conn.push({ kind: Kind.RoomRedirect, ref: f.ref, roomId, nodeId: to, url: to, ticket, ttlMs: 10000 });
}

async function connect(openers: Record<TransportName, Opener>, url: string, maxRedirects?: number): Promise<Client> {
  const c = await within(
    Client.connect({ url, token: "tok", transports: ["websocket"], openers, connectTimeoutMs: 200, requestTimeoutMs: 2000, reconnect: false, maxRedirects }),
    2000,
    "connect",
  );
  live.add(c);
  return c;
}

test("a join-or-create redirected to another node joins there with the ticket, same token", async () => {
  const { servers, openers } = cluster("http://b.test", "http://a.test");
  const a = servers.get("http://a.test")!;
  servers.get("http://b.test")!.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoinOrCreate) redirect(conn, f, "http://a.test");
  };
  a.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoinTicket) {
      assert.deepEqual(f.ticket, ticket);
      joined(conn, f);
    }
  };
  servers.get("http://b.test")!.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoinOrCreate || f.kind === Kind.RoomJoin) redirect(conn, f, "http://a.test", f.kind === Kind.RoomJoin ? f.roomId as bigint : 42n);
  };
  const c = await connect(openers, "http://b.test");
  const room = await c.joinOrCreateRoom({ label: "eu" });
  assert.equal(room.id, 42n);
  assert.equal(a.hellos.length, 1);
  assert.equal(a.hellos[0].token, "tok", "the same token");
  room.send(new Uint8Array([9]), { reliable: true });
  const sentToA = a.conns[0].sent.map((s) => s.frame.kind);
  assert.ok(sentToA.includes(Kind.RoomInput), "inputs go to the owner node");
  // A second join on the same node reuses the session.
  const other = await c.joinRoom(44n);
  assert.equal(other.id, 44n);
  assert.equal(a.conns.length, 1);
});

test("redirects past maxRedirects fail with too_many_redirects", async () => {
  const { servers, openers } = cluster("http://a.test", "http://b.test");
  // a ↔ b send each other back forever.
  servers.get("http://a.test")!.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoin || f.kind === Kind.RoomJoinTicket) redirect(conn, f, "http://b.test");
  };
  servers.get("http://b.test")!.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoinTicket) redirect(conn, f, "http://a.test");
  };
  const c = await connect(openers, "http://a.test");
  await assert.rejects(c.joinRoom(42n), (e: TickwireError) => e.code === Code.TooManyRedirects);
  const one = await connect(openers, "http://a.test", 0);
  await assert.rejects(one.joinRoom(42n), (e: TickwireError) => e.code === Code.TooManyRedirects);
});

test("a redirect to a node nobody answers at fails with node_gone", async () => {
  const { servers, openers } = cluster("http://b.test");
  servers.get("http://b.test")!.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoin) redirect(conn, f, "http://dead.test");
  };
  const c = await connect(openers, "http://b.test");
  await assert.rejects(c.joinRoom(42n), (e: TickwireError) => e.code === Code.NodeGone);
});

test("a join-or-create whose ticket finds the room full matchmakes again on that node", async () => {
  const { servers, openers } = cluster("http://b.test", "http://a.test");
  const a = servers.get("http://a.test")!;
  servers.get("http://b.test")!.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoinOrCreate) redirect(conn, f, "http://a.test");
  };
  a.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoinTicket) conn.push({ kind: Kind.Error, ref: f.ref, code: Code.RoomFull, message: "full" });
    if (f.kind === Kind.RoomJoinOrCreate) joined(conn, { ...f, roomId: 43n });
  };
  const c = await connect(openers, "http://b.test");
  const room = await c.joinOrCreateRoom({ label: "eu" });
  assert.equal(room.id, 43n);
  // A refused ticket on a join by id is the caller's error.
  a.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoinTicket) conn.push({ kind: Kind.Error, ref: f.ref, code: Code.TicketExpired, message: "late" });
  };
  servers.get("http://b.test")!.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoin) redirect(conn, f, "http://a.test");
  };
  await assert.rejects(c.joinRoom(42n), (e: TickwireError) => e.code === Code.TicketExpired);
});

test("a room on a node session is closed, with the code, when that node ends the session", async () => {
  const { servers, openers } = cluster("http://b.test", "http://a.test");
  const a = servers.get("http://a.test")!;
  servers.get("http://b.test")!.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoin) redirect(conn, f, "http://a.test");
  };
  a.onFrame = (f, conn) => {
    if (f.kind === Kind.RoomJoinTicket) joined(conn, f);
  };
  const c = await connect(openers, "http://b.test");
  const room = await c.joinRoom(42n);
  const closed = new Promise<{ code: number }>((resolve) => room.on("closed", resolve));
  a.conns[0].refuse(Code.ServerShutdown, "bye");
  assert.equal((await within(closed, 2000, "room closed")).code, Code.ServerShutdown);
});
