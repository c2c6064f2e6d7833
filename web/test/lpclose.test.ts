// The long-poll connection's close (docs/PROTOCOL.md §2.5 "Liveness and
// closing"), over a fake fetch that plays the server's four routes: the
// close record goes after the frames still unacknowledged, never while
// another send is in flight, and DELETE carries the code only when that
// send fails.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeBatch, encodeBatch, openLongPoll } from "../src/longpoll";
import { Timeout } from "../src/transport";
import { waitFor } from "./fakes";

interface Call {
  method: string;
  path: string;
  records: Array<{ seq: number; type: number; body: Uint8Array }>;
  at: number;
}

/** fakeLP answers /open, holds /recv until aborted, and answers /send when the test releases it. */
function fakeLP(opts: { failSend?: boolean } = {}) {
  const calls: Call[] = [];
  let inflight = 0;
  let maxInflight = 0;
  const releases: Array<() => void> = [];
  let applied = 0;
  const f = (async (input: URL | RequestInfo, init?: RequestInit): Promise<Response> => {
    const u = new URL(String(input));
    const method = init?.method ?? "GET";
    const call: Call = { method, path: u.pathname, records: [], at: calls.length };
    calls.push(call);
    if (u.pathname.endsWith("/open")) {
      return Response.json({
        id: "s1",
        secret: "x",
        max_wait_ms: 5000,
        idle_timeout_ms: 10000,
        max_message_size: 16384,
        max_batch_frames: 256,
        max_batch_bytes: 262144,
      });
    }
    if (u.pathname.endsWith("/recv")) {
      return new Promise((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(new Error("aborted")));
      });
    }
    if (u.pathname.endsWith("/send")) {
      call.records = decodeBatch(new Uint8Array(init!.body as Uint8Array), 16384).records;
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
      await new Promise<void>((r) => releases.push(r));
      inflight--;
      if (opts.failSend) return Response.json({ error: "server_busy", code: 22, message: "" }, { status: 500 });
      for (const r of call.records) applied = Math.max(applied, r.seq);
      return new Response(encodeBatch(applied, []) as BodyInit);
    }
    return new Response(null, { status: 204 }); // DELETE
  }) as typeof fetch;
  return {
    fetch: f,
    calls,
    get maxInflight() {
      return maxInflight;
    },
    release() {
      releases.shift()?.();
    },
    get waiting() {
      return releases.length;
    },
  };
}

const enc = new TextEncoder();

test("close waits for the send in flight, then sends the close record after the unacknowledged frames", async () => {
  const lp = fakeLP();
  const conn = await openLongPoll({ url: "http://127.0.0.1:1", token: "t", signal: new AbortController().signal, fetch: lp.fetch });
  conn.start({ message() {}, close() {} });
  conn.send(0, enc.encode("one"));
  await waitFor(() => lp.waiting === 1, "the first send is in flight");
  conn.send(0, enc.encode("two")); // queued behind it
  conn.close(0, "bye");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(lp.waiting, 1, "no second send while the first is in flight");
  lp.release();
  await waitFor(() => lp.waiting === 1, "the closing send");
  lp.release();
  await waitFor(() => lp.calls.filter((c) => c.method === "POST" && c.path.endsWith("/send")).length === 2, "two sends");
  const last = lp.calls.filter((c) => c.path.endsWith("/send"))[1]!;
  assert.deepEqual(
    last.records.map((r) => [r.seq, r.type]),
    [
      [2, 0],
      [3, 3],
    ],
    "the frame not yet acknowledged, then the close record",
  );
  assert.equal(new DataView(last.records[1]!.body.buffer, last.records[1]!.body.byteOffset).getUint16(0), 0);
  assert.equal(new TextDecoder().decode(last.records[1]!.body.subarray(2)), "bye");
  assert.equal(lp.maxInflight, 1);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(lp.calls.filter((c) => c.method === "DELETE").length, 0, "no DELETE once the close record was taken");
});

test("close falls back to DELETE with the code when the closing send fails", async () => {
  const lp = fakeLP({ failSend: true });
  const conn = await openLongPoll({ url: "http://127.0.0.1:1", token: "t", signal: new AbortController().signal, fetch: lp.fetch });
  conn.start({ message() {}, close() {} });
  conn.close(11, "idle");
  await waitFor(() => lp.waiting === 1, "the closing send");
  lp.release();
  await waitFor(() => lp.calls.some((c) => c.method === "DELETE"), "a DELETE");
  const del = lp.calls.find((c) => c.method === "DELETE")!;
  assert.match(del.path, /\/v1\/lp\/s1$/);
});

test("after close, send refuses", async () => {
  const lp = fakeLP();
  const conn = await openLongPoll({ url: "http://127.0.0.1:1", token: "t", signal: new AbortController().signal, fetch: lp.fetch });
  conn.start({ message() {}, close() {} });
  conn.close();
  assert.throws(() => conn.send(0, enc.encode("late")));
  lp.release();
});

test("a frame queued while a send is in flight goes as soon as that send answers, with no further send()", async () => {
  const lp = fakeLP();
  const conn = await openLongPoll({ url: "http://127.0.0.1:1", token: "t", signal: new AbortController().signal, fetch: lp.fetch });
  conn.start({ message() {}, close() {} });
  conn.send(0, enc.encode("one"));
  await waitFor(() => lp.waiting === 1, "the first send is in flight");
  conn.send(1, enc.encode("two"));
  lp.release();
  await waitFor(() => lp.waiting === 1, "the second send, started by the first one's answer", 500);
  const second = lp.calls.filter((c) => c.path.endsWith("/send"))[1]!;
  assert.deepEqual(
    second.records.map((r) => [r.seq, r.type]),
    [[2, 1]],
  );
  lp.release();
  conn.close();
  await waitFor(() => lp.waiting === 1, "the closing send");
  lp.release();
});

test("sends that never answer end the connection with timeout even while receives keep answering", async () => {
  let sends = 0;
  const f = (async (input: URL | RequestInfo, init?: RequestInit): Promise<Response> => {
    const u = new URL(String(input));
    if (u.pathname.endsWith("/open")) {
      return Response.json({ id: "s1", secret: "x", max_wait_ms: 50, idle_timeout_ms: 1000, max_message_size: 16384, max_batch_frames: 256, max_batch_bytes: 262144 });
    }
    const signal = init?.signal;
    if (u.pathname.endsWith("/recv")) {
      await new Promise((r) => setTimeout(r, 20)); // answers, empty, every 20 ms
      if (signal?.aborted) throw new Error("aborted");
      return new Response(encodeBatch(0, []) as BodyInit);
    }
    if (u.pathname.endsWith("/send")) {
      sends++;
      return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(new Error("aborted")))); // held forever
    }
    return new Response(null, { status: 204 });
  }) as typeof fetch;
  const conn = await openLongPoll({ url: "http://127.0.0.1:1", token: "t", signal: new AbortController().signal, fetch: f });
  let ended: number | undefined;
  conn.start({ message() {}, close: (code) => (ended = code) });
  conn.send(0, enc.encode("stuck"));
  try {
    await waitFor(() => ended !== undefined, "the connection gives up", 5000);
  } finally {
    conn.close(); // whatever happened, nothing of it outlives the test
  }
  assert.equal(ended, Timeout);
  assert.ok(sends >= 1);
});
