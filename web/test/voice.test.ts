// The pure parts of the browser voice link: the room's voice state and
// which member a slot carries.

import assert from "node:assert/strict";
import { test } from "node:test";
import { slotMember, VoiceState } from "../src/voice";

test("VoiceState follows speaking, mute and deafen events and reports speaking changes", () => {
  const s = new VoiceState();
  assert.equal(s.apply({ member: 2, event: "speaking" }), true);
  assert.equal(s.apply({ member: 2, event: "speaking" }), false, "no change, no report");
  assert.equal(s.apply({ member: 3, event: "muted" }), false);
  assert.deepEqual([...s.speaking], [2]);
  assert.deepEqual([...s.muted], [3]);
  assert.equal(s.apply({ member: 2, event: "silent" }), true);
  s.apply({ member: 3, event: "deafened" });
  s.apply({ member: 3, event: "unmuted" });
  assert.deepEqual([...s.muted], []);
  assert.deepEqual([...s.deafened], [3]);
  s.forget(3);
  assert.deepEqual([...s.deafened], []);
});

test("slotMember is the most recent contributing source, 0 for none", () => {
  assert.equal(slotMember([]), 0);
  assert.equal(
    slotMember([
      { source: 4, timestamp: 100 },
      { source: 9, timestamp: 250 },
      { source: 7, timestamp: 200 },
    ]),
    9,
  );
});
