// Transport fallback: dial() tries the openers in order, each bounded by
// timeoutMs with Hello/Welcome included, and stops at a fatal refusal.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "../src/client";
import { Code } from "../src/codes";
import { Attempt, dial, DialOptions } from "../src/dial";
import { TickwireError } from "../src/errors";
import { Kind } from "../src/frames";
import type { Conn, Opener, TransportName } from "../src/transport";
import { ConnectionLost, DefaultTransports, Timeout } from "../src/transport";
import { failing, FakeServer, hanging, within } from "./fakes";

const all: TransportName[] = ["webrtc", "websocket", "longpoll"];

function options(openers: Partial<Record<TransportName, Opener>>, o: Partial<DialOptions> = {}): DialOptions {
  return { url: "http://fake.test", token: "tok", order: DefaultTransports, timeoutMs: 50, openers, ...o };
}

/** caught awaits p, which must reject with a TickwireError. */
async function caught(p: Promise<unknown>): Promise<TickwireError & { attempts?: Attempt[] }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TickwireError, `rejected with ${String(err)}, not a TickwireError`);
    return err;
  }
  assert.fail("resolved, want a rejection");
}

test("the default order is webrtc, websocket, longpoll", async () => {
  assert.deepEqual([...DefaultTransports], all);
  const calls: TransportName[] = [];
  const s = new FakeServer();
  const d = await dial(
    options({
      webrtc: failing(Code.Unsupported, 0, calls, "webrtc"),
      websocket: failing(ConnectionLost, 0, calls, "websocket"),
      longpoll: s.opener("longpoll"),
    }),
  );
  assert.deepEqual([...calls, ...s.opened], all);
  assert.equal(d.conn.transport, "longpoll");
  assert.deepEqual(
    d.attempts.map((a) => [a.transport, a.code]),
    [
      ["webrtc", Code.Unsupported],
      ["websocket", ConnectionLost],
      ["longpoll", undefined],
    ],
  );
  d.conn.close();
});

test("Client.connect uses the default order when none is given", async () => {
  const calls: TransportName[] = [];
  const s = new FakeServer();
  const c = await Client.connect({
    url: "http://fake.test",
    token: "tok",
    openers: { webrtc: failing(Code.Unsupported, 0, calls, "webrtc"), websocket: s.opener("websocket"), longpoll: s.opener("longpoll") },
  });
  try {
    assert.deepEqual(calls, ["webrtc"]);
    assert.deepEqual(s.opened, ["websocket"]);
    assert.equal(c.transport, "websocket");
  } finally {
    await c.close();
  }
});

test("webrtc refused: websocket is used and the attempt records the failure and its code", async () => {
  const s = new FakeServer();
  const d = await dial(options({ webrtc: failing(Code.Unsupported), websocket: s.opener("websocket"), longpoll: s.opener("longpoll") }));
  assert.equal(d.conn.transport, "websocket");
  assert.deepEqual(s.opened, ["websocket"]);
  assert.equal(d.attempts.length, 2);
  const [rtc, ws] = d.attempts as [Attempt, Attempt];
  assert.equal(rtc.transport, "webrtc");
  assert.equal(rtc.code, Code.Unsupported);
  assert.match(rtc.error ?? "", /unsupported/);
  assert.equal(ws.transport, "websocket");
  assert.equal(ws.code, undefined);
  assert.equal(ws.error, undefined);
  // the session on it is open: Hello went first, with the token
  const hello = s.last.sent[0]!.frame;
  assert.equal(hello.kind, Kind.Hello);
  assert.equal(hello.token, "tok");
  assert.equal(hello.version, 1);
  assert.equal(d.welcome.userId, "u_ann");
  d.conn.close();
});

test("an opener that hangs (and honours its abort signal) is given up after timeoutMs", async () => {
  const s = new FakeServer();
  const t0 = performance.now();
  const d = await within(
    dial(options({ webrtc: hanging(), websocket: s.opener("websocket") }, { timeoutMs: 40 })),
    2000,
    "dial",
  );
  const ms = performance.now() - t0;
  assert.equal(d.conn.transport, "websocket");
  assert.equal(d.attempts[0]!.transport, "webrtc");
  assert.equal(d.attempts[0]!.code, Timeout);
  assert.ok(d.attempts[0]!.ms >= 35, `gave up after ${d.attempts[0]!.ms} ms, before the 40 ms bound`);
  assert.ok(ms < 1000, `took ${ms} ms`);
  d.conn.close();
});

test("an opener whose aborted fetch rejects with connection_lost (as http.ts reports it) is recorded as a timeout", async () => {
  // http.request turns any fetch failure, the abort by dial's own bound
  // included, into TickwireError(ConnectionLost): the long-poll open and the
  // WebRTC offer go through it.
  const s = new FakeServer();
  const asHttpTs = (reason: unknown) =>
    new TickwireError(ConnectionLost, `POST v1/lp/open: ${reason instanceof Error ? reason.message : String(reason)}`, { cause: reason });
  const d = await within(
    dial(options({ longpoll: hanging(undefined, undefined, asHttpTs), websocket: s.opener("websocket") }, { order: ["longpoll", "websocket"], timeoutMs: 40 })),
    2000,
    "dial",
  );
  assert.equal(d.conn.transport, "websocket");
  assert.equal(d.attempts[0]!.code, Timeout, `recorded as ${d.attempts[0]!.error}`);
  d.conn.close();
});

test("an opener that hangs forever, ignoring its signal, is given up after timeoutMs", async () => {
  // A custom Opener (ConnectOptions.openers) need not watch the signal: the
  // per-attempt bound is dial's to keep, not the opener's.
  const s = new FakeServer();
  let late: ((c: Conn) => void) | undefined;
  const forever: Opener = () => new Promise<Conn>((resolve) => (late = resolve));
  const d = await within(dial(options({ webrtc: forever, websocket: s.opener("websocket") }, { timeoutMs: 40 })), 1000, "dial");
  assert.equal(d.conn.transport, "websocket");
  assert.equal(d.attempts[0]!.code, Timeout);
  // a connection that turns up after its attempt was given up is closed, not leaked
  const stray = s.connect("webrtc", "tok");
  late?.(stray);
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(stray.closedByClient, "the late webrtc connection was closed");
  d.conn.close();
});

test("a connection that never answers Hello times out and the next transport is used", async () => {
  const silent = new FakeServer();
  silent.onHello = () => "silent";
  const s = new FakeServer();
  const t0 = performance.now();
  const d = await within(dial(options({ webrtc: silent.opener("webrtc"), websocket: s.opener("websocket") }, { timeoutMs: 50 })), 2000, "dial");
  assert.equal(d.conn.transport, "websocket");
  assert.equal(silent.hellos.length, 1, "the silent server got Hello");
  assert.equal(d.attempts[0]!.code, Timeout);
  assert.ok(performance.now() - t0 >= 45);
  assert.ok(silent.last.closedByClient, "the silent connection was closed when given up");
  d.conn.close();
});

test("a refusal with Error+Close bad_token stops the search at once", async () => {
  const refusing = new FakeServer();
  refusing.onHello = () => ({ refuse: Code.BadToken, message: "bad signature" });
  const s = new FakeServer();
  const err = await caught(
    within(dial(options({ webrtc: refusing.opener("webrtc"), websocket: s.opener("websocket"), longpoll: s.opener("longpoll") })), 1000, "dial"),
  );
  assert.equal(err.code, Code.BadToken);
  assert.equal(err.codeName, "bad_token");
  assert.deepEqual(s.opened, [], "no further transport was tried");
  assert.deepEqual(
    err.attempts?.map((a) => [a.transport, a.code]),
    [["webrtc", Code.BadToken]],
  );
  assert.match(err.message, /bad signature/);
});

test("Error+Close frames stop the search even while the transport stays open", async () => {
  // a long-poll close record, say, can come before the transport's end
  const refusing = new FakeServer();
  refusing.onHello = (_h, conn) => {
    conn.push({ kind: Kind.Error, code: Code.BadToken, message: "bad signature", ref: 0 });
    conn.push({ kind: Kind.Close, code: Code.BadToken, reason: "bad signature" });
    return "silent";
  };
  const s = new FakeServer();
  const t0 = performance.now();
  const err = await caught(within(dial(options({ webrtc: refusing.opener("webrtc"), websocket: s.opener("websocket") }, { timeoutMs: 500 })), 1000, "dial"));
  assert.equal(err.code, Code.BadToken);
  assert.ok(performance.now() - t0 < 400, "refused at once, not at the timeout");
  assert.deepEqual(s.opened, []);
  assert.ok(refusing.last.closedByClient, "the refused connection was closed");
});

for (const code of [Code.TokenExpired, Code.TokenRevoked, Code.ProtocolVersion]) {
  test(`a refusal with code ${code} stops the search too`, async () => {
    const refusing = new FakeServer();
    refusing.onHello = () => ({ refuse: code });
    const s = new FakeServer();
    const err = await caught(within(dial(options({ webrtc: refusing.opener("webrtc"), websocket: s.opener("websocket") })), 1000, "dial"));
    assert.equal(err.code, code);
    assert.deepEqual(s.opened, []);
  });
}

test("a refusal that another transport may not get (server_busy) goes on to the next", async () => {
  const busy = new FakeServer();
  busy.onHello = () => ({ refuse: Code.ServerBusy });
  const s = new FakeServer();
  const d = await dial(options({ webrtc: busy.opener("webrtc"), websocket: s.opener("websocket") }));
  assert.equal(d.conn.transport, "websocket");
  assert.equal(d.attempts[0]!.code, Code.ServerBusy);
  d.conn.close();
});

test("all transports fail: a TickwireError naming every attempt", async () => {
  const silent = new FakeServer();
  silent.onHello = () => "silent";
  const err = await caught(
    within(
      dial(
        options(
          {
            webrtc: failing(Code.Unsupported),
            websocket: failing(ConnectionLost, 5),
            longpoll: silent.opener("longpoll"),
          },
          { timeoutMs: 40 },
        ),
      ),
      2000,
      "dial",
    ),
  );
  for (const name of all) assert.match(err.message, new RegExp(`${name}: `), `the message names ${name}: ${err.message}`);
  assert.match(err.message, /webrtc: unsupported/);
  assert.match(err.message, /websocket: connection_lost|websocket: .*fake opener refused/);
  assert.match(err.message, /longpoll: .*(timeout|no session within)/);
  assert.deepEqual(
    err.attempts?.map((a) => [a.transport, a.code]),
    [
      ["webrtc", Code.Unsupported],
      ["websocket", ConnectionLost],
      ["longpoll", Timeout],
    ],
  );
  assert.equal(err.code, Timeout, "the code is the last attempt's");
});

test("an opener that throws a plain Error is recorded and the next is tried", async () => {
  const s = new FakeServer();
  const d = await dial(
    options({
      webrtc: async () => {
        throw new Error("no RTCPeerConnection here");
      },
      websocket: s.opener("websocket"),
    }),
  );
  assert.equal(d.conn.transport, "websocket");
  assert.equal(typeof d.attempts[0]!.code, "number");
  assert.match(d.attempts[0]!.error ?? "", /no RTCPeerConnection/);
  d.conn.close();
});

test("an empty order is refused", async () => {
  const err = await caught(dial(options({}, { order: [] })));
  assert.equal(err.code, Code.BadRequest);
});

test("a forced transport is the only one tried", async () => {
  for (const forced of all) {
    const s = new FakeServer();
    const c = await Client.connect({ url: "http://fake.test", token: "tok", transport: forced, openers: s.openers() });
    try {
      assert.deepEqual(s.opened, [forced]);
      assert.equal(c.transport, forced);
      assert.deepEqual(
        c.attempts.map((a) => a.transport),
        [forced],
      );
    } finally {
      await c.close();
    }
  }
  // and when it fails there is no fallback
  const s = new FakeServer();
  const err = await caught(
    Client.connect({
      url: "http://fake.test",
      token: "tok",
      transport: "websocket",
      transports: all,
      openers: { ...s.openers(), websocket: failing(ConnectionLost) },
    }),
  );
  assert.deepEqual(s.opened, []);
  assert.deepEqual(
    err.attempts?.map((a) => a.transport),
    ["websocket"],
  );
});

test("an abort of the whole dial stops it", async () => {
  const ctl = new AbortController();
  const p = dial(options({ webrtc: hanging(), websocket: hanging(), longpoll: hanging() }, { timeoutMs: 10_000, signal: ctl.signal }));
  setTimeout(() => ctl.abort(), 20);
  const err = await caught(within(p, 1000, "dial"));
  assert.ok(err.attempts && err.attempts.length === 1, `tried ${err.attempts?.map((a) => a.transport).join(", ")} after the abort`);
});
