// Frames: the msgpack arrays of docs/PROTOCOL.md §1, §3–5, encoded and
// decoded from one schema table. Each kind lists its fields in wire order
// with a type; encode writes [kind, ...fields] in the smallest integer
// forms (as the Go encoder does), decode checks types, counts and limits
// and reads missing trailing fields as zero values.

import { Decoder, Encoder } from "@msgpack/msgpack";
import { Code } from "./codes";
import { TickwireError } from "./errors";

/** Field types. */
type Scalar =
  | "u" // unsigned integer (uint8..uint32, counters): number
  | "i" // int64 time in µs: number
  | "id" // uint64 room id: bigint
  | "s" // str
  | "b" // bin: Uint8Array
  | "bool";

type FieldType = Scalar | { enum: readonly string[] } | { rec: Schema } | { list: Schema };

interface Schema {
  /** field names, in wire order */
  names: readonly string[];
  types: readonly FieldType[];
  /** fields that must be present */
  min: number;
}

function schema(min: number, fields: Record<string, FieldType>): Schema {
  return { names: Object.keys(fields), types: Object.values(fields), min };
}

// Enum names by wire number ("" = no value), as in netcode/frame/enums.go.
export const Presences = ["offline", "online", "away"] as const;
export const Roles = ["invited", "member", "admin", "owner"] as const;
export const FriendStates = ["none", "incoming", "outgoing", "friend", "blocked"] as const;
export const FriendEvents = ["", "requested", "accepted", "declined", "removed", "blocked", "unblocked"] as const;
export const GroupEvents = ["", "joined", "left", "removed", "invited", "role_changed", "declined"] as const;
export const RoomEvents = ["", "joined", "left", "away", "back"] as const;
export const CallStates = ["", "ringing", "active", "ended"] as const;
export const CallEndReasons = ["none", "declined", "cancelled", "no_answer", "hung_up", "disconnected"] as const;
export const VoiceEvents = ["", "speaking", "silent", "muted", "unmuted", "deafened", "undeafened"] as const;

const presence = { enum: Presences };
const role = { enum: Roles };

const roomMember = schema(1, { member: "u", userId: "s", displayName: "s" });
const tickInput = schema(3, { member: "u", seq: "u", data: "b" });
const roomInfo = schema(1, { roomId: "id", type: "s", label: "s", members: "u", capacity: "u", tickRate: "u" });
const friend = schema(1, {
  userId: "s",
  username: "s",
  displayName: "s",
  state: { enum: FriendStates },
  presence,
  statusText: "s",
  lastSeenUs: "i",
});
const group = schema(1, { id: "u", name: "s", open: "bool", role, members: "u", ownerId: "s" });
const member = schema(1, { userId: "s", displayName: "s", role, presence });
const chatFields = {
  id: "u",
  groupId: "u",
  fromUserId: "s",
  toUserId: "s",
  timeUs: "i",
  body: "s",
  fromName: "s",
} as const;
const chatMessage = schema(1, chatFields);

/** Kind numbers (docs/PROTOCOL.md). */
export const Kind = {
  Hello: 1,
  Welcome: 2,
  Error: 3,
  Ping: 4,
  Pong: 5,
  Close: 6,
  Echo: 7,
  OK: 8,
  Resume: 9,
  Ack: 10,
  Notice: 11,
  RoomCreate: 16,
  RoomJoin: 17,
  RoomJoinOrCreate: 18,
  RoomJoined: 19,
  RoomLeave: 20,
  RoomEvent: 21,
  RoomClosed: 22,
  RoomInput: 23,
  RoomTick: 24,
  RoomData: 25,
  RoomList: 26,
  RoomListResult: 27,
  RoomRedirect: 28,
  RoomJoinTicket: 29,
  VoiceSend: 40,
  VoiceFrame: 41,
  VoiceSet: 42,
  VoiceEvent: 43,
  FriendRequest: 64,
  FriendAccept: 65,
  FriendDecline: 66,
  FriendRemove: 67,
  FriendBlock: 68,
  FriendUnblock: 69,
  FriendList: 70,
  FriendListResult: 71,
  FriendUpdate: 72,
  GroupCreate: 80,
  GroupResult: 81,
  GroupJoin: 82,
  GroupInvite: 83,
  GroupAccept: 84,
  GroupDecline: 85,
  GroupLeave: 86,
  GroupRemove: 87,
  GroupSetRole: 88,
  GroupMembers: 89,
  GroupMembersResult: 90,
  GroupList: 91,
  GroupListResult: 92,
  GroupUpdate: 93,
  DirectSend: 96,
  GroupSend: 97,
  MessageSent: 98,
  Message: 99,
  MessageAck: 100,
  History: 101,
  HistoryResult: 102,
  SetPresence: 104,
  PresenceUpdate: 105,
  Signal: 108,
  SignalRecv: 109,
  CallInvite: 110,
  CallAccept: 111,
  CallEnd: 112,
  CallUpdate: 113,
} as const;

export type KindName = keyof typeof Kind;

const kinds: Record<number, Schema> = {
  [Kind.Hello]: schema(2, { version: "u", token: "s", clientName: "s", clientVersion: "s", resumeId: "s", resume: "bool" }),
  [Kind.Welcome]: schema(4, {
    sessionId: "u",
    userId: "s",
    displayName: "s",
    serverTimeUs: "i",
    maxFrame: "u",
    maxFramesPerSec: "u",
    heartbeatMs: "u",
    idleTimeoutMs: "u",
    resumeId: "s",
    resumeWindowMs: "u",
    resumed: "bool",
    received: "u",
    replay: "u",
  }),
  [Kind.Error]: schema(1, { code: "u", message: "s", ref: "u" }),
  [Kind.Ping]: schema(1, { clientTimeUs: "i" }),
  [Kind.Pong]: schema(2, { clientTimeUs: "i", serverTimeUs: "i" }),
  [Kind.Close]: schema(1, { code: "u", reason: "s" }),
  [Kind.Echo]: schema(3, { seq: "u", sentUs: "i", payload: "b" }),
  [Kind.OK]: schema(1, { ref: "u" }),
  [Kind.Resume]: schema(4, { version: "u", sessionId: "u", resumeId: "s", received: "u", clientName: "s", clientVersion: "s" }),
  [Kind.Ack]: schema(1, { received: "u" }),
  [Kind.Notice]: schema(2, { code: "u", text: "s" }),

  [Kind.RoomCreate]: schema(2, {
    ref: "u",
    type: "s",
    label: "s",
    capacity: "u",
    tickRate: "u",
    private: "bool",
    emptyTimeoutMs: "u",
    params: "b",
  }),
  [Kind.RoomJoin]: schema(2, { ref: "u", roomId: "id" }),
  [Kind.RoomJoinOrCreate]: schema(2, {
    ref: "u",
    type: "s",
    label: "s",
    capacity: "u",
    tickRate: "u",
    emptyTimeoutMs: "u",
    params: "b",
  }),
  [Kind.RoomJoined]: schema(2, {
    ref: "u",
    roomId: "id",
    type: "s",
    label: "s",
    tickRate: "u",
    tick: "u",
    serverTimeUs: "i",
    capacity: "u",
    you: "u",
    members: { list: roomMember },
  }),
  [Kind.RoomLeave]: schema(2, { ref: "u", roomId: "id" }),
  [Kind.RoomEvent]: schema(4, {
    ref: "u",
    roomId: "id",
    event: { enum: RoomEvents },
    member: "u",
    userId: "s",
    displayName: "s",
  }),
  [Kind.RoomClosed]: schema(3, { ref: "u", roomId: "id", code: "u", message: "s" }),
  [Kind.RoomInput]: schema(4, { ref: "u", roomId: "id", seq: "u", data: "b" }),
  [Kind.RoomTick]: schema(4, { ref: "u", roomId: "id", tick: "u", serverTimeUs: "i", inputs: { list: tickInput } }),
  [Kind.RoomData]: schema(5, { ref: "u", roomId: "id", tick: "u", serverTimeUs: "i", data: "b" }),
  [Kind.RoomList]: schema(1, { ref: "u", type: "s", label: "s", limit: "u" }),
  [Kind.RoomListResult]: schema(2, { ref: "u", rooms: { list: roomInfo } }),
  [Kind.RoomRedirect]: schema(6, { ref: "u", roomId: "id", nodeId: "s", url: "s", ticket: "b", ttlMs: "u" }),
  [Kind.RoomJoinTicket]: schema(3, { ref: "u", roomId: "id", ticket: "b" }),
  [Kind.VoiceSend]: schema(5, { ref: "u", roomId: "id", seq: "u", timestamp: "u", payload: "b" }),
  [Kind.VoiceFrame]: schema(6, { ref: "u", roomId: "id", member: "u", seq: "u", timestamp: "u", payload: "b" }),
  [Kind.VoiceSet]: schema(4, { ref: "u", roomId: "id", muted: "bool", deafened: "bool" }),
  [Kind.VoiceEvent]: schema(4, { ref: "u", roomId: "id", member: "u", event: { enum: VoiceEvents } }),

  [Kind.FriendRequest]: schema(2, { ref: "u", username: "s" }),
  [Kind.FriendAccept]: schema(2, { ref: "u", userId: "s" }),
  [Kind.FriendDecline]: schema(2, { ref: "u", userId: "s" }),
  [Kind.FriendRemove]: schema(2, { ref: "u", userId: "s" }),
  [Kind.FriendBlock]: schema(2, { ref: "u", userId: "s" }),
  [Kind.FriendUnblock]: schema(2, { ref: "u", userId: "s" }),
  [Kind.FriendList]: schema(1, { ref: "u", afterUserId: "s" }),
  [Kind.FriendListResult]: schema(2, { ref: "u", friends: { list: friend }, more: "bool" }),
  [Kind.FriendUpdate]: schema(3, { ref: "u", event: { enum: FriendEvents }, friend: { rec: friend } }),
  [Kind.GroupCreate]: schema(2, { ref: "u", name: "s", open: "bool" }),
  [Kind.GroupResult]: schema(2, { ref: "u", group: { rec: group } }),
  [Kind.GroupJoin]: schema(2, { ref: "u", groupId: "u" }),
  [Kind.GroupInvite]: schema(3, { ref: "u", groupId: "u", userId: "s" }),
  [Kind.GroupAccept]: schema(2, { ref: "u", groupId: "u" }),
  [Kind.GroupDecline]: schema(2, { ref: "u", groupId: "u" }),
  [Kind.GroupLeave]: schema(2, { ref: "u", groupId: "u" }),
  [Kind.GroupRemove]: schema(3, { ref: "u", groupId: "u", userId: "s" }),
  [Kind.GroupSetRole]: schema(4, { ref: "u", groupId: "u", userId: "s", role }),
  [Kind.GroupMembers]: schema(2, { ref: "u", groupId: "u", afterUserId: "s", limit: "u" }),
  [Kind.GroupMembersResult]: schema(3, { ref: "u", groupId: "u", members: { list: member }, more: "bool" }),
  [Kind.GroupList]: schema(1, { ref: "u", afterGroupId: "u" }),
  [Kind.GroupListResult]: schema(2, { ref: "u", groups: { list: group }, more: "bool" }),
  [Kind.GroupUpdate]: schema(5, {
    ref: "u",
    event: { enum: GroupEvents },
    groupId: "u",
    groupName: "s",
    userId: "s",
    actorId: "s",
    role,
  }),
  [Kind.DirectSend]: schema(3, { ref: "u", toUserId: "s", body: "s" }),
  [Kind.GroupSend]: schema(3, { ref: "u", groupId: "u", body: "s" }),
  [Kind.MessageSent]: schema(3, { ref: "u", id: "u", timeUs: "i" }),
  // A Message push is a ChatMessage entry behind the ref.
  [Kind.Message]: schema(7, { ref: "u", ...chatFields }),
  [Kind.MessageAck]: schema(2, { ref: "u", upToId: "u" }),
  [Kind.History]: schema(2, { ref: "u", groupId: "u", userId: "s", beforeId: "u", limit: "u" }),
  [Kind.HistoryResult]: schema(2, { ref: "u", messages: { list: chatMessage }, more: "bool" }),
  [Kind.SetPresence]: schema(2, { ref: "u", presence, statusText: "s" }),
  [Kind.PresenceUpdate]: schema(3, { ref: "u", userId: "s", presence, statusText: "s", lastSeenUs: "i" }),
  // Signaling and calls: session and call ids stay below 2^53 (numbers); room ids are bigints.
  [Kind.Signal]: schema(6, { ref: "u", toUserId: "s", toSession: "u", roomId: "id", callId: "u", payload: "b" }),
  [Kind.SignalRecv]: schema(6, { ref: "u", fromUserId: "s", fromSession: "u", roomId: "id", callId: "u", payload: "b" }),
  [Kind.CallInvite]: schema(2, { ref: "u", toUserId: "s" }),
  [Kind.CallAccept]: schema(2, { ref: "u", callId: "u" }),
  [Kind.CallEnd]: schema(2, { ref: "u", callId: "u" }),
  [Kind.CallUpdate]: schema(11, {
    ref: "u",
    callId: "u",
    state: { enum: CallStates },
    reason: { enum: CallEndReasons },
    callerId: "s",
    callerName: "s",
    calleeId: "s",
    callerSession: "u",
    calleeSession: "u",
    byUserId: "s",
    timeUs: "i",
  }),
};

const kindNames: Record<number, KindName> = Object.fromEntries(
  Object.entries(Kind).map(([name, k]) => [k, name as KindName]),
);

/** A decoded frame: its kind and its fields by name. */
export interface Frame {
  kind: number;
  [field: string]: unknown;
}

/** kindName is the frame type's name ("RoomTick"), or "kind_N". */
export function kindName(kind: number): string {
  return kindNames[kind] ?? `kind_${kind}`;
}

/** fieldNames lists a kind's fields in wire order (undefined for an unknown kind). */
export function fieldNames(kind: number): readonly string[] | undefined {
  return kinds[kind]?.names;
}

// Decoder limits (docs/PROTOCOL.md §1): a frame is at most 64 KiB on any
// transport, so no string, byte string or array can claim more.
export const MaxMessage = 64 << 10;
const limits = {
  maxStrLength: MaxMessage,
  maxBinLength: MaxMessage,
  maxArrayLength: 8192,
  maxMapLength: 0,
  maxExtLength: 0,
};

const enc = new Encoder({ useBigInt64: true, ignoreUndefined: false });
const dec = new Decoder({ useBigInt64: true, ...limits });

const MaxSafe = BigInt(Number.MAX_SAFE_INTEGER);
const twoPow32 = 0x1_0000_0000;

/** wireInt gives an integer in the form the encoder writes smallest (bigint at and above 2^32 or below −2^31). */
function wireInt(v: unknown, what: string): number | bigint {
  if (typeof v === "bigint") {
    if (v >= -0x8000_0000n && v < BigInt(twoPow32)) return Number(v);
    return v;
  }
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw badField(what, "an integer");
  if (v >= -0x8000_0000 && v < twoPow32) return v;
  return BigInt(v);
}

function badField(what: string, want: string): TickwireError {
  return new TickwireError(Code.BadRequest, `${what}: want ${want}`);
}

function encodeValue(t: FieldType, v: unknown, what: string): unknown {
  if (typeof t === "string") {
    switch (t) {
      case "u":
        if (typeof v === "number" && v < 0) throw badField(what, "an unsigned integer");
        return wireInt(v, what);
      case "i":
      case "id":
        return wireInt(v, what);
      case "s":
        if (v === undefined || v === null) return "";
        if (typeof v !== "string") throw badField(what, "a string");
        return v;
      case "b":
        if (v === undefined || v === null) return new Uint8Array(0);
        if (!(v instanceof Uint8Array)) throw badField(what, "a Uint8Array");
        return v;
      case "bool":
        return v === true;
    }
  }
  if ("enum" in t) {
    if (v === undefined || v === null) return 0;
    if (typeof v === "number") return v;
    const i = typeof v === "string" && v !== "" ? t.enum.indexOf(v) : -1;
    if (i < 0) throw badField(what, `one of ${t.enum.filter((n) => n).join(", ")}`);
    return i;
  }
  if ("rec" in t) return encodeRecord(t.rec, (v ?? {}) as Record<string, unknown>, what);
  if (!Array.isArray(v)) return [];
  return v.map((e, i) => encodeRecord(t.list, e as Record<string, unknown>, `${what}[${i}]`));
}

function encodeRecord(s: Schema, obj: Record<string, unknown>, what: string): unknown[] {
  return s.names.map((n, i) => encodeValue(s.types[i]!, obj[n], `${what}.${n}`));
}

/**
 * wireFields is the array encode writes after the kind, before msgpack:
 * the frame's fields in order, with enums as numbers.
 */
export function wireFields(f: Frame): unknown[] {
  const s = kinds[f.kind];
  if (!s) throw new TickwireError(Code.UnknownKind, `kind ${f.kind}`);
  return encodeRecord(s, f, kindName(f.kind));
}

/** encode writes f as a msgpack frame. */
export function encode(f: Frame): Uint8Array {
  return enc.encode([f.kind, ...wireFields(f)]);
}

function malformed(msg: string): TickwireError {
  return new TickwireError(Code.BadFrame, msg);
}

function zero(t: FieldType): unknown {
  if (typeof t === "string") {
    switch (t) {
      case "u":
      case "i":
        return 0;
      case "id":
        return 0n;
      case "s":
        return "";
      case "b":
        return new Uint8Array(0);
      case "bool":
        return false;
    }
  }
  if ("enum" in t) return t.enum[0] || "";
  if ("rec" in t) return decodeRecord(t.rec, [], "");
  return [];
}

function decodeValue(t: FieldType, v: unknown, what: string): unknown {
  if (typeof t === "string") {
    switch (t) {
      case "u":
      case "i": {
        if (typeof v === "number" && Number.isInteger(v)) {
          if (t === "u" && v < 0) throw malformed(`${what}: negative`);
          return v;
        }
        if (typeof v === "bigint") {
          if (t === "u" && v < 0n) throw malformed(`${what}: negative`);
          if (v > MaxSafe || v < -MaxSafe) throw malformed(`${what}: out of range`);
          return Number(v);
        }
        throw malformed(`${what}: not an integer`);
      }
      case "id":
        if (typeof v === "bigint" && v >= 0n) return v;
        if (typeof v === "number" && Number.isInteger(v) && v >= 0) return BigInt(v);
        throw malformed(`${what}: not an unsigned integer`);
      case "s":
        if (v === null) return ""; // nil reads as empty, as the Go decoder reads it
        if (typeof v !== "string") throw malformed(`${what}: not a string`);
        return v;
      case "b":
        if (v === null) return new Uint8Array(0);
        if (!(v instanceof Uint8Array)) throw malformed(`${what}: not a byte string`);
        return v;
      case "bool":
        if (typeof v !== "boolean") throw malformed(`${what}: not a boolean`);
        return v;
    }
  }
  if ("enum" in t) {
    const name = typeof v === "number" ? t.enum[v] : undefined;
    if (!name) throw malformed(`${what}: unknown value ${String(v)}`);
    return name;
  }
  if (!Array.isArray(v)) throw malformed(`${what}: not an array`);
  if ("rec" in t) return decodeRecord(t.rec, v, what);
  return v.map((e, i) => {
    if (!Array.isArray(e)) throw malformed(`${what}[${i}]: not an array`);
    return decodeRecord(t.list, e, `${what}[${i}]`);
  });
}

function decodeRecord(s: Schema, arr: unknown[], what: string): Record<string, unknown> {
  if (arr.length < s.min) throw malformed(`${what}: ${arr.length} fields, need ${s.min}`);
  const out: Record<string, unknown> = {};
  s.names.forEach((n, i) => {
    const t = s.types[i]!;
    out[n] = i < arr.length ? decodeValue(t, arr[i], `${what}.${n}`) : zero(t);
  });
  return out;
}

/**
 * decode reads one frame. Unknown kinds and malformed frames throw a
 * TickwireError with bad_frame (or unknown_kind); fields after the ones
 * this SDK knows are ignored.
 */
export function decode(b: Uint8Array): Frame {
  let arr: unknown;
  try {
    arr = dec.decode(b);
  } catch (err) {
    throw new TickwireError(Code.BadFrame, err instanceof Error ? err.message : String(err));
  }
  if (!Array.isArray(arr) || arr.length === 0) throw malformed("frame is not a non-empty array");
  const kind = arr[0];
  if (typeof kind !== "number" || !Number.isInteger(kind) || kind < 1 || kind > 255) {
    throw malformed("frame kind is not a small unsigned integer");
  }
  const s = kinds[kind];
  if (!s) throw new TickwireError(Code.UnknownKind, `kind ${kind}`);
  const f = decodeRecord(s, arr.slice(1), kindName(kind)) as Frame;
  f.kind = kind;
  return f;
}

/** refOf is a decoded frame's ref (field 1 of kinds ≥ 16, field 3 of Error; 0 for others). */
export function refOf(f: Frame): number {
  return typeof f.ref === "number" ? f.ref : 0;
}
