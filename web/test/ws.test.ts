// WebSocket close statuses back to tickwire codes (docs/PROTOCOL.md §2.3 "Closing").

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { Code } from "../src/codes";
import { TickwireError } from "../src/errors";
import type { Conn } from "../src/transport";
import { ConnectionLost, Timeout } from "../src/transport";
import { closeCode, openWebSocket, wsURL } from "../src/ws";

test("4000 + code carries the tickwire code", () => {
  for (const [status, code] of [
    [4000, 0],
    [4005, 5],
    [4013, 13],
    [4101, 101],
    [4205, 205],
    [4264, 264],
    [4999, 999],
  ]) {
    assert.equal(closeCode(status!), code, `closeCode(${status})`);
  }
});

test("standard WebSocket statuses map to their tickwire codes", () => {
  const want: Array<[number, number]> = [
    [1000, 0],
    [1001, 0],
    [1005, 0],
    [1009, 2],
    [1002, 1],
    [1003, 1],
    [1007, 1],
    [1008, 18],
    [1012, 10],
    [1013, 22],
    [1006, ConnectionLost],
  ];
  for (const [status, code] of want) assert.equal(closeCode(status), code, `closeCode(${status})`);
  assert.equal(ConnectionLost, -1);
});

test("every other status is internal (9)", () => {
  for (const status of [0, 999, 1004, 1010, 1011, 1014, 1015, 2000, 3000, 3999, 5000, 65535]) {
    assert.equal(closeCode(status), 9, `closeCode(${status})`);
  }
});

test("wsURL derives ws: and wss: from the API origin", () => {
  assert.equal(wsURL("http://localhost:7780"), "ws://localhost:7780/v1/ws");
  assert.equal(wsURL("https://example.test/base/"), "wss://example.test/base/v1/ws");
});

// ---- the WebSocket transport over a fake WebSocket ----

/** FakeWS stands in for the WebSocket constructor; the test plays the server. */
class FakeWS {
  static all: FakeWS[] = [];
  readyState = 0;
  binaryType = "blob";
  readonly sent: Uint8Array[] = [];
  closedWith?: { code?: number; reason?: string };
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeWS.all.push(this);
  }

  send(b: Uint8Array): void {
    this.sent.push(new Uint8Array(b));
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // the server's side
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }

  message(data: number[] | string): void {
    this.onmessage?.({ data: typeof data === "string" ? data : new Uint8Array(data).buffer });
  }

  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

const asWebSocket = FakeWS as unknown as typeof WebSocket;

// Every connection a test opened is closed after it (a WSConn runs a
// heartbeat timer until then), whatever the test asserted.
const opened: Conn[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

interface Seen {
  messages: Array<[number, number[]]>;
  closes: Array<[number, string]>;
}

async function openFake(token = "tok"): Promise<{ conn: Conn; ws: FakeWS; seen: Seen }> {
  const p = openWebSocket({ url: "http://fake.test:7780", token, signal: new AbortController().signal, webSocket: asWebSocket });
  const ws = FakeWS.all[FakeWS.all.length - 1]!;
  ws.open();
  const conn = await p;
  opened.push(conn);
  const seen: Seen = { messages: [], closes: [] };
  conn.start({
    message: (ch, b) => seen.messages.push([ch, [...b]]),
    close: (code, reason) => seen.closes.push([code, reason]),
  });
  return { conn, ws, seen };
}

test("openWebSocket dials /v1/ws with the token as a subprotocol and binary frames", async () => {
  const { conn, ws } = await openFake("tw1.abc");
  try {
    assert.equal(ws.url, "ws://fake.test:7780/v1/ws");
    assert.deepEqual(ws.protocols, ["tickwire.v1", "tickwire.bearer.tw1.abc"]);
    assert.equal(ws.binaryType, "arraybuffer");
    assert.equal(conn.transport, "websocket");
  } finally {
    conn.close();
  }
});

test("frames go out behind their channel mark and come in on the channel their mark names", async () => {
  const { conn, ws, seen } = await openFake();
  try {
    conn.send(0, new Uint8Array([0x92, 0x04, 0x01]));
    conn.send(1, new Uint8Array([0x92, 0x04, 0x02]));
    assert.deepEqual(
      ws.sent.map((b) => [...b]),
      [
        [0, 0x92, 0x04, 0x01],
        [1, 0x92, 0x04, 0x02],
      ],
    );
    ws.message([0, 0x92, 0x05, 0x01]);
    ws.message([2]); // a heartbeat: heard, not delivered
    ws.message([1, 0x92, 0x05, 0x02]);
    assert.deepEqual(seen.messages, [
      [0, [0x92, 0x05, 0x01]],
      [1, [0x92, 0x05, 0x02]],
    ]);
    assert.deepEqual(seen.closes, []);
  } finally {
    conn.close();
  }
});

test("a close from the server is reported once with its tickwire code; sending after it throws", async () => {
  const { conn, ws, seen } = await openFake();
  ws.serverClose(4005, "bad signature");
  ws.serverClose(4005, "again");
  assert.deepEqual(seen.closes, [[5, "bad signature"]]);
  assert.throws(
    () => conn.send(0, new Uint8Array([0x91, 0x04])),
    (err: unknown) => err instanceof TickwireError && err.code === ConnectionLost,
  );
  conn.close();
});

test("an abnormal end (1006) is connection_lost", async () => {
  const { conn, ws, seen } = await openFake();
  ws.serverClose(1006);
  assert.deepEqual(seen.closes, [[ConnectionLost, ""]]);
  conn.close();
});

test("close() closes the socket with 4000 + code (1000 for ok) and reports nothing to the handlers", async () => {
  const a = await openFake();
  a.conn.close(13, "replaced");
  assert.deepEqual(a.ws.closedWith, { code: 4013, reason: "replaced" });
  a.ws.serverClose(4013, "replaced"); // the close event that follows
  assert.deepEqual(a.seen.closes, [], "the owner's close is not reported back");
  const b = await openFake();
  b.conn.close();
  assert.equal(b.ws.closedWith?.code, 1000);
  assert.deepEqual(b.seen.closes, []);
});

test("a text message, an empty message or an unknown mark fails the connection with bad_frame", async () => {
  for (const bad of ["text", [], [7, 0x90]] as Array<string | number[]>) {
    const { conn, ws, seen } = await openFake();
    ws.message(bad);
    assert.deepEqual(
      seen.closes.map(([code]) => code),
      [Code.BadFrame],
      `for ${JSON.stringify(bad)}`,
    );
    assert.equal(ws.closedWith?.code, 4000 + Code.BadFrame);
    assert.deepEqual(seen.messages, []);
    conn.close();
  }
});

test("a socket closed before it opened rejects with the close's code", async () => {
  for (const [status, code] of [
    [1006, ConnectionLost],
    [4005, Code.BadToken],
    [1013, Code.ServerBusy],
  ] as const) {
    const p = openWebSocket({ url: "http://fake.test", token: "t", signal: new AbortController().signal, webSocket: asWebSocket });
    FakeWS.all[FakeWS.all.length - 1]!.serverClose(status);
    await assert.rejects(p, (err: unknown) => err instanceof TickwireError && err.code === code, `status ${status}`);
  }
});

test("an aborted attempt closes the socket and rejects with timeout", async () => {
  const ctl = new AbortController();
  const p = openWebSocket({ url: "http://fake.test", token: "t", signal: ctl.signal, webSocket: asWebSocket });
  const ws = FakeWS.all[FakeWS.all.length - 1]!;
  ctl.abort();
  await assert.rejects(p, (err: unknown) => err instanceof TickwireError && err.code === Timeout);
  assert.ok(ws.closedWith, "the socket was closed");
});
