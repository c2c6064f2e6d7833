// The emitter and its bounded async iterators.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Emitter } from "../src/events";

interface Ev {
  n: number;
  s: string;
}

test("handlers get events until unsubscribed; one that throws does not stop the others", (t) => {
  // The emitter rethrows a handler's error in a microtask (so that it is
  // reported, not swallowed): catch it there.
  const rethrown: unknown[] = [];
  t.mock.method(globalThis, "queueMicrotask", (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      rethrown.push(err);
    }
  });
  const e = new Emitter<Ev>();
  const got: number[] = [];
  const off = e.on("n", (v) => got.push(v));
  e.on("n", () => {
    throw new Error("handler bug");
  });
  e.on("n", (v) => got.push(v * 10));
  e.emit("n", 1);
  off();
  e.emit("n", 2);
  assert.deepEqual(got, [1, 10, 20]);
  assert.equal(rethrown.length, 2);
  assert.match(String(rethrown[0]), /handler bug/);
});

test("once resolves with the next event only", async () => {
  const e = new Emitter<Ev>();
  const p = e.once("s");
  e.emit("s", "a");
  e.emit("s", "b");
  assert.equal(await p, "a");
});

test("an iterator yields events in order, buffered and awaited alike", async () => {
  const e = new Emitter<Ev>();
  const it = e.events("n");
  e.emit("n", 1);
  e.emit("n", 2);
  e.emit("s", "other");
  assert.deepEqual(await it.next(), { value: 1, done: false });
  assert.deepEqual(await it.next(), { value: 2, done: false });
  const waiting = it.next();
  e.emit("n", 3);
  e.emit("n", 4);
  assert.deepEqual(await waiting, { value: 3, done: false });
  assert.deepEqual(await it.next(), { value: 4, done: false });
  await it.return!();
});

test("a full queue drops the oldest and counts the drops", async () => {
  const e = new Emitter<Ev>();
  const it = e.events("n", { max: 3 });
  for (let i = 1; i <= 7; i++) e.emit("n", i);
  assert.equal(e.dropped.get("n"), 4);
  const got: number[] = [];
  for (let i = 0; i < 3; i++) got.push((await it.next()).value as number);
  assert.deepEqual(got, [5, 6, 7]);
  e.emit("n", 8);
  assert.deepEqual(await it.next(), { value: 8, done: false });
  assert.equal(e.dropped.get("n"), 4);
  assert.equal(e.dropped.get("s"), undefined);
  await it.return!();
});

test("the default queue holds 1024", () => {
  const e = new Emitter<Ev>();
  const it = e.events("n");
  for (let i = 0; i < 1030; i++) e.emit("n", i);
  assert.equal(e.dropped.get("n"), 6);
  void it.return!();
});

test("return() ends the iterator: a pending next resolves done, later events are not queued", async () => {
  const e = new Emitter<Ev>();
  const it = e.events("n");
  const waiting = it.next();
  assert.deepEqual(await it.return!(), { value: undefined, done: true });
  assert.deepEqual(await waiting, { value: undefined, done: true });
  e.emit("n", 1);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  assert.equal(e.dropped.get("n"), undefined);
});

test("a for-await loop's break ends the iterator", async () => {
  const e = new Emitter<Ev>();
  const it = e.events("n");
  e.emit("n", 1);
  e.emit("n", 2);
  const got: number[] = [];
  for await (const v of it) {
    got.push(v);
    if (v === 2) break;
  }
  assert.deepEqual(got, [1, 2]);
  e.emit("n", 3);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("an abort ends the iterator and wakes a pending next", async () => {
  const e = new Emitter<Ev>();
  const ctl = new AbortController();
  const it = e.events("n", { signal: ctl.signal });
  e.emit("n", 1);
  assert.deepEqual(await it.next(), { value: 1, done: false });
  const waiting = it.next();
  ctl.abort();
  assert.deepEqual(await waiting, { value: undefined, done: true });
  e.emit("n", 2);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("an iterator on an already aborted signal ends at once", async () => {
  const e = new Emitter<Ev>();
  const ctl = new AbortController();
  ctl.abort();
  const it = e.events("n", { signal: ctl.signal });
  e.emit("n", 1);
  const r = await Promise.race([it.next(), new Promise((r) => setTimeout(() => r("pending"), 50))]);
  assert.deepEqual(r, { value: undefined, done: true });
});
