// Room tick ordering (docs/PROTOCOL.md §4): the relay sends a tick's
// reliable and unreliable inputs as two RoomTicks with the same number, one
// per channel; newest-wins applies within the unreliable channel only.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Room } from "../src/room";
import type { RoomTick } from "../src/types";

function room(): Room {
  const host = { sendInput() {}, async leaveRoom() {} };
  return new Room(host, {
    roomId: 7n,
    type: "relay",
    label: "",
    tickRate: 30,
    tick: 0,
    serverTimeUs: 0,
    capacity: 8,
    you: 1,
    members: [{ member: 1, userId: "u1", displayName: "A" }],
  });
}

function tick(n: number, unreliable: boolean): RoomTick {
  return { roomId: 7n, tick: n, serverTimeUs: 0, inputs: [], unreliable };
}

test("a reliable tick and an unreliable tick with the same number are both delivered", () => {
  const r = room();
  const got: Array<[number, boolean]> = [];
  r.on("tick", (t) => got.push([t.tick, t.unreliable]));
  r.onTick(tick(5, false));
  r.onTick(tick(5, true));
  r.onTick(tick(6, true));
  r.onTick(tick(6, false));
  assert.deepEqual(got, [
    [5, false],
    [5, true],
    [6, true],
    [6, false],
  ]);
  assert.equal(r.staleTicks, 0);
});

test("an unreliable tick older than the newest unreliable one is dropped and counted", () => {
  const r = room();
  const got: number[] = [];
  r.on("tick", (t) => got.push(t.tick));
  r.onTick(tick(9, true));
  r.onTick(tick(8, true));
  r.onTick(tick(9, true));
  r.onTick(tick(8, false)); // reliable ticks are never dropped
  assert.deepEqual(got, [9, 8]);
  assert.equal(r.staleTicks, 2);
  assert.equal(r.lastTick, 9);
});

test("member events keep the member map", () => {
  const r = room();
  r.onEvent({ roomId: 7n, event: "joined", member: 2, userId: "u2", displayName: "B" });
  assert.deepEqual([...r.members.keys()], [1, 2]);
  r.onEvent({ roomId: 7n, event: "left", member: 1, userId: "u1", displayName: "A" });
  assert.deepEqual([...r.members.keys()], [2]);
});
