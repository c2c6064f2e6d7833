// The SDK never downgrades an https: page (src/secure.ts).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "../src/codes";
import { TickwireError } from "../src/errors";
import { checkBase } from "../src/secure";
import { wsURL } from "../src/ws";

function refused(fn: () => unknown, code: number): void {
  assert.throws(fn, (err: unknown) => err instanceof TickwireError && err.code === code);
}

test("an https: page reaches the API over https: only", () => {
  assert.equal(checkBase("https://game.example.com:7780", "https:").protocol, "https:");
  refused(() => checkBase("http://game.example.com:7780", "https:"), Code.Forbidden);
  refused(() => checkBase("http://localhost:7780", "https:"), Code.Forbidden);
});

test("an http: page (development) may use either", () => {
  assert.equal(checkBase("http://127.0.0.1:7780", "http:").protocol, "http:");
  assert.equal(checkBase("https://127.0.0.1:7780", "http:").protocol, "https:");
  assert.equal(checkBase("http://127.0.0.1:7780", "").protocol, "http:", "outside a page");
});

test("the base must be an absolute http(s) URL", () => {
  refused(() => checkBase("ws://game.example.com", "http:"), Code.BadRequest);
  refused(() => checkBase("/v1", "http:"), Code.BadRequest);
});

test("wss: follows https:", () => {
  assert.equal(wsURL("https://game.example.com:7780"), "wss://game.example.com:7780/v1/ws");
  assert.equal(wsURL("https://game.example.com/play/"), "wss://game.example.com/play/v1/ws");
  assert.equal(wsURL("http://127.0.0.1:7780"), "ws://127.0.0.1:7780/v1/ws");
});
