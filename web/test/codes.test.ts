// The SDK's code table (src/codes.ts) against the Go table's golden copy,
// test/golden/codes.json: [{"code": n, "name": "..."}] for every code of
// netcode/codes.go.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Code, codeName, mayReconnect } from "../src/codes";
import { TickwireError } from "../src/errors";
import { ConnectionLost, describeCode, Timeout } from "../src/transport";

interface GoldenCode {
  code: number;
  name: string;
}

const golden: GoldenCode[] = JSON.parse(readFileSync(new URL("../test/golden/codes.json", import.meta.url), "utf8"));

/** the Code key a name goes with: "room_full" ↔ RoomFull, "ok" ↔ OK */
function sameName(key: string, name: string): boolean {
  return key.toLowerCase() === name.replace(/_/g, "");
}

test("the golden table is well formed", () => {
  assert.ok(golden.length > 50, `${golden.length} codes`);
  const codes = new Set<number>();
  const names = new Set<string>();
  for (const g of golden) {
    assert.ok(Number.isInteger(g.code) && g.code >= 0 && g.code <= 0xffff, `code ${g.code}`);
    assert.match(g.name, /^[a-z][a-z_]*$/);
    assert.ok(!codes.has(g.code), `code ${g.code} twice`);
    assert.ok(!names.has(g.name), `name ${g.name} twice`);
    codes.add(g.code);
    names.add(g.name);
  }
});

test("codeName names every Go code as Go does", () => {
  const wrong = golden.filter((g) => codeName(g.code) !== g.name).map((g) => `${g.code}: SDK ${codeName(g.code)}, Go ${g.name}`);
  assert.deepEqual(wrong, [], wrong.join("; "));
});

test("Code has a constant for every Go code, with the matching name", () => {
  const byValue = new Map<number, string[]>();
  for (const [k, v] of Object.entries(Code)) byValue.set(v, [...(byValue.get(v) ?? []), k]);
  const missing: string[] = [];
  for (const g of golden) {
    const keys = byValue.get(g.code) ?? [];
    if (!keys.some((k) => sameName(k, g.name))) missing.push(`${g.code} ${g.name} (Code has ${keys.join(", ") || "nothing"})`);
  }
  assert.deepEqual(missing, [], `missing or misnamed in Code: ${missing.join("; ")}`);
});

test("the SDK has no code the Go table lacks", () => {
  const goCodes = new Set(golden.map((g) => g.code));
  const extra = Object.entries(Code)
    .filter(([, v]) => !goCodes.has(v))
    .map(([k, v]) => `${k} = ${v}`);
  assert.deepEqual(extra, [], `codes not in netcode/codes.go: ${extra.join(", ")}`);
  assert.equal(Object.keys(Code).length, golden.length);
});

test("errors carry the Go names", () => {
  for (const g of golden) {
    const err = new TickwireError(g.code, "x");
    assert.equal(err.codeName, g.name);
    assert.equal(err.message, `${g.name}: x`);
  }
  assert.equal(new TickwireError(Code.RoomFull).message, "room_full");
});

test("unknown codes and the SDK-only pseudo-codes have names", () => {
  assert.equal(codeName(98), "code_98");
  assert.equal(codeName(65535), "code_65535");
  assert.equal(describeCode(ConnectionLost), "connection_lost");
  assert.equal(describeCode(Timeout), "timeout");
  assert.equal(describeCode(Code.RoomFull), "room_full");
  assert.deepEqual([ConnectionLost, Timeout], [-1, -2]);
});

test("mayReconnect is false exactly for the codes netcode.Code.MayReconnect refuses", () => {
  // netcode/codes.go: kicked, bad_token, token_revoked, protocol_version, replaced, forbidden, too_many_errors, untrusted_certificate
  const never = new Set(["kicked", "bad_token", "token_revoked", "protocol_version", "replaced", "forbidden", "too_many_errors", "untrusted_certificate"]);
  const wrong = golden.filter((g) => mayReconnect(g.code) === never.has(g.name)).map((g) => `${g.name}: ${mayReconnect(g.code)}`);
  assert.deepEqual(wrong, []);
  assert.ok(mayReconnect(ConnectionLost));
});
