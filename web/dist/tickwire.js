var __defProp = Object.defineProperty;
var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

// src/codes.ts
var Code = {
  /** success, or a normal close */
  OK: 0,
  /** not a valid frame: malformed msgpack, wrong field types or counts */
  BadFrame: 1,
  /** frame or field above its size limit */
  FrameTooLarge: 2,
  /** frame kind not known to this server */
  UnknownKind: 3,
  /** a frame other than Hello before Welcome, or a second Hello */
  NotAuthenticated: 4,
  /** token missing, malformed or with a bad signature */
  BadToken: 5,
  /** token past its expiry: get a new one and reconnect */
  TokenExpired: 6,
  /** protocol version not supported */
  ProtocolVersion: 7,
  /** too many frames per second */
  RateLimited: 8,
  /** server-side failure */
  Internal: 9,
  /** the server is shutting down: reconnect later */
  ServerShutdown: 10,
  /** nothing heard from the peer within the idle timeout */
  IdleTimeout: 11,
  /** repeated bad input */
  TooManyErrors: 12,
  /** the session was resumed on another connection */
  Replaced: 13,
  /** the reliable send queue overflowed */
  SlowConsumer: 14,
  /** a well-formed frame with invalid values */
  BadRequest: 15,
  /** known but not offered by this server */
  Unsupported: 16,
  /** no Hello within the handshake timeout */
  HandshakeTimeout: 17,
  /** the caller may not do this */
  Forbidden: 18,
  /** the thing named does not exist */
  NotFound: 19,
  /** too many sessions from this address, or on the server: retry later */
  TooManySessions: 20,
  /** user-visible text with forbidden characters (control, bidi override, zero-width) or too long */
  BadText: 21,
  /** the server is at a capacity limit for this work: retry later */
  ServerBusy: 22,
  /** the client's own: the server's TLS certificate did not verify (browsers report this as a network failure) */
  UntrustedCertificate: 23,
  /** no session to resume under that id (ended, expired, or never existed here): start a fresh session */
  ResumeUnknown: 30,
  /** the resume secret does not match the session's: start a fresh session */
  ResumeBadSecret: 31,
  /** frames the client had not acknowledged were dropped from the replay buffer: start a fresh session and rejoin */
  ResumeOverflow: 32,
  /** (SDKs, never on the wire) the connection ended before the reply came and the session was not resumed */
  ConnectionLost: 33,
  Draining: 34,
  Kicked: 35,
  /** no open room with that id */
  RoomNotFound: 100,
  /** the room is at capacity */
  RoomFull: 101,
  /** the room closed */
  RoomClosed: 102,
  /** this session is in too many rooms */
  TooManyRooms: 103,
  /** the session is not a member of that room */
  NotInRoom: 104,
  /** no room type registered under that name */
  UnknownRoomType: 105,
  /** invalid capacity, tick rate, label... */
  BadRoomConfig: 106,
  /** room input above the size limit */
  InputTooLarge: 107,
  /** too many room inputs per second */
  InputRateLimited: 108,
  /** the room's handler failed; the room closed */
  RoomCrashed: 109,
  /** the session is already a member */
  AlreadyInRoom: 110,
  /** private rooms are joined by id only */
  RoomPrivate: 111,
  /** too many rooms created by this session or user, or on the server */
  RoomCreateLimit: 112,
  /** a redirect ticket that is malformed, forged, or not for this user, room or node */
  BadTicket: 130,
  /** a redirect ticket past its expiry */
  TicketExpired: 131,
  /** a redirect ticket presented a second time */
  TicketReused: 132,
  /** the node that owns the room is gone or unreachable */
  NodeGone: 133,
  /** the SDK's own: a join was redirected more times than its hop bound */
  TooManyRedirects: 134,
  /** the node cannot reach the cluster (NATS) to answer: retry later */
  ClusterUnavailable: 135,
  /** a voice frame or VoiceSet to a room that is not a voice room */
  NotVoiceRoom: 120,
  /** voice payload above the room's frame size limit */
  VoiceFrameTooLarge: 121,
  /** the member's frames exceed the voice room's bitrate or frame-rate cap: dropped */
  VoiceRateLimited: 122,
  /** voice room capacity above the server's voice member cap */
  VoiceRoomTooLarge: 123,
  VoiceLinkLimit: 124,
  /** username breaks the username rules */
  BadUsername: 200,
  /** password breaks the length rules */
  BadPassword: 201,
  /** username already registered */
  UsernameTaken: 202,
  /** no such user or wrong password (never says which) */
  InvalidCredentials: 203,
  /** too many login attempts: wait */
  LoginRateLimited: 204,
  /** the token was logged out */
  TokenRevoked: 205,
  /** guests may not do this */
  GuestNotAllowed: 206,
  /** no such user */
  UserNotFound: 250,
  /** already friends */
  AlreadyFriends: 251,
  /** direct messages need friendship */
  NotFriends: 252,
  /** one side blocked the other */
  Blocked: 253,
  /** no pending friend request or invitation */
  RequestNotFound: 254,
  /** no such group */
  GroupNotFound: 255,
  /** members only */
  NotGroupMember: 256,
  /** the group needs an invitation */
  GroupInviteOnly: 257,
  /** owners and admins only */
  NotGroupAdmin: 258,
  /** message body above the size limit */
  MessageTooLarge: 259,
  /** too many messages per second */
  MessageRateLimited: 260,
  /** already a member of the group */
  AlreadyMember: 261,
  /** cannot befriend, block or message oneself */
  SelfAction: 262,
  /** group name breaks the naming rules */
  BadGroupName: 263,
  /** a friends, groups or group-members limit was reached */
  SocialLimit: 264,
  /** the callee is already in a call */
  CallBusy: 270,
  /** the caller is already in a call (one call per user) */
  InCall: 271,
  /** no such call, it has ended, or the sender is not a party of it */
  CallNotFound: 272,
  /** the user has no session that could receive this */
  UserOffline: 273,
  /** signaling payload above the size limit */
  SignalTooLarge: 274,
  /** too many signaling frames per second from this session */
  SignalRateLimited: 275,
  /** the target shares no room, friendship or call with the sender */
  NoRelation: 276,
  /** too many call invitations: wait */
  CallRateLimited: 277,
  /** the call was already answered by another session */
  CallAnswered: 278
};
var names = {
  0: "ok",
  1: "bad_frame",
  2: "frame_too_large",
  3: "unknown_kind",
  4: "not_authenticated",
  5: "bad_token",
  6: "token_expired",
  7: "protocol_version",
  8: "rate_limited",
  9: "internal",
  10: "server_shutdown",
  11: "idle_timeout",
  12: "too_many_errors",
  13: "replaced",
  14: "slow_consumer",
  15: "bad_request",
  16: "unsupported",
  17: "handshake_timeout",
  18: "forbidden",
  19: "not_found",
  20: "too_many_sessions",
  21: "bad_text",
  22: "server_busy",
  23: "untrusted_certificate",
  30: "resume_unknown",
  31: "resume_bad_secret",
  32: "resume_overflow",
  33: "connection_lost",
  34: "draining",
  35: "kicked",
  100: "room_not_found",
  101: "room_full",
  102: "room_closed",
  103: "too_many_rooms",
  104: "not_in_room",
  105: "unknown_room_type",
  106: "bad_room_config",
  107: "input_too_large",
  108: "input_rate_limited",
  109: "room_crashed",
  110: "already_in_room",
  111: "room_private",
  112: "room_create_limit",
  130: "bad_ticket",
  131: "ticket_expired",
  132: "ticket_reused",
  133: "node_gone",
  134: "too_many_redirects",
  135: "cluster_unavailable",
  120: "not_voice_room",
  121: "voice_frame_too_large",
  122: "voice_rate_limited",
  123: "voice_room_too_large",
  124: "voice_link_limit",
  200: "bad_username",
  201: "bad_password",
  202: "username_taken",
  203: "invalid_credentials",
  204: "login_rate_limited",
  205: "token_revoked",
  206: "guest_not_allowed",
  250: "user_not_found",
  251: "already_friends",
  252: "not_friends",
  253: "blocked",
  254: "request_not_found",
  255: "group_not_found",
  256: "not_group_member",
  257: "group_invite_only",
  258: "not_group_admin",
  259: "message_too_large",
  260: "message_rate_limited",
  261: "already_member",
  262: "self_action",
  263: "bad_group_name",
  264: "social_limit",
  270: "call_busy",
  271: "in_call",
  272: "call_not_found",
  273: "user_offline",
  274: "signal_too_large",
  275: "signal_rate_limited",
  276: "no_relation",
  277: "call_rate_limited",
  278: "call_answered"
};
var ConnectionLost = -1;
var Timeout = -2;
names[ConnectionLost] = "connection_lost";
names[Timeout] = "timeout";
function codeName(code) {
  return names[code] ?? `code_${code}`;
}
function mayReconnect(code) {
  switch (code) {
    case Code.Kicked:
    case Code.BadToken:
    case Code.TokenRevoked:
    case Code.ProtocolVersion:
    case Code.Replaced:
    case Code.Forbidden:
    case Code.TooManyErrors:
    case Code.UntrustedCertificate:
      return false;
  }
  return true;
}

// src/errors.ts
var TickwireError = class extends Error {
  constructor(code, message, options) {
    const name = codeName(code);
    super(message ? `${name}: ${message}` : name, options);
    __publicField(this, "code");
    __publicField(this, "codeName");
    this.name = "TickwireError";
    this.code = code;
    this.codeName = name;
  }
};
function isCode(err, code) {
  return err instanceof TickwireError && err.code === code;
}
function asTickwireError(err, code = Code.Internal) {
  if (err instanceof TickwireError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new TickwireError(code, msg, { cause: err });
}

// node_modules/@msgpack/msgpack/dist.esm/utils/utf8.mjs
function utf8Count(str) {
  const strLength = str.length;
  let byteLength = 0;
  let pos = 0;
  while (pos < strLength) {
    let value = str.charCodeAt(pos++);
    if ((value & 4294967168) === 0) {
      byteLength++;
      continue;
    } else if ((value & 4294965248) === 0) {
      byteLength += 2;
    } else {
      if (value >= 55296 && value <= 56319) {
        if (pos < strLength) {
          const extra = str.charCodeAt(pos);
          if ((extra & 64512) === 56320) {
            ++pos;
            value = ((value & 1023) << 10) + (extra & 1023) + 65536;
          }
        }
      }
      if ((value & 4294901760) === 0) {
        byteLength += 3;
      } else {
        byteLength += 4;
      }
    }
  }
  return byteLength;
}
function utf8EncodeJs(str, output, outputOffset) {
  const strLength = str.length;
  let offset = outputOffset;
  let pos = 0;
  while (pos < strLength) {
    let value = str.charCodeAt(pos++);
    if ((value & 4294967168) === 0) {
      output[offset++] = value;
      continue;
    } else if ((value & 4294965248) === 0) {
      output[offset++] = value >> 6 & 31 | 192;
    } else {
      if (value >= 55296 && value <= 56319) {
        if (pos < strLength) {
          const extra = str.charCodeAt(pos);
          if ((extra & 64512) === 56320) {
            ++pos;
            value = ((value & 1023) << 10) + (extra & 1023) + 65536;
          }
        }
      }
      if ((value & 4294901760) === 0) {
        output[offset++] = value >> 12 & 15 | 224;
        output[offset++] = value >> 6 & 63 | 128;
      } else {
        output[offset++] = value >> 18 & 7 | 240;
        output[offset++] = value >> 12 & 63 | 128;
        output[offset++] = value >> 6 & 63 | 128;
      }
    }
    output[offset++] = value & 63 | 128;
  }
}
var sharedTextEncoder = new TextEncoder();
var TEXT_ENCODER_THRESHOLD = 50;
function utf8EncodeTE(str, output, outputOffset) {
  sharedTextEncoder.encodeInto(str, output.subarray(outputOffset));
}
function utf8Encode(str, output, outputOffset) {
  if (str.length > TEXT_ENCODER_THRESHOLD) {
    utf8EncodeTE(str, output, outputOffset);
  } else {
    utf8EncodeJs(str, output, outputOffset);
  }
}
var CHUNK_SIZE = 4096;
function utf8DecodeJs(bytes, inputOffset, byteLength) {
  let offset = inputOffset;
  const end = offset + byteLength;
  const units = [];
  let result = "";
  while (offset < end) {
    const byte1 = bytes[offset++];
    if ((byte1 & 128) === 0) {
      units.push(byte1);
    } else if ((byte1 & 224) === 192) {
      const byte2 = bytes[offset++] & 63;
      units.push((byte1 & 31) << 6 | byte2);
    } else if ((byte1 & 240) === 224) {
      const byte2 = bytes[offset++] & 63;
      const byte3 = bytes[offset++] & 63;
      units.push((byte1 & 31) << 12 | byte2 << 6 | byte3);
    } else if ((byte1 & 248) === 240) {
      const byte2 = bytes[offset++] & 63;
      const byte3 = bytes[offset++] & 63;
      const byte4 = bytes[offset++] & 63;
      let unit = (byte1 & 7) << 18 | byte2 << 12 | byte3 << 6 | byte4;
      if (unit > 65535) {
        unit -= 65536;
        units.push(unit >>> 10 & 1023 | 55296);
        unit = 56320 | unit & 1023;
      }
      units.push(unit);
    } else {
      units.push(byte1);
    }
    if (units.length >= CHUNK_SIZE) {
      result += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  if (units.length > 0) {
    result += String.fromCharCode(...units);
  }
  return result;
}
var sharedTextDecoder = new TextDecoder();
var TEXT_DECODER_THRESHOLD = 200;
function utf8DecodeTD(bytes, inputOffset, byteLength) {
  const stringBytes = bytes.subarray(inputOffset, inputOffset + byteLength);
  return sharedTextDecoder.decode(stringBytes);
}
function utf8Decode(bytes, inputOffset, byteLength) {
  if (byteLength > TEXT_DECODER_THRESHOLD) {
    return utf8DecodeTD(bytes, inputOffset, byteLength);
  } else {
    return utf8DecodeJs(bytes, inputOffset, byteLength);
  }
}

// node_modules/@msgpack/msgpack/dist.esm/ExtData.mjs
var ExtData = class {
  constructor(type, data) {
    __publicField(this, "type");
    __publicField(this, "data");
    this.type = type;
    this.data = data;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/DecodeError.mjs
var DecodeError = class _DecodeError extends Error {
  constructor(message) {
    super(message);
    const proto = Object.create(_DecodeError.prototype);
    Object.setPrototypeOf(this, proto);
    Object.defineProperty(this, "name", {
      configurable: true,
      enumerable: false,
      value: _DecodeError.name
    });
  }
};

// node_modules/@msgpack/msgpack/dist.esm/utils/int.mjs
var UINT32_MAX = 4294967295;
function setUint64(view, offset, value) {
  const high = value / 4294967296;
  const low = value;
  view.setUint32(offset, high);
  view.setUint32(offset + 4, low);
}
function setInt64(view, offset, value) {
  const high = Math.floor(value / 4294967296);
  const low = value;
  view.setUint32(offset, high);
  view.setUint32(offset + 4, low);
}
function getInt64(view, offset) {
  const high = view.getInt32(offset);
  const low = view.getUint32(offset + 4);
  return high * 4294967296 + low;
}
function getUint64(view, offset) {
  const high = view.getUint32(offset);
  const low = view.getUint32(offset + 4);
  return high * 4294967296 + low;
}

// node_modules/@msgpack/msgpack/dist.esm/timestamp.mjs
var EXT_TIMESTAMP = -1;
var TIMESTAMP32_MAX_SEC = 4294967296 - 1;
var TIMESTAMP64_MAX_SEC = 17179869184 - 1;
function encodeTimeSpecToTimestamp({ sec, nsec }) {
  if (sec >= 0 && nsec >= 0 && sec <= TIMESTAMP64_MAX_SEC) {
    if (nsec === 0 && sec <= TIMESTAMP32_MAX_SEC) {
      const rv = new Uint8Array(4);
      const view = new DataView(rv.buffer);
      view.setUint32(0, sec);
      return rv;
    } else {
      const secHigh = sec / 4294967296;
      const secLow = sec & 4294967295;
      const rv = new Uint8Array(8);
      const view = new DataView(rv.buffer);
      view.setUint32(0, nsec << 2 | secHigh & 3);
      view.setUint32(4, secLow);
      return rv;
    }
  } else {
    const rv = new Uint8Array(12);
    const view = new DataView(rv.buffer);
    view.setUint32(0, nsec);
    setInt64(view, 4, sec);
    return rv;
  }
}
function encodeDateToTimeSpec(date) {
  const msec = date.getTime();
  const sec = Math.floor(msec / 1e3);
  const nsec = (msec - sec * 1e3) * 1e6;
  const nsecInSec = Math.floor(nsec / 1e9);
  return {
    sec: sec + nsecInSec,
    nsec: nsec - nsecInSec * 1e9
  };
}
function encodeTimestampExtension(object) {
  if (object instanceof Date) {
    const timeSpec = encodeDateToTimeSpec(object);
    return encodeTimeSpecToTimestamp(timeSpec);
  } else {
    return null;
  }
}
function decodeTimestampToTimeSpec(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (data.byteLength) {
    case 4: {
      const sec = view.getUint32(0);
      const nsec = 0;
      return { sec, nsec };
    }
    case 8: {
      const nsec30AndSecHigh2 = view.getUint32(0);
      const secLow32 = view.getUint32(4);
      const sec = (nsec30AndSecHigh2 & 3) * 4294967296 + secLow32;
      const nsec = nsec30AndSecHigh2 >>> 2;
      return { sec, nsec };
    }
    case 12: {
      const sec = getInt64(view, 4);
      const nsec = view.getUint32(0);
      return { sec, nsec };
    }
    default:
      throw new DecodeError(`Unrecognized data size for timestamp (expected 4, 8, or 12): ${data.length}`);
  }
}
function decodeTimestampExtension(data) {
  const timeSpec = decodeTimestampToTimeSpec(data);
  return new Date(timeSpec.sec * 1e3 + timeSpec.nsec / 1e6);
}
var timestampExtension = {
  type: EXT_TIMESTAMP,
  encode: encodeTimestampExtension,
  decode: decodeTimestampExtension
};

// node_modules/@msgpack/msgpack/dist.esm/ExtensionCodec.mjs
var _ExtensionCodec = class _ExtensionCodec {
  constructor() {
    // ensures ExtensionCodecType<X> matches ExtensionCodec<X>
    // this will make type errors a lot more clear
    // eslint-disable-next-line @typescript-eslint/naming-convention
    __publicField(this, "__brand");
    // built-in extensions
    __publicField(this, "builtInEncoders", []);
    __publicField(this, "builtInDecoders", []);
    // custom extensions
    __publicField(this, "encoders", []);
    __publicField(this, "decoders", []);
    this.register(timestampExtension);
  }
  register({ type, encode: encode2, decode: decode2 }) {
    if (type >= 0) {
      this.encoders[type] = encode2;
      this.decoders[type] = decode2;
    } else {
      const index = -1 - type;
      this.builtInEncoders[index] = encode2;
      this.builtInDecoders[index] = decode2;
    }
  }
  tryToEncode(object, context) {
    for (let i = 0; i < this.builtInEncoders.length; i++) {
      const encodeExt = this.builtInEncoders[i];
      if (encodeExt != null) {
        const data = encodeExt(object, context);
        if (data != null) {
          const type = -1 - i;
          return new ExtData(type, data);
        }
      }
    }
    for (let i = 0; i < this.encoders.length; i++) {
      const encodeExt = this.encoders[i];
      if (encodeExt != null) {
        const data = encodeExt(object, context);
        if (data != null) {
          const type = i;
          return new ExtData(type, data);
        }
      }
    }
    if (object instanceof ExtData) {
      return object;
    }
    return null;
  }
  decode(data, type, context) {
    const decodeExt = type < 0 ? this.builtInDecoders[-1 - type] : this.decoders[type];
    if (decodeExt) {
      return decodeExt(data, type, context);
    } else {
      return new ExtData(type, data);
    }
  }
};
__publicField(_ExtensionCodec, "defaultCodec", new _ExtensionCodec());
var ExtensionCodec = _ExtensionCodec;

// node_modules/@msgpack/msgpack/dist.esm/utils/typedArrays.mjs
function isArrayBufferLike(buffer) {
  return buffer instanceof ArrayBuffer || typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
}
function ensureUint8Array(buffer) {
  if (buffer instanceof Uint8Array) {
    return buffer;
  } else if (ArrayBuffer.isView(buffer)) {
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } else if (isArrayBufferLike(buffer)) {
    return new Uint8Array(buffer);
  } else {
    return Uint8Array.from(buffer);
  }
}

// node_modules/@msgpack/msgpack/dist.esm/Encoder.mjs
var DEFAULT_MAX_DEPTH = 100;
var DEFAULT_INITIAL_BUFFER_SIZE = 2048;
var Encoder = class _Encoder {
  constructor(options) {
    __publicField(this, "extensionCodec");
    __publicField(this, "context");
    __publicField(this, "useBigInt64");
    __publicField(this, "maxDepth");
    __publicField(this, "initialBufferSize");
    __publicField(this, "sortKeys");
    __publicField(this, "forceFloat32");
    __publicField(this, "ignoreUndefined");
    __publicField(this, "forceIntegerToFloat");
    __publicField(this, "pos");
    __publicField(this, "view");
    __publicField(this, "bytes");
    __publicField(this, "entered", false);
    this.extensionCodec = options?.extensionCodec ?? ExtensionCodec.defaultCodec;
    this.context = options?.context;
    this.useBigInt64 = options?.useBigInt64 ?? false;
    this.maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.initialBufferSize = options?.initialBufferSize ?? DEFAULT_INITIAL_BUFFER_SIZE;
    this.sortKeys = options?.sortKeys ?? false;
    this.forceFloat32 = options?.forceFloat32 ?? false;
    this.ignoreUndefined = options?.ignoreUndefined ?? false;
    this.forceIntegerToFloat = options?.forceIntegerToFloat ?? false;
    this.pos = 0;
    this.view = new DataView(new ArrayBuffer(this.initialBufferSize));
    this.bytes = new Uint8Array(this.view.buffer);
  }
  clone() {
    return new _Encoder({
      extensionCodec: this.extensionCodec,
      context: this.context,
      useBigInt64: this.useBigInt64,
      maxDepth: this.maxDepth,
      initialBufferSize: this.initialBufferSize,
      sortKeys: this.sortKeys,
      forceFloat32: this.forceFloat32,
      ignoreUndefined: this.ignoreUndefined,
      forceIntegerToFloat: this.forceIntegerToFloat
    });
  }
  reinitializeState() {
    this.pos = 0;
  }
  /**
   * This is almost equivalent to {@link Encoder#encode}, but it returns an reference of the encoder's internal buffer and thus much faster than {@link Encoder#encode}.
   *
   * @returns Encodes the object and returns a shared reference the encoder's internal buffer.
   */
  encodeSharedRef(object) {
    if (this.entered) {
      const instance = this.clone();
      return instance.encodeSharedRef(object);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.doEncode(object, 1);
      return this.bytes.subarray(0, this.pos);
    } finally {
      this.entered = false;
    }
  }
  /**
   * @returns Encodes the object and returns a copy of the encoder's internal buffer.
   */
  encode(object) {
    if (this.entered) {
      const instance = this.clone();
      return instance.encode(object);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.doEncode(object, 1);
      return this.bytes.slice(0, this.pos);
    } finally {
      this.entered = false;
    }
  }
  doEncode(object, depth) {
    if (depth > this.maxDepth) {
      throw new Error(`Too deep objects in depth ${depth}`);
    }
    if (object == null) {
      this.encodeNil();
    } else if (typeof object === "boolean") {
      this.encodeBoolean(object);
    } else if (typeof object === "number") {
      if (!this.forceIntegerToFloat) {
        this.encodeNumber(object);
      } else {
        this.encodeNumberAsFloat(object);
      }
    } else if (typeof object === "string") {
      this.encodeString(object);
    } else if (this.useBigInt64 && typeof object === "bigint") {
      this.encodeBigInt64(object);
    } else {
      this.encodeObject(object, depth);
    }
  }
  ensureBufferSizeToWrite(sizeToWrite) {
    const requiredSize = this.pos + sizeToWrite;
    if (this.view.byteLength < requiredSize) {
      this.resizeBuffer(requiredSize * 2);
    }
  }
  resizeBuffer(newSize) {
    const newBuffer = new ArrayBuffer(newSize);
    const newBytes = new Uint8Array(newBuffer);
    const newView = new DataView(newBuffer);
    newBytes.set(this.bytes);
    this.view = newView;
    this.bytes = newBytes;
  }
  encodeNil() {
    this.writeU8(192);
  }
  encodeBoolean(object) {
    if (object === false) {
      this.writeU8(194);
    } else {
      this.writeU8(195);
    }
  }
  encodeNumber(object) {
    if (!this.forceIntegerToFloat && Number.isSafeInteger(object)) {
      if (object >= 0) {
        if (object < 128) {
          this.writeU8(object);
        } else if (object < 256) {
          this.writeU8(204);
          this.writeU8(object);
        } else if (object < 65536) {
          this.writeU8(205);
          this.writeU16(object);
        } else if (object < 4294967296) {
          this.writeU8(206);
          this.writeU32(object);
        } else if (!this.useBigInt64) {
          this.writeU8(207);
          this.writeU64(object);
        } else {
          this.encodeNumberAsFloat(object);
        }
      } else {
        if (object >= -32) {
          this.writeU8(224 | object + 32);
        } else if (object >= -128) {
          this.writeU8(208);
          this.writeI8(object);
        } else if (object >= -32768) {
          this.writeU8(209);
          this.writeI16(object);
        } else if (object >= -2147483648) {
          this.writeU8(210);
          this.writeI32(object);
        } else if (!this.useBigInt64) {
          this.writeU8(211);
          this.writeI64(object);
        } else {
          this.encodeNumberAsFloat(object);
        }
      }
    } else {
      this.encodeNumberAsFloat(object);
    }
  }
  encodeNumberAsFloat(object) {
    if (this.forceFloat32) {
      this.writeU8(202);
      this.writeF32(object);
    } else {
      this.writeU8(203);
      this.writeF64(object);
    }
  }
  encodeBigInt64(object) {
    if (object >= BigInt(0)) {
      this.writeU8(207);
      this.writeBigUint64(object);
    } else {
      this.writeU8(211);
      this.writeBigInt64(object);
    }
  }
  writeStringHeader(byteLength) {
    if (byteLength < 32) {
      this.writeU8(160 + byteLength);
    } else if (byteLength < 256) {
      this.writeU8(217);
      this.writeU8(byteLength);
    } else if (byteLength < 65536) {
      this.writeU8(218);
      this.writeU16(byteLength);
    } else if (byteLength < 4294967296) {
      this.writeU8(219);
      this.writeU32(byteLength);
    } else {
      throw new Error(`Too long string: ${byteLength} bytes in UTF-8`);
    }
  }
  encodeString(object) {
    const maxHeaderSize = 1 + 4;
    const byteLength = utf8Count(object);
    this.ensureBufferSizeToWrite(maxHeaderSize + byteLength);
    this.writeStringHeader(byteLength);
    utf8Encode(object, this.bytes, this.pos);
    this.pos += byteLength;
  }
  encodeObject(object, depth) {
    const ext = this.extensionCodec.tryToEncode(object, this.context);
    if (ext != null) {
      this.encodeExtension(ext);
    } else if (Array.isArray(object)) {
      this.encodeArray(object, depth);
    } else if (ArrayBuffer.isView(object)) {
      this.encodeBinary(object);
    } else if (typeof object === "object") {
      this.encodeMap(object, depth);
    } else {
      throw new Error(`Unrecognized object: ${Object.prototype.toString.apply(object)}`);
    }
  }
  encodeBinary(object) {
    const size = object.byteLength;
    if (size < 256) {
      this.writeU8(196);
      this.writeU8(size);
    } else if (size < 65536) {
      this.writeU8(197);
      this.writeU16(size);
    } else if (size < 4294967296) {
      this.writeU8(198);
      this.writeU32(size);
    } else {
      throw new Error(`Too large binary: ${size}`);
    }
    const bytes = ensureUint8Array(object);
    this.writeU8a(bytes);
  }
  encodeArray(object, depth) {
    const size = object.length;
    if (size < 16) {
      this.writeU8(144 + size);
    } else if (size < 65536) {
      this.writeU8(220);
      this.writeU16(size);
    } else if (size < 4294967296) {
      this.writeU8(221);
      this.writeU32(size);
    } else {
      throw new Error(`Too large array: ${size}`);
    }
    for (const item of object) {
      this.doEncode(item, depth + 1);
    }
  }
  countWithoutUndefined(object, keys) {
    let count = 0;
    for (const key of keys) {
      if (object[key] !== void 0) {
        count++;
      }
    }
    return count;
  }
  encodeMap(object, depth) {
    const keys = Object.keys(object);
    if (this.sortKeys) {
      keys.sort();
    }
    const size = this.ignoreUndefined ? this.countWithoutUndefined(object, keys) : keys.length;
    if (size < 16) {
      this.writeU8(128 + size);
    } else if (size < 65536) {
      this.writeU8(222);
      this.writeU16(size);
    } else if (size < 4294967296) {
      this.writeU8(223);
      this.writeU32(size);
    } else {
      throw new Error(`Too large map object: ${size}`);
    }
    for (const key of keys) {
      const value = object[key];
      if (!(this.ignoreUndefined && value === void 0)) {
        this.encodeString(key);
        this.doEncode(value, depth + 1);
      }
    }
  }
  encodeExtension(ext) {
    if (typeof ext.data === "function") {
      const data = ext.data(this.pos + 6);
      const size2 = data.length;
      if (size2 >= 4294967296) {
        throw new Error(`Too large extension object: ${size2}`);
      }
      this.writeU8(201);
      this.writeU32(size2);
      this.writeI8(ext.type);
      this.writeU8a(data);
      return;
    }
    const size = ext.data.length;
    if (size === 1) {
      this.writeU8(212);
    } else if (size === 2) {
      this.writeU8(213);
    } else if (size === 4) {
      this.writeU8(214);
    } else if (size === 8) {
      this.writeU8(215);
    } else if (size === 16) {
      this.writeU8(216);
    } else if (size < 256) {
      this.writeU8(199);
      this.writeU8(size);
    } else if (size < 65536) {
      this.writeU8(200);
      this.writeU16(size);
    } else if (size < 4294967296) {
      this.writeU8(201);
      this.writeU32(size);
    } else {
      throw new Error(`Too large extension object: ${size}`);
    }
    this.writeI8(ext.type);
    this.writeU8a(ext.data);
  }
  writeU8(value) {
    this.ensureBufferSizeToWrite(1);
    this.view.setUint8(this.pos, value);
    this.pos++;
  }
  writeU8a(values) {
    const size = values.length;
    this.ensureBufferSizeToWrite(size);
    this.bytes.set(values, this.pos);
    this.pos += size;
  }
  writeI8(value) {
    this.ensureBufferSizeToWrite(1);
    this.view.setInt8(this.pos, value);
    this.pos++;
  }
  writeU16(value) {
    this.ensureBufferSizeToWrite(2);
    this.view.setUint16(this.pos, value);
    this.pos += 2;
  }
  writeI16(value) {
    this.ensureBufferSizeToWrite(2);
    this.view.setInt16(this.pos, value);
    this.pos += 2;
  }
  writeU32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setUint32(this.pos, value);
    this.pos += 4;
  }
  writeI32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setInt32(this.pos, value);
    this.pos += 4;
  }
  writeF32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setFloat32(this.pos, value);
    this.pos += 4;
  }
  writeF64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setFloat64(this.pos, value);
    this.pos += 8;
  }
  writeU64(value) {
    this.ensureBufferSizeToWrite(8);
    setUint64(this.view, this.pos, value);
    this.pos += 8;
  }
  writeI64(value) {
    this.ensureBufferSizeToWrite(8);
    setInt64(this.view, this.pos, value);
    this.pos += 8;
  }
  writeBigUint64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setBigUint64(this.pos, value);
    this.pos += 8;
  }
  writeBigInt64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setBigInt64(this.pos, value);
    this.pos += 8;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/utils/prettyByte.mjs
function prettyByte(byte) {
  return `${byte < 0 ? "-" : ""}0x${Math.abs(byte).toString(16).padStart(2, "0")}`;
}

// node_modules/@msgpack/msgpack/dist.esm/CachedKeyDecoder.mjs
var DEFAULT_MAX_KEY_LENGTH = 16;
var DEFAULT_MAX_LENGTH_PER_KEY = 16;
var CachedKeyDecoder = class {
  constructor(maxKeyLength = DEFAULT_MAX_KEY_LENGTH, maxLengthPerKey = DEFAULT_MAX_LENGTH_PER_KEY) {
    __publicField(this, "hit", 0);
    __publicField(this, "miss", 0);
    __publicField(this, "caches");
    __publicField(this, "maxKeyLength");
    __publicField(this, "maxLengthPerKey");
    this.maxKeyLength = maxKeyLength;
    this.maxLengthPerKey = maxLengthPerKey;
    this.caches = [];
    for (let i = 0; i < this.maxKeyLength; i++) {
      this.caches.push([]);
    }
  }
  canBeCached(byteLength) {
    return byteLength > 0 && byteLength <= this.maxKeyLength;
  }
  find(bytes, inputOffset, byteLength) {
    const records = this.caches[byteLength - 1];
    FIND_CHUNK: for (const record of records) {
      const recordBytes = record.bytes;
      for (let j = 0; j < byteLength; j++) {
        if (recordBytes[j] !== bytes[inputOffset + j]) {
          continue FIND_CHUNK;
        }
      }
      return record.str;
    }
    return null;
  }
  store(bytes, value) {
    const records = this.caches[bytes.length - 1];
    const record = { bytes, str: value };
    if (records.length >= this.maxLengthPerKey) {
      records[Math.random() * records.length | 0] = record;
    } else {
      records.push(record);
    }
  }
  decode(bytes, inputOffset, byteLength) {
    const cachedValue = this.find(bytes, inputOffset, byteLength);
    if (cachedValue != null) {
      this.hit++;
      return cachedValue;
    }
    this.miss++;
    const str = utf8DecodeJs(bytes, inputOffset, byteLength);
    const slicedCopyOfBytes = Uint8Array.prototype.slice.call(bytes, inputOffset, inputOffset + byteLength);
    this.store(slicedCopyOfBytes, str);
    return str;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/Decoder.mjs
var STATE_ARRAY = "array";
var STATE_MAP_KEY = "map_key";
var STATE_MAP_VALUE = "map_value";
var mapKeyConverter = (key) => {
  if (typeof key === "string" || typeof key === "number") {
    return key;
  }
  throw new DecodeError("The type of key must be string or number but " + typeof key);
};
var StackPool = class {
  constructor() {
    __publicField(this, "stack", []);
    __publicField(this, "stackHeadPosition", -1);
  }
  get length() {
    return this.stackHeadPosition + 1;
  }
  top() {
    return this.stack[this.stackHeadPosition];
  }
  pushArrayState(size) {
    const state = this.getUninitializedStateFromPool();
    state.type = STATE_ARRAY;
    state.position = 0;
    state.size = size;
    state.array = new Array(size);
  }
  pushMapState(size) {
    const state = this.getUninitializedStateFromPool();
    state.type = STATE_MAP_KEY;
    state.readCount = 0;
    state.size = size;
    state.map = {};
  }
  getUninitializedStateFromPool() {
    this.stackHeadPosition++;
    if (this.stackHeadPosition === this.stack.length) {
      const partialState = {
        type: void 0,
        size: 0,
        array: void 0,
        position: 0,
        readCount: 0,
        map: void 0,
        key: null
      };
      this.stack.push(partialState);
    }
    return this.stack[this.stackHeadPosition];
  }
  release(state) {
    const topStackState = this.stack[this.stackHeadPosition];
    if (topStackState !== state) {
      throw new Error("Invalid stack state. Released state is not on top of the stack.");
    }
    if (state.type === STATE_ARRAY) {
      const partialState = state;
      partialState.size = 0;
      partialState.array = void 0;
      partialState.position = 0;
      partialState.type = void 0;
    }
    if (state.type === STATE_MAP_KEY || state.type === STATE_MAP_VALUE) {
      const partialState = state;
      partialState.size = 0;
      partialState.map = void 0;
      partialState.readCount = 0;
      partialState.type = void 0;
    }
    this.stackHeadPosition--;
  }
  reset() {
    this.stack.length = 0;
    this.stackHeadPosition = -1;
  }
};
var HEAD_BYTE_REQUIRED = -1;
var EMPTY_VIEW = new DataView(new ArrayBuffer(0));
var EMPTY_BYTES = new Uint8Array(EMPTY_VIEW.buffer);
try {
  EMPTY_VIEW.getInt8(0);
} catch (e) {
  if (!(e instanceof RangeError)) {
    throw new Error("This module is not supported in the current JavaScript engine because DataView does not throw RangeError on out-of-bounds access");
  }
}
var MORE_DATA = new RangeError("Insufficient data");
var sharedCachedKeyDecoder = new CachedKeyDecoder();
var Decoder = class _Decoder {
  constructor(options) {
    __publicField(this, "extensionCodec");
    __publicField(this, "context");
    __publicField(this, "useBigInt64");
    __publicField(this, "rawStrings");
    __publicField(this, "maxStrLength");
    __publicField(this, "maxBinLength");
    __publicField(this, "maxArrayLength");
    __publicField(this, "maxMapLength");
    __publicField(this, "maxExtLength");
    __publicField(this, "keyDecoder");
    __publicField(this, "mapKeyConverter");
    __publicField(this, "totalPos", 0);
    __publicField(this, "pos", 0);
    __publicField(this, "view", EMPTY_VIEW);
    __publicField(this, "bytes", EMPTY_BYTES);
    __publicField(this, "headByte", HEAD_BYTE_REQUIRED);
    __publicField(this, "stack", new StackPool());
    __publicField(this, "entered", false);
    this.extensionCodec = options?.extensionCodec ?? ExtensionCodec.defaultCodec;
    this.context = options?.context;
    this.useBigInt64 = options?.useBigInt64 ?? false;
    this.rawStrings = options?.rawStrings ?? false;
    this.maxStrLength = options?.maxStrLength ?? UINT32_MAX;
    this.maxBinLength = options?.maxBinLength ?? UINT32_MAX;
    this.maxArrayLength = options?.maxArrayLength ?? UINT32_MAX;
    this.maxMapLength = options?.maxMapLength ?? UINT32_MAX;
    this.maxExtLength = options?.maxExtLength ?? UINT32_MAX;
    this.keyDecoder = options?.keyDecoder !== void 0 ? options.keyDecoder : sharedCachedKeyDecoder;
    this.mapKeyConverter = options?.mapKeyConverter ?? mapKeyConverter;
  }
  clone() {
    return new _Decoder({
      extensionCodec: this.extensionCodec,
      context: this.context,
      useBigInt64: this.useBigInt64,
      rawStrings: this.rawStrings,
      maxStrLength: this.maxStrLength,
      maxBinLength: this.maxBinLength,
      maxArrayLength: this.maxArrayLength,
      maxMapLength: this.maxMapLength,
      maxExtLength: this.maxExtLength,
      keyDecoder: this.keyDecoder
    });
  }
  reinitializeState() {
    this.totalPos = 0;
    this.headByte = HEAD_BYTE_REQUIRED;
    this.stack.reset();
  }
  setBuffer(buffer) {
    const bytes = ensureUint8Array(buffer);
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }
  appendBuffer(buffer) {
    if (this.headByte === HEAD_BYTE_REQUIRED && !this.hasRemaining(1)) {
      this.setBuffer(buffer);
    } else {
      const remainingData = this.bytes.subarray(this.pos);
      const newData = ensureUint8Array(buffer);
      const newBuffer = new Uint8Array(remainingData.length + newData.length);
      newBuffer.set(remainingData);
      newBuffer.set(newData, remainingData.length);
      this.setBuffer(newBuffer);
    }
  }
  hasRemaining(size) {
    return this.view.byteLength - this.pos >= size;
  }
  createExtraByteError(posToShow) {
    const { view, pos } = this;
    return new RangeError(`Extra ${view.byteLength - pos} of ${view.byteLength} byte(s) found at buffer[${posToShow}]`);
  }
  /**
   * @throws {@link DecodeError}
   * @throws {@link RangeError}
   */
  decode(buffer) {
    if (this.entered) {
      const instance = this.clone();
      return instance.decode(buffer);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.setBuffer(buffer);
      const object = this.doDecodeSync();
      if (this.hasRemaining(1)) {
        throw this.createExtraByteError(this.pos);
      }
      return object;
    } finally {
      this.entered = false;
    }
  }
  *decodeMulti(buffer) {
    if (this.entered) {
      const instance = this.clone();
      yield* instance.decodeMulti(buffer);
      return;
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.setBuffer(buffer);
      while (this.hasRemaining(1)) {
        yield this.doDecodeSync();
      }
    } finally {
      this.entered = false;
    }
  }
  async decodeAsync(stream) {
    if (this.entered) {
      const instance = this.clone();
      return instance.decodeAsync(stream);
    }
    try {
      this.entered = true;
      let decoded = false;
      let object;
      for await (const buffer of stream) {
        if (decoded) {
          this.entered = false;
          throw this.createExtraByteError(this.totalPos);
        }
        this.appendBuffer(buffer);
        try {
          object = this.doDecodeSync();
          decoded = true;
        } catch (e) {
          if (!(e instanceof RangeError)) {
            throw e;
          }
        }
        this.totalPos += this.pos;
      }
      if (decoded) {
        if (this.hasRemaining(1)) {
          throw this.createExtraByteError(this.totalPos);
        }
        return object;
      }
      const { headByte, pos, totalPos } = this;
      throw new RangeError(`Insufficient data in parsing ${prettyByte(headByte)} at ${totalPos} (${pos} in the current buffer)`);
    } finally {
      this.entered = false;
    }
  }
  decodeArrayStream(stream) {
    return this.decodeMultiAsync(stream, true);
  }
  decodeStream(stream) {
    return this.decodeMultiAsync(stream, false);
  }
  async *decodeMultiAsync(stream, isArray) {
    if (this.entered) {
      const instance = this.clone();
      yield* instance.decodeMultiAsync(stream, isArray);
      return;
    }
    try {
      this.entered = true;
      let isArrayHeaderRequired = isArray;
      let arrayItemsLeft = -1;
      for await (const buffer of stream) {
        if (isArray && arrayItemsLeft === 0) {
          throw this.createExtraByteError(this.totalPos);
        }
        this.appendBuffer(buffer);
        if (isArrayHeaderRequired) {
          arrayItemsLeft = this.readArraySize();
          isArrayHeaderRequired = false;
          this.complete();
        }
        try {
          while (true) {
            yield this.doDecodeSync();
            if (--arrayItemsLeft === 0) {
              break;
            }
          }
        } catch (e) {
          if (!(e instanceof RangeError)) {
            throw e;
          }
        }
        this.totalPos += this.pos;
      }
    } finally {
      this.entered = false;
    }
  }
  doDecodeSync() {
    DECODE: while (true) {
      const headByte = this.readHeadByte();
      let object;
      if (headByte >= 224) {
        object = headByte - 256;
      } else if (headByte < 192) {
        if (headByte < 128) {
          object = headByte;
        } else if (headByte < 144) {
          const size = headByte - 128;
          if (size !== 0) {
            this.pushMapState(size);
            this.complete();
            continue DECODE;
          } else {
            object = {};
          }
        } else if (headByte < 160) {
          const size = headByte - 144;
          if (size !== 0) {
            this.pushArrayState(size);
            this.complete();
            continue DECODE;
          } else {
            object = [];
          }
        } else {
          const byteLength = headByte - 160;
          object = this.decodeString(byteLength, 0);
        }
      } else if (headByte === 192) {
        object = null;
      } else if (headByte === 194) {
        object = false;
      } else if (headByte === 195) {
        object = true;
      } else if (headByte === 202) {
        object = this.readF32();
      } else if (headByte === 203) {
        object = this.readF64();
      } else if (headByte === 204) {
        object = this.readU8();
      } else if (headByte === 205) {
        object = this.readU16();
      } else if (headByte === 206) {
        object = this.readU32();
      } else if (headByte === 207) {
        if (this.useBigInt64) {
          object = this.readU64AsBigInt();
        } else {
          object = this.readU64();
        }
      } else if (headByte === 208) {
        object = this.readI8();
      } else if (headByte === 209) {
        object = this.readI16();
      } else if (headByte === 210) {
        object = this.readI32();
      } else if (headByte === 211) {
        if (this.useBigInt64) {
          object = this.readI64AsBigInt();
        } else {
          object = this.readI64();
        }
      } else if (headByte === 217) {
        const byteLength = this.lookU8();
        object = this.decodeString(byteLength, 1);
      } else if (headByte === 218) {
        const byteLength = this.lookU16();
        object = this.decodeString(byteLength, 2);
      } else if (headByte === 219) {
        const byteLength = this.lookU32();
        object = this.decodeString(byteLength, 4);
      } else if (headByte === 220) {
        const size = this.readU16();
        if (size !== 0) {
          this.pushArrayState(size);
          this.complete();
          continue DECODE;
        } else {
          object = [];
        }
      } else if (headByte === 221) {
        const size = this.readU32();
        if (size !== 0) {
          this.pushArrayState(size);
          this.complete();
          continue DECODE;
        } else {
          object = [];
        }
      } else if (headByte === 222) {
        const size = this.readU16();
        if (size !== 0) {
          this.pushMapState(size);
          this.complete();
          continue DECODE;
        } else {
          object = {};
        }
      } else if (headByte === 223) {
        const size = this.readU32();
        if (size !== 0) {
          this.pushMapState(size);
          this.complete();
          continue DECODE;
        } else {
          object = {};
        }
      } else if (headByte === 196) {
        const size = this.lookU8();
        object = this.decodeBinary(size, 1);
      } else if (headByte === 197) {
        const size = this.lookU16();
        object = this.decodeBinary(size, 2);
      } else if (headByte === 198) {
        const size = this.lookU32();
        object = this.decodeBinary(size, 4);
      } else if (headByte === 212) {
        object = this.decodeExtension(1, 0);
      } else if (headByte === 213) {
        object = this.decodeExtension(2, 0);
      } else if (headByte === 214) {
        object = this.decodeExtension(4, 0);
      } else if (headByte === 215) {
        object = this.decodeExtension(8, 0);
      } else if (headByte === 216) {
        object = this.decodeExtension(16, 0);
      } else if (headByte === 199) {
        const size = this.lookU8();
        object = this.decodeExtension(size, 1);
      } else if (headByte === 200) {
        const size = this.lookU16();
        object = this.decodeExtension(size, 2);
      } else if (headByte === 201) {
        const size = this.lookU32();
        object = this.decodeExtension(size, 4);
      } else {
        throw new DecodeError(`Unrecognized type byte: ${prettyByte(headByte)}`);
      }
      this.complete();
      const stack = this.stack;
      while (stack.length > 0) {
        const state = stack.top();
        if (state.type === STATE_ARRAY) {
          state.array[state.position] = object;
          state.position++;
          if (state.position === state.size) {
            object = state.array;
            stack.release(state);
          } else {
            continue DECODE;
          }
        } else if (state.type === STATE_MAP_KEY) {
          if (object === "__proto__") {
            throw new DecodeError("The key __proto__ is not allowed");
          }
          state.key = this.mapKeyConverter(object);
          state.type = STATE_MAP_VALUE;
          continue DECODE;
        } else {
          state.map[state.key] = object;
          state.readCount++;
          if (state.readCount === state.size) {
            object = state.map;
            stack.release(state);
          } else {
            state.key = null;
            state.type = STATE_MAP_KEY;
            continue DECODE;
          }
        }
      }
      return object;
    }
  }
  readHeadByte() {
    if (this.headByte === HEAD_BYTE_REQUIRED) {
      this.headByte = this.readU8();
    }
    return this.headByte;
  }
  complete() {
    this.headByte = HEAD_BYTE_REQUIRED;
  }
  readArraySize() {
    const headByte = this.readHeadByte();
    switch (headByte) {
      case 220:
        return this.readU16();
      case 221:
        return this.readU32();
      default: {
        if (headByte < 160) {
          return headByte - 144;
        } else {
          throw new DecodeError(`Unrecognized array type byte: ${prettyByte(headByte)}`);
        }
      }
    }
  }
  pushMapState(size) {
    if (size > this.maxMapLength) {
      throw new DecodeError(`Max length exceeded: map length (${size}) > maxMapLengthLength (${this.maxMapLength})`);
    }
    this.stack.pushMapState(size);
  }
  pushArrayState(size) {
    if (size > this.maxArrayLength) {
      throw new DecodeError(`Max length exceeded: array length (${size}) > maxArrayLength (${this.maxArrayLength})`);
    }
    this.stack.pushArrayState(size);
  }
  decodeString(byteLength, headerOffset) {
    if (!this.rawStrings || this.stateIsMapKey()) {
      return this.decodeUtf8String(byteLength, headerOffset);
    }
    return this.decodeBinary(byteLength, headerOffset);
  }
  /**
   * @throws {@link RangeError}
   */
  decodeUtf8String(byteLength, headerOffset) {
    if (byteLength > this.maxStrLength) {
      throw new DecodeError(`Max length exceeded: UTF-8 byte length (${byteLength}) > maxStrLength (${this.maxStrLength})`);
    }
    if (this.bytes.byteLength < this.pos + headerOffset + byteLength) {
      throw MORE_DATA;
    }
    const offset = this.pos + headerOffset;
    let object;
    if (this.stateIsMapKey() && this.keyDecoder?.canBeCached(byteLength)) {
      object = this.keyDecoder.decode(this.bytes, offset, byteLength);
    } else {
      object = utf8Decode(this.bytes, offset, byteLength);
    }
    this.pos += headerOffset + byteLength;
    return object;
  }
  stateIsMapKey() {
    if (this.stack.length > 0) {
      const state = this.stack.top();
      return state.type === STATE_MAP_KEY;
    }
    return false;
  }
  /**
   * @throws {@link RangeError}
   */
  decodeBinary(byteLength, headOffset) {
    if (byteLength > this.maxBinLength) {
      throw new DecodeError(`Max length exceeded: bin length (${byteLength}) > maxBinLength (${this.maxBinLength})`);
    }
    if (!this.hasRemaining(byteLength + headOffset)) {
      throw MORE_DATA;
    }
    const offset = this.pos + headOffset;
    const object = this.bytes.subarray(offset, offset + byteLength);
    this.pos += headOffset + byteLength;
    return object;
  }
  decodeExtension(size, headOffset) {
    if (size > this.maxExtLength) {
      throw new DecodeError(`Max length exceeded: ext length (${size}) > maxExtLength (${this.maxExtLength})`);
    }
    const extType = this.view.getInt8(this.pos + headOffset);
    const data = this.decodeBinary(
      size,
      headOffset + 1
      /* extType */
    );
    return this.extensionCodec.decode(data, extType, this.context);
  }
  lookU8() {
    return this.view.getUint8(this.pos);
  }
  lookU16() {
    return this.view.getUint16(this.pos);
  }
  lookU32() {
    return this.view.getUint32(this.pos);
  }
  readU8() {
    const value = this.view.getUint8(this.pos);
    this.pos++;
    return value;
  }
  readI8() {
    const value = this.view.getInt8(this.pos);
    this.pos++;
    return value;
  }
  readU16() {
    const value = this.view.getUint16(this.pos);
    this.pos += 2;
    return value;
  }
  readI16() {
    const value = this.view.getInt16(this.pos);
    this.pos += 2;
    return value;
  }
  readU32() {
    const value = this.view.getUint32(this.pos);
    this.pos += 4;
    return value;
  }
  readI32() {
    const value = this.view.getInt32(this.pos);
    this.pos += 4;
    return value;
  }
  readU64() {
    const value = getUint64(this.view, this.pos);
    this.pos += 8;
    return value;
  }
  readI64() {
    const value = getInt64(this.view, this.pos);
    this.pos += 8;
    return value;
  }
  readU64AsBigInt() {
    const value = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return value;
  }
  readI64AsBigInt() {
    const value = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return value;
  }
  readF32() {
    const value = this.view.getFloat32(this.pos);
    this.pos += 4;
    return value;
  }
  readF64() {
    const value = this.view.getFloat64(this.pos);
    this.pos += 8;
    return value;
  }
};

// src/frames.ts
function schema(min, fields) {
  return { names: Object.keys(fields), types: Object.values(fields), min };
}
var Presences = ["offline", "online", "away"];
var Roles = ["invited", "member", "admin", "owner"];
var FriendStates = ["none", "incoming", "outgoing", "friend", "blocked"];
var FriendEvents = ["", "requested", "accepted", "declined", "removed", "blocked", "unblocked"];
var GroupEvents = ["", "joined", "left", "removed", "invited", "role_changed", "declined"];
var RoomEvents = ["", "joined", "left", "away", "back"];
var CallStates = ["", "ringing", "active", "ended"];
var CallEndReasons = ["none", "declined", "cancelled", "no_answer", "hung_up", "disconnected"];
var VoiceEvents = ["", "speaking", "silent", "muted", "unmuted", "deafened", "undeafened"];
var presence = { enum: Presences };
var role = { enum: Roles };
var roomMember = schema(1, { member: "u", userId: "s", displayName: "s" });
var tickInput = schema(3, { member: "u", seq: "u", data: "b" });
var roomInfo = schema(1, { roomId: "id", type: "s", label: "s", members: "u", capacity: "u", tickRate: "u" });
var friend = schema(1, {
  userId: "s",
  username: "s",
  displayName: "s",
  state: { enum: FriendStates },
  presence,
  statusText: "s",
  lastSeenUs: "i"
});
var group = schema(1, { id: "u", name: "s", open: "bool", role, members: "u", ownerId: "s" });
var member = schema(1, { userId: "s", displayName: "s", role, presence });
var chatFields = {
  id: "u",
  groupId: "u",
  fromUserId: "s",
  toUserId: "s",
  timeUs: "i",
  body: "s",
  fromName: "s"
};
var chatMessage = schema(1, chatFields);
var Kind = {
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
  CallUpdate: 113
};
var kinds = {
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
    replay: "u"
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
    params: "b"
  }),
  [Kind.RoomJoin]: schema(2, { ref: "u", roomId: "id" }),
  [Kind.RoomJoinOrCreate]: schema(2, {
    ref: "u",
    type: "s",
    label: "s",
    capacity: "u",
    tickRate: "u",
    emptyTimeoutMs: "u",
    params: "b"
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
    members: { list: roomMember }
  }),
  [Kind.RoomLeave]: schema(2, { ref: "u", roomId: "id" }),
  [Kind.RoomEvent]: schema(4, {
    ref: "u",
    roomId: "id",
    event: { enum: RoomEvents },
    member: "u",
    userId: "s",
    displayName: "s"
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
    role
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
    timeUs: "i"
  })
};
var kindNames = Object.fromEntries(
  Object.entries(Kind).map(([name, k]) => [k, name])
);
function kindName(kind) {
  return kindNames[kind] ?? `kind_${kind}`;
}
var MaxMessage = 64 << 10;
var limits = {
  maxStrLength: MaxMessage,
  maxBinLength: MaxMessage,
  maxArrayLength: 8192,
  maxMapLength: 0,
  maxExtLength: 0
};
var enc = new Encoder({ useBigInt64: true, ignoreUndefined: false });
var dec = new Decoder({ useBigInt64: true, ...limits });
var MaxSafe = BigInt(Number.MAX_SAFE_INTEGER);
var twoPow32 = 4294967296;
function wireInt(v, what) {
  if (typeof v === "bigint") {
    if (v >= -0x80000000n && v < BigInt(twoPow32)) return Number(v);
    return v;
  }
  if (v === void 0 || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw badField(what, "an integer");
  if (v >= -2147483648 && v < twoPow32) return v;
  return BigInt(v);
}
function badField(what, want) {
  return new TickwireError(Code.BadRequest, `${what}: want ${want}`);
}
function encodeValue(t, v, what) {
  if (typeof t === "string") {
    switch (t) {
      case "u":
        if (typeof v === "number" && v < 0) throw badField(what, "an unsigned integer");
        return wireInt(v, what);
      case "i":
      case "id":
        return wireInt(v, what);
      case "s":
        if (v === void 0 || v === null) return "";
        if (typeof v !== "string") throw badField(what, "a string");
        return v;
      case "b":
        if (v === void 0 || v === null) return new Uint8Array(0);
        if (!(v instanceof Uint8Array)) throw badField(what, "a Uint8Array");
        return v;
      case "bool":
        return v === true;
    }
  }
  if ("enum" in t) {
    if (v === void 0 || v === null) return 0;
    if (typeof v === "number") return v;
    const i = typeof v === "string" && v !== "" ? t.enum.indexOf(v) : -1;
    if (i < 0) throw badField(what, `one of ${t.enum.filter((n) => n).join(", ")}`);
    return i;
  }
  if ("rec" in t) return encodeRecord(t.rec, v ?? {}, what);
  if (!Array.isArray(v)) return [];
  return v.map((e, i) => encodeRecord(t.list, e, `${what}[${i}]`));
}
function encodeRecord(s, obj, what) {
  return s.names.map((n, i) => encodeValue(s.types[i], obj[n], `${what}.${n}`));
}
function wireFields(f) {
  const s = kinds[f.kind];
  if (!s) throw new TickwireError(Code.UnknownKind, `kind ${f.kind}`);
  return encodeRecord(s, f, kindName(f.kind));
}
function encode(f) {
  return enc.encode([f.kind, ...wireFields(f)]);
}
function malformed(msg) {
  return new TickwireError(Code.BadFrame, msg);
}
function zero(t) {
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
function decodeValue(t, v, what) {
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
        if (v === null) return "";
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
    const name = typeof v === "number" ? t.enum[v] : void 0;
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
function decodeRecord(s, arr, what) {
  if (arr.length < s.min) throw malformed(`${what}: ${arr.length} fields, need ${s.min}`);
  const out = {};
  s.names.forEach((n, i) => {
    const t = s.types[i];
    out[n] = i < arr.length ? decodeValue(t, arr[i], `${what}.${n}`) : zero(t);
  });
  return out;
}
function decode(b) {
  let arr;
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
  const f = decodeRecord(s, arr.slice(1), kindName(kind));
  f.kind = kind;
  return f;
}

// src/secure.ts
function pageProtocol() {
  const loc = globalThis.location;
  return loc?.protocol ?? "";
}
function checkBase(base, page = pageProtocol()) {
  let u;
  try {
    u = new URL(base);
  } catch {
    throw new TickwireError(Code.BadRequest, `the API base ${JSON.stringify(base)} is not an absolute URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TickwireError(Code.BadRequest, `the API base must be http: or https:, not ${u.protocol}`);
  }
  if (page === "https:" && u.protocol !== "https:") {
    throw new TickwireError(Code.Forbidden, `an https: page does not reach the API at ${u.origin} in clear: give an https:// URL`);
  }
  return u;
}

// src/transport.ts
var DefaultTransports = ["webrtc", "websocket", "longpoll"];
var Reliable = 0;
var Unreliable = 1;
var describeCode = codeName;
var Inbound = class {
  constructor() {
    __publicField(this, "early", []);
    __publicField(this, "closed");
    __publicField(this, "h");
  }
  start(h) {
    this.h = h;
    for (const [ch, b] of this.early) h.message(ch, b);
    this.early = [];
    if (this.closed) h.close(...this.closed);
  }
  message(ch, b) {
    if (this.h) this.h.message(ch, b);
    else this.early.push([ch, b]);
  }
  /** shut marks the connection closed by its owner: nothing more is reported. */
  shut() {
    if (this.closed) return;
    this.closed = [0, ""];
    this.h = void 0;
    this.early = [];
  }
  /** close reports the end once. */
  close(code, reason) {
    if (this.closed) return;
    this.closed = [code, reason];
    this.h?.close(code, reason);
  }
  get isClosed() {
    return this.closed !== void 0;
  }
};
function truncateUTF8(s, max) {
  const b = new TextEncoder().encode(s);
  if (b.length <= max) return s;
  let n = max;
  while (n > 0 && (b[n] & 192) === 128) n--;
  return new TextDecoder().decode(b.subarray(0, n));
}
function httpURL(base, path) {
  checkBase(base);
  return new URL(path, base.endsWith("/") ? base : base + "/");
}
function onAbort(signal, fn) {
  if (signal.aborted) {
    fn();
    return () => {
    };
  }
  signal.addEventListener("abort", fn, { once: true });
  return () => signal.removeEventListener("abort", fn);
}

// src/http.ts
async function readError(res) {
  let code = Code.Internal;
  let message = `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (typeof body.code === "number") code = body.code;
    if (typeof body.message === "string") message = body.message;
  } catch {
  }
  return new TickwireError(code, message);
}
async function request(base, method, path, o = {}) {
  const headers = {};
  if (o.token) headers["Authorization"] = `Bearer ${o.token}`;
  if (o.body !== void 0) headers["Content-Type"] = "application/json";
  const url = httpURL(base, path);
  let res;
  try {
    res = await (o.fetch ?? fetch)(url, {
      method,
      headers,
      body: o.body === void 0 ? void 0 : JSON.stringify(o.body),
      signal: o.signal,
      credentials: "omit",
      cache: "no-store"
    });
  } catch (err) {
    throw new TickwireError(ConnectionLost, `${method} ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!res.ok) throw await readError(res);
  if (res.status === 204) {
    await res.arrayBuffer();
    return void 0;
  }
  return await res.json();
}
function toAuth(r) {
  const a = { token: r.token, userId: r.user_id, name: r.name, guest: r.guest, expiresAt: r.expires_at };
  if (r.username !== void 0) a.username = r.username;
  return a;
}
async function guest(base, name, o = {}) {
  return toAuth(await request(base, "POST", "v1/auth/guest", { ...o, body: name ? { name } : {} }));
}
async function register(base, username, password, displayName, o = {}) {
  const body = { username, password };
  if (displayName) body.display_name = displayName;
  return toAuth(await request(base, "POST", "v1/auth/register", { ...o, body }));
}
async function login(base, username, password, o = {}) {
  return toAuth(await request(base, "POST", "v1/auth/login", { ...o, body: { username, password } }));
}
async function refresh(base, token, o = {}) {
  return toAuth(await request(base, "POST", "v1/auth/refresh", { ...o, token }));
}
async function logout(base, token, o = {}) {
  await request(base, "POST", "v1/auth/logout", { ...o, token });
}

// src/longpoll.ts
var recClose = 3;
var maxCloseBody = 2 + 123;
var answerLimits = {
  // [least, most, when absent]
  max_wait_ms: [0, 6e4, 5e3],
  idle_timeout_ms: [1e3, 6e5, 1e4],
  max_message_size: [64, 1 << 20, 16384],
  max_batch_frames: [1, 65536, 256],
  max_batch_bytes: [1024, 16 << 20, 256 << 10],
  max_unacked_frames: [1, 65536, 1024],
  max_unacked_bytes: [1024, 64 << 20, 1 << 20]
};
function checkAnswer(raw) {
  const a = raw ?? {};
  if (typeof a.id !== "string" || a.id === "" || typeof a.secret !== "string" || a.secret === "") {
    throw new TickwireError(Code.BadFrame, "long-poll open: no id or secret");
  }
  const out = { id: a.id, secret: a.secret };
  for (const [k, [least, most, dflt]] of Object.entries(answerLimits)) {
    const v = a[k] ?? dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < least) {
      throw new TickwireError(Code.BadFrame, `long-poll open: ${k} = ${String(v)}`);
    }
    out[k] = Math.min(v, most);
  }
  return out;
}
function encodeBatch(ack, recs) {
  let n = 4;
  for (const r of recs) n += 9 + r.body.length;
  const out = new Uint8Array(n);
  const v = new DataView(out.buffer);
  v.setUint32(0, ack);
  let o = 4;
  for (const r of recs) {
    v.setUint32(o, r.seq);
    v.setUint8(o + 4, r.type);
    v.setUint32(o + 5, r.body.length);
    out.set(r.body, o + 9);
    o += 9 + r.body.length;
  }
  return out;
}
function decodeBatch(b, maxMessage, maxFrames = 4294967295) {
  if (b.length < 4) throw new TickwireError(Code.BadFrame, "batch shorter than 4 bytes");
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ack = v.getUint32(0);
  const records = [];
  let o = 4;
  while (o < b.length) {
    if (records.length >= maxFrames) throw new TickwireError(Code.FrameTooLarge, `more than ${maxFrames} records`);
    if (b.length - o < 9) throw new TickwireError(Code.BadFrame, "truncated record header");
    const seq = v.getUint32(o);
    const type = v.getUint8(o + 4);
    const len = v.getUint32(o + 5);
    if (len > (type === recClose ? maxCloseBody : maxMessage)) throw new TickwireError(Code.FrameTooLarge, `record of ${len} bytes`);
    if (len > b.length - o - 9) throw new TickwireError(Code.BadFrame, "truncated record body");
    if (seq === 0) throw new TickwireError(Code.BadFrame, "record seq 0");
    const prev = records[records.length - 1];
    if (prev && seq !== prev.seq + 1) throw new TickwireError(Code.BadFrame, `record ${seq} after ${prev.seq}`);
    if (type === recClose && len < 2) throw new TickwireError(Code.BadFrame, "close record without a code");
    records.push({ seq, type, body: b.subarray(o + 9, o + 9 + len) });
    o += 9 + len;
  }
  return { ack, records };
}
async function readCapped(res, limit) {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const header = res.headers.get("Content-Length");
  const declared = header === null ? -1 : Number(header);
  if (declared > limit) {
    await res.body.cancel().catch(() => {
    });
    throw new TickwireError(Code.FrameTooLarge, `answer of ${declared} bytes, limit ${limit}`);
  }
  if (declared >= 0) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts = [];
  let n = 0;
  for (; ; ) {
    const { value, done } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > limit) {
      await reader.cancel().catch(() => {
      });
      throw new TickwireError(Code.FrameTooLarge, `answer above ${limit} bytes`);
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
var closeWaitMs = 1e3;
var LPConn = class {
  constructor(base, a, f) {
    __publicField(this, "base", base);
    __publicField(this, "a", a);
    __publicField(this, "transport", "longpoll");
    __publicField(this, "lastHeard", Date.now());
    __publicField(this, "in", new Inbound());
    __publicField(this, "life", new AbortController());
    // aborts every request when the connection ends
    __publicField(this, "lastRecv", 0);
    // highest server seq delivered
    __publicField(this, "nextSeq", 1);
    // our next frame number
    __publicField(this, "unacked", []);
    // sent or queued, not yet acknowledged
    __publicField(this, "unackedBytes", 0);
    __publicField(this, "waitingSince", 0);
    // ms when the oldest unacknowledged frame began to wait (0 = none waits)
    /** unreliable frames dropped because the unacknowledged window was full */
    __publicField(this, "dropped", 0);
    __publicField(this, "inflight");
    // the one send in flight
    __publicField(this, "failures", 0);
    __publicField(this, "closing", false);
    __publicField(this, "fetch");
    this.fetch = f;
    void this.recvLoop();
  }
  url(path) {
    return httpURL(this.base, `v1/lp/${encodeURIComponent(this.a.id)}${path}`);
  }
  headers() {
    return { Authorization: `Bearer ${this.a.secret}` };
  }
  start(h) {
    this.in.start(h);
  }
  /**
   * send queues a frame. The frames the server has not acknowledged are
   * bounded by the open answer's max_unacked_frames/bytes: past them an
   * unreliable frame is dropped (counted in dropped) and a reliable one
   * ends the connection with slow_consumer, as the server does.
   */
  send(ch, frame) {
    if (this.in.isClosed) throw new TickwireError(ConnectionLost, "long-poll session closed");
    if (frame.length > this.a.max_message_size) throw new TickwireError(Code.FrameTooLarge, `${frame.length} bytes`);
    if (this.unacked.length >= this.a.max_unacked_frames || this.unackedBytes + frame.length > this.a.max_unacked_bytes) {
      if (ch === 1) {
        this.dropped++;
        return;
      }
      this.fail(Code.SlowConsumer, "long-poll: the server acknowledges too slowly");
      throw new TickwireError(Code.SlowConsumer, "long-poll: too many frames wait for the server");
    }
    if (this.unacked.length === 0) this.waitingSince = Date.now();
    this.unacked.push({ seq: this.nextSeq++, type: ch, body: frame });
    this.unackedBytes += frame.length;
    this.pump();
  }
  /** acked forgets the frames the server has up to ack. */
  acked(ack) {
    const before = this.unacked.length;
    this.unacked = this.unacked.filter((r) => r.seq > ack);
    if (this.unacked.length === before) return;
    this.unackedBytes = this.unacked.reduce((n, r) => n + r.body.length, 0);
    this.waitingSince = this.unacked.length > 0 ? Date.now() : 0;
  }
  /** pump posts everything unacknowledged, one send in flight at a time. */
  pump() {
    if (this.inflight || this.unacked.length === 0 || this.closing) return;
    const p = this.post(this.batchOf()).finally(() => {
      if (this.inflight === p) this.inflight = void 0;
      this.pump();
    });
    this.inflight = p;
  }
  /** batchOf takes the unacknowledged frames that fit in one batch. */
  batchOf() {
    const batch = [];
    let bytes = 4;
    for (const r of this.unacked) {
      if (batch.length >= this.a.max_batch_frames || bytes + 9 + r.body.length > this.a.max_batch_bytes) break;
      batch.push(r);
      bytes += 9 + r.body.length;
    }
    return batch;
  }
  /**
   * postBatch sends one batch, acknowledging what we received. It is
   * bounded by the idle timeout (a send a proxy holds forever is given up
   * and retried) and by the connection's life.
   */
  postBatch(batch, keepalive = false) {
    return this.fetch(this.url("/send"), {
      method: "POST",
      headers: { ...this.headers(), "Content-Type": "application/octet-stream" },
      body: encodeBatch(this.lastRecv, batch),
      cache: "no-store",
      credentials: "omit",
      keepalive,
      signal: AbortSignal.any([this.life.signal, AbortSignal.timeout(this.a.idle_timeout_ms)])
    });
  }
  /** readBatch reads and decodes an answer's batch within the open answer's limits. */
  async readBatch(res) {
    const b = await readCapped(res, this.a.max_batch_bytes);
    return decodeBatch(b, this.a.max_message_size, this.a.max_batch_frames);
  }
  async post(batch) {
    try {
      const res = await this.postBatch(batch);
      if (!res.ok) {
        if (await this.refused(res)) await this.backoff();
        return;
      }
      const { ack } = await this.readBatch(res);
      this.lastHeard = Date.now();
      this.failures = 0;
      this.acked(ack);
    } catch (err) {
      if (err instanceof TickwireError) return this.ended(err.code, err.message);
      await this.backoff();
    }
  }
  async recvLoop() {
    const wait = Math.min(this.a.max_wait_ms, 5e3);
    while (!this.in.isClosed) {
      let res;
      try {
        const u = this.url("/recv");
        u.searchParams.set("ack", String(this.lastRecv));
        u.searchParams.set("wait", String(wait));
        res = await this.fetch(u, {
          headers: this.headers(),
          signal: this.life.signal,
          cache: "no-store",
          credentials: "omit"
        });
      } catch {
        if (this.in.isClosed) return;
        if (!await this.backoff()) return;
        continue;
      }
      if (!res.ok) {
        if (await this.refused(res) && !await this.backoff()) return;
        if (this.in.isClosed) return;
        continue;
      }
      let batch;
      try {
        batch = await this.readBatch(res);
      } catch (err) {
        if (this.in.isClosed) return;
        if (err instanceof TickwireError) return this.fail(err.code, err.message);
        if (!await this.backoff()) return;
        continue;
      }
      this.lastHeard = Date.now();
      this.failures = 0;
      this.acked(batch.ack);
      for (const r of batch.records) {
        if (r.seq <= this.lastRecv) continue;
        if (r.seq !== this.lastRecv + 1) return this.fail(Code.BadRequest, `gap before record ${r.seq}`);
        this.lastRecv = r.seq;
        if (r.type === recClose) {
          const v = new DataView(r.body.buffer, r.body.byteOffset, r.body.byteLength);
          return this.ended(v.getUint16(0), new TextDecoder().decode(r.body.subarray(2)));
        }
        if (r.type !== 0 && r.type !== 1) return this.fail(Code.BadFrame, `record type ${r.type}`);
        this.in.message(r.type, r.body);
        if (this.in.isClosed) return;
      }
    }
  }
  /**
   * refused handles a non-2xx answer: true for 503 server_busy (retry after
   * a backoff); otherwise the session has ended (410 carries its close code,
   * 404 means it is gone).
   */
  async refused(res) {
    const err = await readError(res);
    if (res.status === 503 && err.code === Code.ServerBusy) return true;
    if (res.status === 404) this.ended(ConnectionLost, "long-poll session not found");
    else this.ended(err.code, err.message);
    return false;
  }
  /**
   * backoff waits before a retry; false once nothing was heard for the
   * idle timeout, or once frames have waited that long for the server's
   * acknowledgement (sends stuck while receives still answer).
   */
  async backoff() {
    const now = Date.now();
    if (now - this.lastHeard > this.a.idle_timeout_ms) {
      this.ended(Timeout, "long-poll: no answer within the idle timeout");
      return false;
    }
    if (this.waitingSince > 0 && now - this.waitingSince > this.a.idle_timeout_ms) {
      this.ended(Timeout, "long-poll: sends unacknowledged for the idle timeout");
      return false;
    }
    this.failures++;
    await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** this.failures, 1e3)));
    return !this.in.isClosed;
  }
  /**
   * close ends the session with a close record after the frames still
   * unacknowledged (so a Close frame sent just before arrives first), once
   * the send in flight has answered: two sends at once could overlap. If
   * that send fails, DELETE carries the code instead.
   */
  close(code = 0, reason = "") {
    if (this.closing) return;
    this.closing = true;
    this.in.shut();
    const text = new TextEncoder().encode(truncateUTF8(reason, 123));
    const body = new Uint8Array(2 + text.length);
    new DataView(body.buffer).setUint16(0, Math.max(0, Math.min(code, 65535)));
    body.set(text, 2);
    this.unacked.push({ seq: this.nextSeq++, type: recClose, body });
    void (async () => {
      const settled = await Promise.race([
        (this.inflight ?? Promise.resolve()).then(
          () => true,
          () => true
        ),
        new Promise((r) => setTimeout(() => r(false), closeWaitMs))
      ]);
      const batch = this.batchOf();
      let sent = false;
      if (settled && batch[batch.length - 1]?.type === recClose) {
        try {
          const res = await this.postBatch(batch, true);
          await res.arrayBuffer();
          sent = res.ok;
        } catch {
        }
      }
      this.life.abort();
      if (sent) return;
      const u = this.url("");
      u.searchParams.set("code", String(Math.max(0, code)));
      u.searchParams.set("reason", truncateUTF8(reason, 123));
      await this.fetch(u, {
        method: "DELETE",
        headers: this.headers(),
        credentials: "omit",
        keepalive: true,
        signal: AbortSignal.timeout(closeWaitMs)
      }).then((res) => res.arrayBuffer()).catch(() => {
      });
    })();
  }
  /** fail reports a protocol error to the session and closes the server's side with its code. */
  fail(code, reason) {
    this.in.close(code, reason);
    this.close(code, reason);
  }
  ended(code, reason) {
    this.closing = true;
    this.in.close(code, reason);
    this.life.abort();
  }
};
async function openLongPoll(o) {
  const f = o.fetch ?? globalThis.fetch.bind(globalThis);
  const a = checkAnswer(await request(o.url, "POST", "v1/lp/open", { token: o.token, fetch: f, signal: o.signal }));
  return new LPConn(o.url, a, f);
}

// src/resume.ts
var ResendFrames = 256;
var AckEvery = 32;
var AckDelayMs = 200;
var DefaultResumeBackoffMs = 100;
var DefaultResumeMaxBackoffMs = 2e3;
function isNumbered(kind) {
  return kind === Kind.Error || kind === Kind.OK || kind >= 16;
}
function peekKind(b) {
  let i;
  const h = b[0];
  if (h === void 0) return -1;
  if (h >= 144 && h <= 159) i = 1;
  else if (h === 220) i = 3;
  else if (h === 221) i = 5;
  else return -1;
  const k = b[i];
  if (k === void 0) return -1;
  if (k <= 127) return k;
  const n = { 204: 1, 205: 2, 206: 4 }[k];
  if (n === void 0 || b.length < i + 1 + n) return -1;
  let v = 0;
  for (let j = 1; j <= n; j++) v = v * 256 + b[i + j];
  return v;
}
function resumeRefusal(code) {
  switch (code) {
    case Code.ResumeUnknown:
    case Code.ResumeBadSecret:
    case Code.ResumeOverflow:
    case Code.Unsupported:
    case Code.BadRequest:
      return true;
  }
  return false;
}
function resumeBackoffMs(attempt, baseMs, maxMs, random) {
  if (attempt <= 1) return 0;
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 2, 30));
  return Math.round(d * (1 + random / 2));
}
var Numbering = class {
  constructor() {
    /** numbered frames received and processed (what Ack and Resume carry) */
    __publicField(this, "received", 0);
    /** the value of the last Ack sent (or of the Resume: the server knows it) */
    __publicField(this, "acked", 0);
    /** numbered frames sent: the last one's number */
    __publicField(this, "sent", 0);
    /** when the first numbered frame the last Ack did not cover was counted (-1: none) */
    __publicField(this, "firstUnackedMs", -1);
    /** the latest numbered frames sent, by (number − 1) % ResendFrames */
    __publicField(this, "out", new Array(ResendFrames));
  }
  /** counted records one numbered frame processed at nowMs; true when an Ack is due at once. */
  counted(nowMs) {
    this.received++;
    if (this.firstUnackedMs < 0) this.firstUnackedMs = nowMs;
    return this.received - this.acked >= AckEvery;
  }
  /** ackDueMs is when an Ack falls due by time (undefined while everything is acknowledged). */
  get ackDueMs() {
    return this.received > this.acked && this.firstUnackedMs >= 0 ? this.firstUnackedMs + AckDelayMs : void 0;
  }
  /** takeAck returns the count for an Ack being sent, and marks it acknowledged. */
  takeAck() {
    this.acked = this.received;
    this.firstUnackedMs = -1;
    return this.received;
  }
  /** resumed notes that a Resume told the server the count (it needs no Ack for it). */
  resumed() {
    this.takeAck();
  }
  /** keep numbers a frame the client sends and keeps it for a resend. */
  keep(b) {
    this.sent++;
    this.out[(this.sent - 1) % ResendFrames] = b;
    return this.sent;
  }
  /**
   * toResend returns, in order, the frames after the server's count
   * (resumed Welcome's received), or undefined when one of them is no
   * longer kept (or the count is above what was sent): the session cannot
   * go on without a gap.
   */
  toResend(serverReceived) {
    if (serverReceived > this.sent || this.sent - serverReceived > ResendFrames) return void 0;
    const frames = [];
    for (let n = serverReceived + 1; n <= this.sent; n++) {
      const b = this.out[(n - 1) % ResendFrames];
      if (!b) return void 0;
      frames.push(b);
    }
    return frames;
  }
};

// src/webrtc.ts
var GatherMs = 40;
var RTCConn = class {
  constructor(pc, rel, unrel) {
    __publicField(this, "pc", pc);
    __publicField(this, "rel", rel);
    __publicField(this, "unrel", unrel);
    __publicField(this, "transport", "webrtc");
    __publicField(this, "lastHeard", Date.now());
    __publicField(this, "in", new Inbound());
    __publicField(this, "sendSeq", Math.random() * 4294967296 >>> 0);
    __publicField(this, "recvSeq");
    /** unreliable messages dropped as stale or too short */
    __publicField(this, "stale", 0);
    rel.onmessage = (ev) => {
      this.lastHeard = Date.now();
      if (typeof ev.data === "string") return this.control(ev.data);
      this.in.message(0, new Uint8Array(ev.data));
    };
    unrel.onmessage = (ev) => {
      this.lastHeard = Date.now();
      if (typeof ev.data === "string" || ev.data.byteLength < 4) {
        this.stale++;
        return;
      }
      const b = new Uint8Array(ev.data);
      const seq = new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
      if (this.recvSeq !== void 0 && (seq - this.recvSeq | 0) <= 0) {
        this.stale++;
        return;
      }
      this.recvSeq = seq;
      this.in.message(1, b.subarray(4));
    };
    rel.onclose = () => this.ended(ConnectionLost, "data channel closed");
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        this.ended(ConnectionLost, `peer connection ${pc.connectionState}`);
      }
    };
  }
  control(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.type !== "close") return;
    const { code, reason = "" } = m;
    if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || code > 65535) return;
    if (typeof reason !== "string" || new TextEncoder().encode(reason).length > 123) return;
    this.ended(code, reason);
  }
  start(h) {
    this.in.start(h);
  }
  send(ch, frame) {
    if (this.in.isClosed || this.rel.readyState !== "open") throw new TickwireError(ConnectionLost, "webrtc closed");
    if (ch === 0) {
      this.rel.send(frame);
      return;
    }
    if (this.unrel.readyState !== "open") return;
    const msg = new Uint8Array(4 + frame.length);
    new DataView(msg.buffer).setUint32(0, this.sendSeq);
    this.sendSeq = this.sendSeq + 1 >>> 0;
    msg.set(frame, 4);
    this.unrel.send(msg);
  }
  close(code = 0, reason = "") {
    if (this.in.isClosed) return;
    this.in.shut();
    try {
      if (this.rel.readyState === "open") this.rel.send(JSON.stringify({ type: "close", code, reason: truncateUTF8(reason, 123) }));
    } catch {
    }
    setTimeout(() => this.pc.close(), 50);
  }
  ended(code, reason) {
    if (this.in.isClosed) return;
    this.in.close(code, reason);
    this.pc.close();
  }
};
function gathered(pc, signal, gatherMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const timer = setTimeout(done, gatherMs);
    const off = onAbort(signal, () => {
      clearTimeout(timer);
      reject(new TickwireError(Timeout, "webrtc: ICE gathering did not finish"));
    });
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
  });
}
function opened(dc, signal) {
  if (dc.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const off = onAbort(signal, () => reject(new TickwireError(Timeout, "webrtc: data channel did not open")));
    dc.addEventListener("open", () => {
      off();
      resolve();
    });
    dc.addEventListener("close", () => {
      off();
      reject(new TickwireError(ConnectionLost, "webrtc: data channel closed before it opened"));
    });
  });
}
async function openWebRTC(o) {
  const PC = globalThis.RTCPeerConnection;
  if (!PC) throw new TickwireError(Code.Unsupported, "no RTCPeerConnection in this environment");
  const pc = new PC({ iceServers: [] });
  try {
    const rel = pc.createDataChannel("reliable", { negotiated: true, id: 0 });
    const unrel = pc.createDataChannel("unreliable", { negotiated: true, id: 1, ordered: false, maxRetransmits: 0 });
    rel.binaryType = "arraybuffer";
    unrel.binaryType = "arraybuffer";
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, o.signal, GatherMs);
    const res = await (o.fetch ?? fetch)(httpURL(o.url, "v1/rtc/offer"), {
      method: "POST",
      headers: { Authorization: `Bearer ${o.token}`, "Content-Type": "application/sdp" },
      body: pc.localDescription.sdp,
      signal: o.signal,
      cache: "no-store",
      credentials: "omit"
    });
    if (res.status !== 201) throw await readError(res);
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    await Promise.all([opened(rel, o.signal), opened(unrel, o.signal)]);
    return new RTCConn(pc, rel, unrel);
  } catch (err) {
    pc.close();
    if (err instanceof TickwireError) throw err;
    if (o.signal.aborted) throw new TickwireError(Timeout, "webrtc: no connection in time");
    throw new TickwireError(ConnectionLost, `webrtc: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

// src/ws.ts
var markHeartbeat = 2;
function closeCode(status) {
  if (status >= 4e3 && status <= 4999) return status - 4e3;
  switch (status) {
    case 1e3:
    case 1001:
    case 1005:
      return Code.OK;
    case 1009:
      return Code.FrameTooLarge;
    case 1002:
    case 1003:
    case 1007:
      return Code.BadFrame;
    case 1008:
      return Code.Forbidden;
    case 1012:
      return Code.ServerShutdown;
    case 1013:
      return Code.ServerBusy;
    case 1006:
      return ConnectionLost;
  }
  return Code.Internal;
}
function wsURL(base) {
  const u = httpURL(base, "v1/ws");
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}
var WSConn = class {
  constructor(sock) {
    __publicField(this, "sock", sock);
    __publicField(this, "transport", "websocket");
    __publicField(this, "lastHeard", Date.now());
    __publicField(this, "in", new Inbound());
    __publicField(this, "timer");
    __publicField(this, "lastSent", Date.now());
    sock.onmessage = (ev) => {
      this.lastHeard = Date.now();
      if (!(ev.data instanceof ArrayBuffer)) return this.fail(Code.BadFrame, "text message");
      const b = new Uint8Array(ev.data);
      if (b.length === 0) return this.fail(Code.BadFrame, "empty message");
      if (b.length > 1 + MaxMessage) return this.fail(Code.FrameTooLarge, `message of ${b.length} bytes`);
      const mark = b[0];
      if (mark === markHeartbeat) {
        if (b.length !== 1) this.fail(Code.BadFrame, "heartbeat with a body");
        return;
      }
      if (mark !== 0 && mark !== 1) return this.fail(Code.BadFrame, `unknown mark ${mark}`);
      this.in.message(mark, b.subarray(1));
    };
    sock.onclose = (ev) => this.ended(closeCode(ev.code), ev.reason);
    sock.onerror = () => {
    };
    this.timer = setInterval(() => {
      if (Date.now() - this.lastSent >= 1e3) this.write(new Uint8Array([markHeartbeat]));
    }, 1e3);
  }
  start(h) {
    this.in.start(h);
  }
  send(ch, frame) {
    if (this.in.isClosed || this.sock.readyState !== 1) throw new TickwireError(ConnectionLost, "websocket closed");
    const msg = new Uint8Array(frame.length + 1);
    msg[0] = ch;
    msg.set(frame, 1);
    this.write(msg);
  }
  write(b) {
    if (this.sock.readyState !== 1) return;
    this.sock.send(b);
    this.lastSent = Date.now();
  }
  close(code = 0, reason = "") {
    this.stop();
    this.in.shut();
    try {
      this.sock.close(code === 0 ? 1e3 : 4e3 + code, truncateUTF8(reason, 123));
    } catch {
      this.sock.close();
    }
  }
  /** fail reports a protocol error to the session and closes with its code. */
  fail(code, reason) {
    this.in.close(code, reason);
    this.close(code, reason);
  }
  ended(code, reason) {
    this.stop();
    this.in.close(code, reason);
  }
  stop() {
    clearInterval(this.timer);
    this.sock.onmessage = null;
    this.sock.onclose = null;
  }
};
function openWebSocket(o) {
  const WS = o.webSocket ?? globalThis.WebSocket;
  if (!WS) return Promise.reject(new TickwireError(Code.Unsupported, "no WebSocket in this environment"));
  return new Promise((resolve, reject) => {
    let sock;
    try {
      sock = new WS(wsURL(o.url), ["tickwire.v1", `tickwire.bearer.${o.token}`]);
    } catch (err) {
      reject(new TickwireError(Code.BadRequest, `websocket: ${String(err)}`));
      return;
    }
    sock.binaryType = "arraybuffer";
    const off = onAbort(o.signal, () => {
      sock.close();
      reject(new TickwireError(Timeout, "websocket: no connection in time"));
    });
    sock.onopen = () => {
      off();
      resolve(new WSConn(sock));
    };
    sock.onclose = (ev) => {
      off();
      reject(new TickwireError(ev.code === 1006 ? ConnectionLost : closeCode(ev.code), `websocket refused or closed (${ev.code})`));
    };
  });
}

// src/dial.ts
var Openers = {
  webrtc: openWebRTC,
  websocket: openWebSocket,
  longpoll: openLongPoll
};
var ProtocolVersion = 1;
var SDKVersion = "0.1.0";
var Router = class {
  constructor(target) {
    __publicField(this, "target", target);
    __publicField(this, "held");
  }
  /** hold keeps what arrives until release. */
  hold() {
    this.held = [];
  }
  /** release hands what was held, then everything after, to target. */
  release(target) {
    const held = this.held ?? [];
    this.held = void 0;
    this.target = target;
    for (const h of held) {
      if (h[0] === "m") target.message(h[1], h[2]);
      else target.close(h[1], h[2]);
    }
  }
  message(ch, b) {
    if (this.held) this.held.push(["m", ch, b]);
    else this.target.message(ch, b);
  }
  close(code, reason) {
    if (this.held) this.held.push(["c", code, reason]);
    else this.target.close(code, reason);
  }
};
function fatal(code) {
  switch (code) {
    case Code.BadToken:
    case Code.TokenExpired:
    case Code.TokenRevoked:
    case Code.ProtocolVersion:
    case Code.NotAuthenticated:
    case Code.Forbidden:
      return true;
  }
  return false;
}
function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1e3);
}
function hello(conn, o, signal) {
  return new Promise((resolve, reject) => {
    let refused;
    const helloSentUs = nowUs();
    const off = onAbort(signal, () => reject(new TickwireError(Timeout, "no Welcome in time")));
    const router = new Router({
      message(_ch, b) {
        let f;
        try {
          f = decode(b);
        } catch {
          return;
        }
        if (f.kind === Kind.Welcome) {
          off();
          router.hold();
          resolve({ conn, router, welcome: f, helloSentUs, welcomeAtUs: nowUs(), attempts: [] });
        } else if (f.kind === Kind.Error) {
          refused = new TickwireError(f.code, f.message);
        } else if (f.kind === Kind.Close) {
          off();
          reject(refused ?? new TickwireError(f.code, f.reason));
        }
      },
      close(code, reason) {
        off();
        reject(refused ?? new TickwireError(code, reason || `closed before Welcome (${describeCode(code)})`));
      }
    });
    conn.start(router);
    const clientName = o.clientName ?? "tickwire-js";
    const clientVersion = o.clientVersion ?? SDKVersion;
    try {
      conn.send(
        0,
        encode(
          o.resume ? { kind: Kind.Resume, version: ProtocolVersion, ...o.resume, clientName, clientVersion } : { kind: Kind.Hello, version: ProtocolVersion, token: o.token, clientName, clientVersion, resumeId: "", resume: o.askResume ?? false }
        )
      );
    } catch (err) {
      off();
      reject(asTickwireError(err, ConnectionLost));
    }
  });
}
function bounded(p, signal, name) {
  return new Promise((resolve, reject) => {
    const off = onAbort(signal, () => {
      reject(new TickwireError(Timeout, `${name}: no connection in time`));
      void p.then((late) => late.close(Code.OK, "too late"), () => {
      });
    });
    p.then(
      (c) => {
        off();
        if (signal.aborted) c.close(Code.OK, "too late");
        else resolve(c);
      },
      (err) => {
        off();
        reject(err);
      }
    );
  });
}
async function dialOne(name, o) {
  const open = o.openers?.[name] ?? Openers[name];
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, o.timeoutMs);
  const offOuter = o.signal ? onAbort(o.signal, () => ctl.abort()) : () => {
  };
  let conn;
  try {
    const oo = { url: o.url, token: o.token, signal: ctl.signal, webSocket: o.webSocket, fetch: o.fetch };
    conn = await bounded(Promise.resolve().then(() => open(oo)), ctl.signal, name);
    return await hello(conn, o, ctl.signal);
  } catch (err) {
    conn?.close(o.resume ? Code.ConnectionLost : Code.OK, "giving up this transport");
    const e = asTickwireError(err, ConnectionLost);
    if (timedOut && (e.code < 0 || !(err instanceof TickwireError))) {
      throw new TickwireError(Timeout, `${name}: no session within ${o.timeoutMs} ms`, { cause: err });
    }
    throw e;
  } finally {
    clearTimeout(timer);
    offOuter();
  }
}
async function dial(o) {
  if (o.order.length === 0) throw new TickwireError(Code.BadRequest, "no transports to try");
  const attempts = [];
  let last;
  for (const name of o.order) {
    if (o.signal?.aborted) break;
    const t0 = performance.now();
    try {
      const d = await dialOne(name, o);
      attempts.push({ transport: name, ms: performance.now() - t0 });
      d.attempts = attempts;
      return d;
    } catch (err2) {
      last = asTickwireError(err2);
      attempts.push({ transport: name, ms: performance.now() - t0, code: last.code, error: last.message });
      if (fatal(last.code) || o.resume && resumeRefusal(last.code)) break;
    }
  }
  const summary = attempts.map((a) => `${a.transport}: ${a.error ?? codeName(a.code ?? 0)}`).join("; ");
  const err = new TickwireError(last?.code ?? ConnectionLost, `no transport connected (${summary})`, { cause: last });
  err.attempts = attempts;
  throw err;
}

// src/events.ts
var DefaultQueue = 1024;
var Emitter = class {
  constructor() {
    __publicField(this, "handlers", /* @__PURE__ */ new Map());
    /** events dropped from full iterator queues, by event name */
    __publicField(this, "dropped", /* @__PURE__ */ new Map());
    __publicField(this, "enders", /* @__PURE__ */ new Set());
  }
  /** on calls fn for every event named name until the returned function is called. */
  on(name, fn) {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, set = /* @__PURE__ */ new Set());
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }
  /** once resolves with the next event named name. */
  once(name) {
    return new Promise((resolve) => {
      const off = this.on(name, (ev) => {
        off();
        resolve(ev);
      });
    });
  }
  /** emit calls every handler of name; a handler that throws does not stop the others. */
  emit(name, ev) {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(ev);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
  /**
   * events returns an async iterator over the events named name from now
   * on. Its queue holds at most max events; when full the oldest is
   * dropped and counted in dropped. It ends when signal aborts or its
   * return() is called (a for-await loop's break).
   */
  events(name, opts = {}) {
    const max = opts.max ?? DefaultQueue;
    const queue = [];
    const waiters = [];
    let done = false;
    const stop = (drain) => {
      done = true;
      off();
      opts.signal?.removeEventListener("abort", abort);
      this.enders.delete(end);
      if (!drain) queue.length = 0;
      for (const w of waiters.splice(0)) w({ value: void 0, done: true });
      return { value: void 0, done: true };
    };
    const abort = () => stop(false);
    const end = () => stop(true);
    const off = this.on(name, (ev) => {
      const w = waiters.shift();
      if (w) {
        w({ value: ev, done: false });
        return;
      }
      if (queue.length >= max) {
        queue.shift();
        this.dropped.set(name, (this.dropped.get(name) ?? 0) + 1);
      }
      queue.push(ev);
    });
    this.enders.add(end);
    if (opts.signal?.aborted) abort();
    else opts.signal?.addEventListener("abort", abort, { once: true });
    const it = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift(), done: false });
        if (done) return Promise.resolve({ value: void 0, done: true });
        return new Promise((resolve) => waiters.push(resolve));
      },
      return: () => Promise.resolve(abort()),
      [Symbol.asyncIterator]: () => it
    };
    return it;
  }
  /**
   * end finishes every open iterator (the source is gone: a room left or
   * closed, a client closed): each hands out what it had queued, then ends.
   */
  end() {
    for (const e of [...this.enders]) e();
  }
};

// src/voicestate.ts
var VoiceState = class {
  constructor() {
    __publicField(this, "speaking", /* @__PURE__ */ new Set());
    __publicField(this, "muted", /* @__PURE__ */ new Set());
    __publicField(this, "deafened", /* @__PURE__ */ new Set());
  }
  /** apply takes one event; it returns whether the member's speaking changed. */
  apply(ev) {
    const was = this.speaking.has(ev.member);
    switch (ev.event) {
      case "speaking":
        this.speaking.add(ev.member);
        break;
      case "silent":
        this.speaking.delete(ev.member);
        break;
      case "muted":
        this.muted.add(ev.member);
        break;
      case "unmuted":
        this.muted.delete(ev.member);
        break;
      case "deafened":
        this.deafened.add(ev.member);
        break;
      case "undeafened":
        this.deafened.delete(ev.member);
        break;
    }
    return was !== this.speaking.has(ev.member);
  }
  /** forget drops a member that left. */
  forget(member2) {
    this.speaking.delete(member2);
    this.muted.delete(member2);
    this.deafened.delete(member2);
  }
  /** copyFrom replaces this state with o's. */
  copyFrom(o) {
    for (const [mine, theirs] of [
      [this.speaking, o.speaking],
      [this.muted, o.muted],
      [this.deafened, o.deafened]
    ]) {
      mine.clear();
      for (const m of theirs) mine.add(m);
    }
  }
};

// src/room.ts
var Room = class extends Emitter {
  constructor(host, j) {
    super();
    __publicField(this, "host", host);
    __publicField(this, "id");
    __publicField(this, "type");
    __publicField(this, "label");
    __publicField(this, "tickRate");
    __publicField(this, "capacity");
    /** my member number (it changes when a fresh reconnect rejoins; a resume keeps it) */
    __publicField(this, "me");
    /** members by member number, me included */
    __publicField(this, "members", /* @__PURE__ */ new Map());
    /** member numbers of members whose connection was lost: their seat is kept while their session waits for a resume */
    __publicField(this, "away", /* @__PURE__ */ new Set());
    /** what the voice room's events said so far (speaking, muted, deafened), from the join on */
    __publicField(this, "voiceState", new VoiceState());
    /** the newest tick seen, on either channel */
    __publicField(this, "lastTick", -1);
    /** the newest tick seen on the unreliable channel (newest wins there) */
    __publicField(this, "lastUnreliableTick", -1);
    /** unreliable ticks dropped because a newer one had arrived */
    __publicField(this, "staleTicks", 0);
    __publicField(this, "seq", 0);
    __publicField(this, "left", false);
    this.id = j.roomId;
    this.type = j.type;
    this.label = j.label;
    this.tickRate = j.tickRate;
    this.capacity = j.capacity;
    this.me = j.you;
    this.reset(j);
  }
  /** reset takes the room's state from a (re)join. */
  reset(j) {
    this.me = j.you;
    this.members.clear();
    this.away.clear();
    this.voiceState.copyFrom(new VoiceState());
    for (const m of j.members) this.members.set(m.member, m);
    this.lastTick = Math.max(this.lastTick, j.tick);
  }
  /**
   * send sends one input: on the unreliable channel by default (newest
   * wins, may be lost), on the reliable one with { reliable: true }. It
   * returns the input's sequence number, which comes back in RoomTick.
   */
  send(data, opts = {}) {
    this.seq = this.seq + 1 >>> 0;
    this.host.sendInput(this, this.seq, data, opts.reliable === true);
    return this.seq;
  }
  /** leave leaves the room; its events stop. */
  async leave() {
    if (this.left) return;
    await this.host.leaveRoom(this);
    this.left = true;
    this.end();
  }
  get isOpen() {
    return !this.left;
  }
  /**
   * onTick applies newest-wins to unreliable ticks and emits. The relay
   * sends a tick's reliable inputs and its unreliable ones as two RoomTicks
   * with the same number, one per channel, so each channel keeps its own
   * newest.
   */
  onTick(t) {
    if (t.unreliable) {
      if (t.tick <= this.lastUnreliableTick) {
        this.staleTicks++;
        return;
      }
      this.lastUnreliableTick = t.tick;
    }
    this.lastTick = Math.max(this.lastTick, t.tick);
    this.emit("tick", t);
  }
  /** onEvent keeps members up to date: away and back keep the seat (a session resuming), left frees it. */
  onEvent(e) {
    switch (e.event) {
      case "joined":
        this.members.set(e.member, { member: e.member, userId: e.userId, displayName: e.displayName });
        this.away.delete(e.member);
        break;
      case "left":
        this.members.delete(e.member);
        this.away.delete(e.member);
        this.voiceState.forget(e.member);
        break;
      case "away":
        this.away.add(e.member);
        break;
      case "back":
        this.away.delete(e.member);
        break;
    }
    this.emit("member", e);
  }
  /** onVoice records a voice room's event, then hands it on. */
  onVoice(ev) {
    this.voiceState.apply(ev);
    this.emit("voice", ev);
  }
  onClosed(c) {
    this.left = true;
    this.emit("closed", c);
    this.end();
  }
};

// src/calls.ts
function signalFrame(to, payload) {
  return {
    kind: Kind.Signal,
    ref: 0,
    toUserId: to.userId ?? "",
    toSession: to.session ?? 0,
    roomId: to.roomId ?? 0n,
    callId: to.callId ?? 0,
    payload
  };
}
var Call = class extends Emitter {
  constructor(host, u) {
    super();
    __publicField(this, "host", host);
    __publicField(this, "id");
    __publicField(this, "callerId");
    __publicField(this, "callerName");
    __publicField(this, "calleeId");
    __publicField(this, "callerSession");
    __publicField(this, "state", "ringing");
    __publicField(this, "reason", "none");
    /** the callee session that accepted (0 while ringing) */
    __publicField(this, "calleeSession", 0);
    /** who declined, cancelled or hung up ("" otherwise) */
    __publicField(this, "byUserId", "");
    this.id = u.callId;
    this.callerId = u.callerId;
    this.callerName = u.callerName;
    this.calleeId = u.calleeId;
    this.callerSession = u.callerSession;
    this.apply(u);
  }
  /** incoming: this user is the callee. */
  get incoming() {
    return this.calleeId === this.host.userId;
  }
  /** answeredElsewhere: another session of this (callee) user accepted; stop ringing. */
  get answeredElsewhere() {
    return this.state === "active" && this.incoming && this.calleeSession !== this.host.sessionId;
  }
  /** mine: this session is one of the call's two sessions (signals go between them). */
  get mine() {
    const s = this.host.sessionId;
    return s === this.callerSession || this.state !== "ringing" && s === this.calleeSession;
  }
  /** accept answers a ringing call on this session (call_answered if another was first). */
  accept() {
    return this.host.callOK({ kind: Kind.CallAccept, callId: this.id });
  }
  /**
   * hangUp ends the call: it declines a ringing incoming call, cancels a
   * ringing outgoing one, hangs up an active one. A call that already
   * ended (the other side hung up at the same moment) is not an error.
   */
  async hangUp() {
    try {
      await this.host.callOK({ kind: Kind.CallEnd, callId: this.id });
    } catch (err) {
      if (!isCode(err, Code.CallNotFound)) throw err;
    }
  }
  /** decline is hangUp, named for a ringing incoming call. */
  decline() {
    return this.hangUp();
  }
  /** signal sends payload to the other session of the active call. */
  signal(payload) {
    return this.host.callOK(signalFrame({ callId: this.id }, payload));
  }
  /** apply takes a new state (CallBook calls it). */
  apply(u) {
    this.state = u.state;
    this.reason = u.reason;
    this.calleeSession = u.calleeSession;
    this.byUserId = u.byUserId;
    this.emit("state", this);
  }
};
var CallBook = class {
  constructor(host, onNew, onSignal) {
    __publicField(this, "host", host);
    __publicField(this, "onNew", onNew);
    __publicField(this, "onSignal", onSignal);
    __publicField(this, "calls", /* @__PURE__ */ new Map());
  }
  get all() {
    return [...this.calls.values()];
  }
  get(id) {
    return this.calls.get(id);
  }
  /**
   * update applies a CallUpdate: a new call is created (and, unless
   * announce is false, announced) — an ended one is forgotten.
   */
  update(f, announce = true) {
    const u = f;
    let c = this.calls.get(u.callId);
    if (!c) {
      c = new Call(this.host, u);
      if (u.state !== "ended") this.calls.set(c.id, c);
      if (announce) this.onNew(c);
      return c;
    }
    if (u.state === "ended") this.calls.delete(c.id);
    c.apply(u);
    return c;
  }
  /** signal hands a SignalRecv to the client's listeners and to its call. */
  signal(f) {
    const s = f;
    this.onSignal(s);
    if (s.callId) this.calls.get(s.callId)?.emit("signal", s);
  }
  /** lost ends every call: the session that held them is gone. */
  lost() {
    const calls = this.all;
    this.calls.clear();
    for (const c of calls) {
      c.state = "ended";
      c.reason = "disconnected";
      c.emit("state", c);
    }
  }
};

// src/client.ts
var samplesKept = 8;
var DefaultMaxRedirects = 2;
var NodeReconnectAttempts = 3;
var MaxListEntries = 1e5;
function defaultOrigin() {
  const loc = globalThis.location;
  if (loc?.origin && loc.origin !== "null") return loc.origin;
  throw new TickwireError(Code.BadRequest, "no url given and no page origin to default to");
}
function roomKey(id) {
  return id.toString();
}
var Client = class _Client extends Emitter {
  constructor(o) {
    super();
    __publicField(this, "url");
    __publicField(this, "stats", {
      framesIn: 0,
      framesOut: 0,
      badFrames: 0,
      duplicateMessages: 0,
      reconnects: 0,
      resumes: 0,
      resumeFailures: 0,
      replayed: 0,
      resent: 0,
      acks: 0
    });
    __publicField(this, "welcome");
    __publicField(this, "transport");
    /** the transports tried by the last (re)connect */
    __publicField(this, "attempts", []);
    /** smoothed RTT in ms (0 before the first sample) */
    __publicField(this, "rtt", 0);
    /** server clock minus client clock, ms, from the fastest recent ping */
    __publicField(this, "clockOffsetMs", 0);
    __publicField(this, "o");
    __publicField(this, "token");
    __publicField(this, "conn");
    __publicField(this, "router");
    __publicField(this, "state", "connecting");
    __publicField(this, "nextRef", 0);
    __publicField(this, "pending", /* @__PURE__ */ new Map());
    __publicField(this, "pings", /* @__PURE__ */ new Map());
    __publicField(this, "lastPingUs", 0);
    __publicField(this, "samples", []);
    __publicField(this, "pingTimer");
    __publicField(this, "rooms", /* @__PURE__ */ new Map());
    /** sessions opened on other nodes to follow redirects, by HTTP origin */
    __publicField(this, "nodes", /* @__PURE__ */ new Map());
    __publicField(this, "callBook", new CallBook(
      this,
      (c) => this.emit("call", c),
      (sg) => this.emit("signal", sg)
    ));
    __publicField(this, "lastMessageId", 0);
    __publicField(this, "ackTimer");
    __publicField(this, "ackedUpTo", 0);
    /** the session's numbered frames, both ways (resume on) */
    __publicField(this, "numbering", new Numbering());
    /** the server offers resume for this session and the client uses it */
    __publicField(this, "resumable", false);
    __publicField(this, "resumeAckTimer");
    __publicField(this, "closeCtl", new AbortController());
    /** the code the session ended with, once closed */
    __publicField(this, "endCode", ConnectionLost);
    this.o = o;
    this.url = o.url ?? defaultOrigin();
    checkBase(this.url);
    this.token = o.token;
  }
  // ---- HTTP token endpoints (static) ----
  static guest(base, name) {
    return guest(base, name);
  }
  static register(base, username, password, displayName) {
    return register(base, username, password, displayName);
  }
  static login(base, username, password) {
    return login(base, username, password);
  }
  static refresh(base, token) {
    return refresh(base, token);
  }
  static logout(base, token) {
    return logout(base, token);
  }
  /** connect opens a session, trying the transports in order, and resolves once Welcome arrived. */
  static async connect(o) {
    const c = new _Client(o);
    await c.establish();
    return c;
  }
  /** is reads the state afresh (after calls that may change it, where TypeScript's narrowing would not). */
  is(st) {
    return this.state === st;
  }
  get userId() {
    return this.welcome.userId;
  }
  /** sessionId is the session's id (Welcome's; a resume keeps it, a fresh reconnect changes it). */
  get sessionId() {
    return this.welcome.sessionId;
  }
  /** resuming reports whether the connection was lost and the session is being resumed. */
  get resuming() {
    return this.state === "resuming";
  }
  /** connected reports whether a session is open right now (false while reconnecting). */
  get connected() {
    return this.state === "open";
  }
  /** serverNowMs estimates the server's clock (ms since the Unix epoch). */
  serverNowMs() {
    return Date.now() + this.clockOffsetMs;
  }
  order() {
    if (this.o.transport) return [this.o.transport];
    return this.o.transports ?? DefaultTransports;
  }
  /** dial runs the transport choice with the session's options (first connect and every reconnect). */
  dial(resume) {
    return dial({
      url: this.url,
      token: this.token,
      order: this.order(),
      timeoutMs: this.o.connectTimeoutMs ?? 3e3,
      clientName: this.o.clientName,
      clientVersion: this.o.clientVersion,
      resume,
      askResume: this.o.resume?.off !== true && this.o.reconnect !== false,
      openers: this.o.openers,
      webSocket: this.o.webSocket,
      fetch: this.o.fetch,
      signal: this.closeCtl.signal
    });
  }
  async establish() {
    const d = await this.dial();
    if (this.state === "closed") {
      d.conn.close(Code.OK, "client closed");
      throw new TickwireError(Code.OK, "client closed");
    }
    this.adopt(d);
    if (this.is("closed")) throw new TickwireError(this.endCode, "the session ended right after Welcome");
  }
  /**
   * adopt makes a dialed connection the session's. before runs right
   * before the frames held since Welcome are handed on (a resume resends
   * its frames there, ahead of the replay's consequences).
   */
  adopt(d, before) {
    const conn = d.conn;
    this.conn = conn;
    this.router = d.router;
    this.welcome = d.welcome;
    this.transport = conn.transport;
    this.attempts = d.attempts;
    this.state = "open";
    const rttMs = (d.welcomeAtUs - d.helloSentUs) / 1e3;
    this.sample(rttMs, d.welcome.serverTimeUs / 1e3 - (d.helloSentUs / 1e3 + rttMs / 2));
    this.startPings();
    this.ackedUpTo = 0;
    if (!d.welcome.resumed) {
      this.numbering = new Numbering();
      this.resumable = this.o.resume?.off !== true && this.o.reconnect !== false && d.welcome.resumeWindowMs > 0 && d.welcome.resumeId !== "";
    }
    this.emit("transport", { transport: this.transport, attempts: this.attempts });
    before?.();
    d.router.release({
      message: (ch, b) => {
        if (this.conn === conn) this.onMessage(ch, b);
      },
      close: (code, reason) => {
        if (this.conn === conn) this.lost(code, reason);
      }
    });
  }
  // ---- sending and requests ----
  /**
   * send writes one frame. With resume on, a numbered frame is numbered
   * and kept for a resend first; while the session is resuming it is only
   * kept (resent on resume), unreliable frames are dropped (as a lossy link
   * would) and session frames (Ping) are refused. A numbered frame whose
   * write fails is not an error: the resume resends it.
   */
  send(ch, f) {
    const resuming = this.is("resuming");
    if (!resuming && (!this.conn || this.state !== "open")) throw new TickwireError(ConnectionLost, "not connected");
    const numbered = this.resumable && ch === Reliable && isNumbered(f.kind);
    if (resuming && !numbered) {
      if (ch === Unreliable) return;
      throw new TickwireError(ConnectionLost, "not connected (resuming the session)");
    }
    const b = encode(f);
    if (b.length > (this.welcome.maxFrame || 16384)) {
      throw new TickwireError(Code.FrameTooLarge, `${b.length} bytes, the server takes ${this.welcome.maxFrame}`);
    }
    if (numbered) this.numbering.keep(b);
    if (resuming || !this.conn) return;
    try {
      this.conn.send(ch, b);
    } catch (err) {
      if (!numbered) throw err;
      return;
    }
    this.stats.framesOut++;
  }
  /**
   * call sends a request and resolves with its reply (OK or a result
   * frame). onReply runs synchronously when the reply arrives, so that
   * state it sets up (a room) is there for the frames right behind it.
   */
  call(f, onReply) {
    this.nextRef = this.nextRef >= 4294967295 ? 1 : this.nextRef + 1;
    const ref = this.nextRef;
    f.ref = ref;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new TickwireError(Timeout, `no answer to ${f.kind} within ${this.o.requestTimeoutMs ?? 1e4} ms`));
      }, this.o.requestTimeoutMs ?? 1e4);
      this.pending.set(ref, { resolve, reject, timer, onReply });
      try {
        this.send(Reliable, f);
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(ref);
        reject(asTickwireError(err));
      }
    });
  }
  /** callOK performs a request answered with OK (CallHost). */
  async callOK(f) {
    await this.call(f);
  }
  // ---- receiving ----
  onMessage(ch, b) {
    if (this.resumable && ch === Reliable && isNumbered(peekKind(b))) {
      this.countNumbered();
    }
    let f;
    try {
      f = decode(b);
    } catch {
      this.stats.badFrames++;
      return;
    }
    this.stats.framesIn++;
    switch (f.kind) {
      case Kind.Pong:
        return this.onPong(f.clientTimeUs, f.serverTimeUs);
      case Kind.Close: {
        const conn = this.conn;
        this.lost(f.code, f.reason, true);
        conn?.close(Code.OK, "closed by the server");
        return;
      }
      case Kind.Notice:
        this.emit("notice", { code: f.code, codeName: describeCode(f.code), text: f.text });
        return;
      case Kind.Error: {
        const err = new TickwireError(f.code, f.message);
        const p2 = f.ref ? this.pending.get(f.ref) : void 0;
        if (p2) {
          this.settle(f.ref);
          p2.reject(err);
        } else {
          this.emit("error", err);
        }
        return;
      }
      case Kind.RoomTick:
        return this.rooms.get(roomKey(f.roomId))?.onTick({ ...f, unreliable: ch === Unreliable });
      case Kind.RoomData:
        this.rooms.get(roomKey(f.roomId))?.emit("data", { ...f, unreliable: ch === Unreliable });
        return;
      case Kind.RoomEvent:
        return this.rooms.get(roomKey(f.roomId))?.onEvent(f);
      case Kind.VoiceEvent:
        this.rooms.get(roomKey(f.roomId))?.onVoice(f);
        return;
      case Kind.RoomClosed: {
        const key = roomKey(f.roomId);
        const r = this.rooms.get(key);
        this.rooms.delete(key);
        return r?.onClosed(f);
      }
      case Kind.FriendUpdate:
        return this.emit("friend", f);
      case Kind.PresenceUpdate:
        return this.emit("presence", f);
      case Kind.GroupUpdate:
        return this.emit("group", f);
      case Kind.Message:
        return this.onChat(f);
      case Kind.SignalRecv:
        return this.callBook.signal(f);
      case Kind.CallUpdate:
        if (!f.ref) return void this.callBook.update(f);
        break;
    }
    const ref = typeof f.ref === "number" ? f.ref : 0;
    const p = ref ? this.pending.get(ref) : void 0;
    if (p) {
      this.settle(ref);
      try {
        p.onReply?.(f);
      } catch (err) {
        p.reject(asTickwireError(err, Code.BadFrame));
        return;
      }
      p.resolve(f);
    }
  }
  settle(ref) {
    const p = this.pending.get(ref);
    if (p) clearTimeout(p.timer);
    this.pending.delete(ref);
  }
  /** onChat delivers each message once, in id order, and acknowledges it (docs/PROTOCOL.md §5). */
  onChat(m) {
    if (m.id <= this.lastMessageId) {
      this.stats.duplicateMessages++;
      if (this.o.autoAck !== false) this.scheduleAck();
      return;
    }
    this.lastMessageId = m.id;
    this.emit("message", m);
    if (this.o.autoAck !== false) this.scheduleAck();
  }
  // ---- numbered frames and Ack (resume on) ----
  /** countNumbered counts one numbered frame and sends Ack by the protocol's rule (AckEvery frames, or AckDelayMs after the first uncovered one). */
  countNumbered() {
    const now = Date.now();
    if (this.numbering.counted(now)) {
      this.sendAck();
      return;
    }
    const due = this.numbering.ackDueMs;
    if (this.resumeAckTimer === void 0 && due !== void 0) {
      this.resumeAckTimer = setTimeout(() => {
        this.resumeAckTimer = void 0;
        if (this.numbering.received > this.numbering.acked) this.sendAck();
      }, Math.max(0, due - now));
    }
  }
  /** sendAck acknowledges every numbered frame processed (not while resuming: the Resume carries the count). */
  sendAck() {
    clearTimeout(this.resumeAckTimer);
    this.resumeAckTimer = void 0;
    if (!this.conn || !this.is("open")) return;
    try {
      this.conn.send(Reliable, encode({ kind: Kind.Ack, received: this.numbering.received }));
    } catch {
      return;
    }
    this.numbering.takeAck();
    this.stats.acks++;
    this.stats.framesOut++;
  }
  scheduleAck() {
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = void 0;
      if (this.lastMessageId > 0 && this.lastMessageId >= this.ackedUpTo && this.state === "open") {
        try {
          this.ackMessages(this.lastMessageId);
        } catch {
        }
      }
    }, 20);
  }
  // ---- pings, RTT and clock ----
  /**
   * ping measures one round trip in ms. On WebRTC, { unreliable: true }
   * measures the unreliable channel (what game inputs take).
   */
  ping(opts = {}) {
    let t = nowUs();
    if (t <= this.lastPingUs) t = this.lastPingUs + 1;
    this.lastPingUs = t;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(t);
        reject(new TickwireError(Timeout, "no Pong in time"));
      }, this.o.requestTimeoutMs ?? 1e4);
      this.pings.set(t, { sentUs: t, resolve, reject, timer });
      try {
        this.send(opts.unreliable ? Unreliable : Reliable, { kind: Kind.Ping, clientTimeUs: t });
      } catch (err) {
        clearTimeout(timer);
        this.pings.delete(t);
        reject(asTickwireError(err));
      }
    });
  }
  onPong(clientUs, serverUs) {
    const w = this.pings.get(clientUs);
    if (!w) return;
    this.pings.delete(clientUs);
    clearTimeout(w.timer);
    const rttMs = (nowUs() - clientUs) / 1e3;
    this.sample(rttMs, (serverUs - (clientUs + rttMs * 1e3 / 2)) / 1e3);
    w.resolve(rttMs);
    this.emit("rtt", { rttMs, offsetMs: this.clockOffsetMs });
  }
  sample(rttMs, offsetMs) {
    this.rtt = this.rtt === 0 ? rttMs : this.rtt + (rttMs - this.rtt) / 8;
    this.samples.push({ rttMs, offsetMs });
    if (this.samples.length > samplesKept) this.samples.shift();
    let best = this.samples[0];
    for (const s of this.samples) if (s.rttMs < best.rttMs) best = s;
    this.clockOffsetMs = best.offsetMs;
  }
  /** startPings pings every heartbeat interval (liveness and live RTT) and watches the idle timeout. */
  startPings() {
    clearInterval(this.pingTimer);
    const idle = Math.max(this.welcome.idleTimeoutMs || 1e4, 1e3);
    const every = Math.min(Math.max(this.welcome.heartbeatMs || 1e3, 100), idle / 2);
    this.pingTimer = setInterval(() => {
      const conn = this.conn;
      if (!conn || this.state !== "open") return;
      if (Date.now() - conn.lastHeard > idle) {
        conn.close(Code.IdleTimeout, "nothing heard from the server");
        this.lost(Code.IdleTimeout, "nothing heard from the server");
        return;
      }
      this.ping({ unreliable: this.transport === "webrtc" }).catch(() => {
      });
    }, every);
  }
  // ---- losing and regaining the connection ----
  /**
   * failPending ends what belonged to the session that is gone (it is not
   * called while a resume may keep the session): pending requests, pings,
   * and calls (they were bound to the session's id).
   */
  failPending(err) {
    this.callBook.lost();
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(ref);
      p.reject(err);
    }
    for (const [t, w] of this.pings) {
      clearTimeout(w.timer);
      this.pings.delete(t);
      w.reject(err);
    }
  }
  failPings(err) {
    for (const [t, w] of this.pings) {
      clearTimeout(w.timer);
      this.pings.delete(t);
      w.reject(err);
    }
  }
  /**
   * lost handles the end of the session's connection. A session the
   * server keeps (resume on, and no Close frame from the server: that one
   * ended the session) is resumed: rooms stay, requests keep waiting, and
   * only the pings in flight fail. Otherwise pending requests fail and a
   * fresh session follows (or the client ends, for a code that must not
   * reconnect).
   */
  lost(code, reason, serverClosed = false) {
    if (this.state !== "open") return;
    this.conn = void 0;
    clearInterval(this.pingTimer);
    clearTimeout(this.resumeAckTimer);
    this.resumeAckTimer = void 0;
    const err = new TickwireError(code === Code.OK ? ConnectionLost : code, reason || "connection lost");
    const again = this.o.reconnect !== false && mayReconnect(code) && !(code === Code.TokenExpired && !this.o.getToken);
    const resuming = again && this.resumable && !serverClosed;
    if (resuming) this.failPings(err);
    else this.failPending(err);
    this.state = !again ? "closing" : resuming ? "resuming" : "reconnecting";
    this.emit("disconnected", { code, codeName: describeCode(code), reason, willReconnect: again, resuming });
    if (!again) {
      this.finish(code, reason);
      return;
    }
    if (resuming) void this.resumeLoop(Date.now());
    else void this.reconnectLoop();
  }
  /**
   * resumeLoop sends Resume over the transports in order, with backoff and
   * jitter between rounds, until the session continues, the server refuses
   * it (a fresh session follows), or the server's resume window has passed
   * since the loss.
   */
  async resumeLoop(lostAtMs) {
    const ro = this.o.resume ?? {};
    const base = ro.backoffMs ?? DefaultResumeBackoffMs;
    const max = ro.maxBackoffMs ?? DefaultResumeMaxBackoffMs;
    const windowMs = this.welcome.resumeWindowMs;
    let last;
    for (let attempt = 1; this.is("resuming"); attempt++) {
      if (ro.maxAttempts !== void 0 && attempt > ro.maxAttempts) {
        return this.resumeFailed(last?.code ?? ConnectionLost, `not resumed in ${ro.maxAttempts} attempts (${last?.message ?? ""})`);
      }
      const delayMs = resumeBackoffMs(attempt, base, max, Math.random());
      if (Date.now() + delayMs >= lostAtMs + windowMs) {
        return this.resumeFailed(Timeout, `not resumed within the server's resume window (${windowMs} ms)`);
      }
      this.emit("reconnecting", { attempt, delayMs, resume: true });
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (!this.is("resuming")) return;
      try {
        if (this.o.getToken) this.token = await this.o.getToken();
        if (!this.is("resuming")) return;
        const d = await this.dial({ sessionId: this.welcome.sessionId, resumeId: this.welcome.resumeId, received: this.numbering.received });
        if (!this.is("resuming")) {
          d.conn.close(Code.OK, "client closed");
          return;
        }
        return this.resumedOn(d, attempt, lostAtMs);
      } catch (err) {
        const e = asTickwireError(err);
        last = e;
        if (resumeRefusal(e.code)) return this.resumeFailed(e.code, e.message);
        if (fatal(e.code) && !(e.code === Code.TokenExpired && this.o.getToken)) return this.finish(e.code, e.message);
      }
    }
  }
  /** resumedOn continues the session on d: the client's unprocessed frames are resent, then the replay is handed on. */
  resumedOn(d, attempts, lostAtMs) {
    const w = d.welcome;
    const resend = w.resumed && w.sessionId === this.welcome.sessionId ? this.numbering.toResend(w.received) : void 0;
    if (!resend) {
      try {
        d.conn.send(Reliable, encode({ kind: Kind.Close, code: Code.OK, reason: "cannot resend" }));
      } catch {
      }
      d.conn.close(Code.OK, "cannot resend");
      const why = w.resumed ? `the server processed ${w.received} of the client's frames; frames after it are no longer kept (${this.numbering.sent} sent)` : "the server answered Resume with a fresh session";
      return this.resumeFailed(Code.ConnectionLost, why);
    }
    this.numbering.resumed();
    this.stats.resumes++;
    this.stats.replayed += w.replay;
    this.stats.resent += resend.length;
    const conn = d.conn;
    this.adopt(d, () => {
      for (const b of resend) {
        try {
          conn.send(Reliable, b);
        } catch {
          return;
        }
        this.stats.framesOut++;
      }
      this.emit("resumed", {
        transport: this.transport,
        sessionId: w.sessionId,
        replayed: w.replay,
        resent: resend.length,
        attempts,
        downMs: Date.now() - lostAtMs
      });
    });
  }
  /** resumeFailed gives the resume up: pending requests fail with connection_lost (33) and a fresh session follows. */
  resumeFailed(code, reason) {
    if (!this.is("resuming")) return;
    this.stats.resumeFailures++;
    this.failPending(new TickwireError(Code.ConnectionLost, `the session was not resumed: ${reason}`));
    this.emit("resumeFailed", { code, codeName: describeCode(code), reason });
    if (!this.is("resuming")) return;
    this.state = "reconnecting";
    void this.reconnectLoop();
  }
  finish(code, reason) {
    if (this.state === "closed") return;
    this.state = "closed";
    this.endCode = code;
    clearInterval(this.pingTimer);
    clearTimeout(this.ackTimer);
    clearTimeout(this.resumeAckTimer);
    this.closeCtl.abort();
    for (const r of this.rooms.values()) r.onClosed({ roomId: r.id, code, message: reason });
    this.rooms.clear();
    this.emit("closed", { code, codeName: describeCode(code), reason });
    this.end();
  }
  async reconnectLoop() {
    const min = this.o.reconnectMinMs ?? 250;
    const max = this.o.reconnectMaxMs ?? 5e3;
    for (let attempt = 1; this.state === "reconnecting"; attempt++) {
      if (this.o.maxReconnectAttempts !== void 0 && attempt > this.o.maxReconnectAttempts) {
        return this.finish(ConnectionLost, "gave up reconnecting");
      }
      const delayMs = Math.round(Math.min(max, min * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      this.emit("reconnecting", { attempt, delayMs, resume: false });
      await new Promise((r) => setTimeout(r, delayMs));
      if (this.state !== "reconnecting") return;
      try {
        if (this.o.getToken) this.token = await this.o.getToken();
        const d = await this.dial();
        if (this.state !== "reconnecting") {
          d.conn.close(Code.OK, "client closed");
          return;
        }
        this.stats.reconnects++;
        this.adopt(d);
        const conn = this.conn;
        const rooms = await this.rejoin();
        if (this.is("open") && this.conn === conn) this.emit("reconnected", { transport: this.transport, rooms });
        return;
      } catch (err) {
        const e = asTickwireError(err);
        if (fatal(e.code) && !(e.code === Code.TokenExpired && this.o.getToken)) return this.finish(e.code, e.message);
      }
    }
  }
  /**
   * rejoin joins again every room the client was in before the connection
   * was lost, in a fresh session (a resumed session keeps its rooms). A
   * room that cannot be joined again is reported closed.
   */
  async rejoin() {
    const done = [];
    for (const [key, r] of [...this.rooms]) {
      try {
        const j = await this.call({ kind: Kind.RoomJoin, roomId: r.id }, (f) => r.reset(f));
        r.emit("rejoined", j);
        done.push(r.id);
      } catch (err) {
        if (this.state !== "open") return done;
        const e = asTickwireError(err);
        this.rooms.delete(key);
        r.onClosed({ roomId: r.id, code: e.code, message: e.message });
      }
    }
    return done;
  }
  /** close ends the session politely (the server ends it at once, no resume window) and stops reconnecting. */
  async close() {
    if (this.state === "closed") return;
    const conn = this.conn;
    if (conn && this.state === "open") {
      try {
        this.send(Reliable, { kind: Kind.Close, code: Code.OK, reason: "bye" });
      } catch {
      }
    }
    this.conn = void 0;
    this.failPending(new TickwireError(Code.OK, "client closed"));
    this.finish(Code.OK, "client closed");
    conn?.close(Code.OK, "client closed");
    const nodes = [...this.nodes.values()];
    this.nodes.clear();
    for (const n of nodes) {
      await n.then(
        (c) => c.close(),
        () => void 0
        // never opened: nothing to close
      );
    }
  }
  // ---- rooms ----
  async listRooms(q = {}) {
    const f = await this.call({ kind: Kind.RoomList, type: q.type ?? "", label: q.label ?? "", limit: q.limit ?? 0 });
    return f.rooms;
  }
  createRoom(o = {}) {
    return this.joined({
      kind: Kind.RoomCreate,
      type: o.type ?? "relay",
      label: o.label ?? "",
      capacity: o.capacity ?? 0,
      tickRate: o.tickRate ?? 0,
      private: o.private ?? false,
      emptyTimeoutMs: o.emptyTimeoutMs ?? 0,
      params: o.params ?? new Uint8Array(0)
    });
  }
  joinRoom(id) {
    return this.joined({ kind: Kind.RoomJoin, roomId: id });
  }
  joinOrCreateRoom(o = {}) {
    return this.joined({
      kind: Kind.RoomJoinOrCreate,
      type: o.type ?? "relay",
      label: o.label ?? "",
      capacity: o.capacity ?? 0,
      tickRate: o.tickRate ?? 0,
      emptyTimeoutMs: o.emptyTimeoutMs ?? 0,
      params: o.params ?? new Uint8Array(0)
    });
  }
  joined(req) {
    return this.joinVia(this, req, req, 0);
  }
  /**
   * joinVia sends req to node (this client or one of its node sessions)
   * and follows the redirects that answer it, at most maxRedirects: each
   * to a session on the owner node (nodeSession), joining there with the
   * ticket. A join-or-create whose ticket join finds the room full or
   * gone (the directory was behind) matchmakes again on that node.
   */
  async joinVia(node, req, original, hops) {
    let r;
    let f;
    try {
      f = await node.call(req, (j) => {
        if (j.kind !== Kind.RoomJoined) return;
        r = new Room(node, j);
        node.rooms.set(roomKey(r.id), r);
      });
    } catch (err) {
      const e = asTickwireError(err);
      if (req.kind === Kind.RoomJoinTicket && original.kind === Kind.RoomJoinOrCreate && (e.code === Code.RoomFull || e.code === Code.RoomNotFound)) {
        return this.joinVia(node, { ...original }, original, hops);
      }
      throw e;
    }
    if (f.kind !== Kind.RoomRedirect) return r;
    const max = this.o.maxRedirects ?? DefaultMaxRedirects;
    if (hops >= max) {
      throw new TickwireError(Code.TooManyRedirects, `redirected ${hops + 1} times, last to node ${f.nodeId}`);
    }
    let next;
    try {
      next = await this.nodeSession(f.url);
    } catch (err) {
      throw new TickwireError(Code.NodeGone, `node ${f.nodeId} (${f.url}) unreachable: ${asTickwireError(err).message}`);
    }
    return this.joinVia(next, { kind: Kind.RoomJoinTicket, roomId: f.roomId, ticket: f.ticket }, original, hops + 1);
  }
  /** nodeSession is this client's session on the node whose HTTP API is at url: an open one or a new one (same token and options). */
  nodeSession(url) {
    if (this.is("closed")) return Promise.reject(new TickwireError(Code.OK, "client closed"));
    checkBase(url);
    const have = this.nodes.get(url);
    if (have) {
      return have.then(
        (c) => c.is("closed") ? this.openNode(url) : c,
        () => this.openNode(url)
      );
    }
    return this.openNode(url);
  }
  openNode(url) {
    const p = _Client.connect({ ...this.o, url, token: this.token, maxReconnectAttempts: this.o.maxReconnectAttempts ?? NodeReconnectAttempts });
    this.nodes.set(url, p);
    p.catch(() => {
      if (this.nodes.get(url) === p) this.nodes.delete(url);
    });
    return p;
  }
  /** rooms the client is in. */
  get joinedRooms() {
    return [...this.rooms.values()];
  }
  /** @internal RoomHost */
  sendInput(room, seq, data, reliable) {
    this.send(reliable ? Reliable : Unreliable, { kind: Kind.RoomInput, ref: 0, roomId: room.id, seq, data });
  }
  /** setVoice sets my mute and deafen state in a voice room (VoiceSet; docs/VOICE.md). */
  setVoice(room, muted, deafened) {
    return this.callOK({ kind: Kind.VoiceSet, roomId: room.id, muted, deafened });
  }
  /** @internal voice.ts: posts an audio offer for room to the SFU and returns the answer SDP. */
  async voiceOffer(room, sdp, signal) {
    const path = `v1/rtc/voice?session=${this.sessionId}&room=${room.id}`;
    const res = await fetch(httpURL(this.url, path), {
      method: "POST",
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/sdp" },
      body: sdp,
      signal,
      cache: "no-store",
      credentials: "omit"
    });
    if (res.status !== 201) throw await readError(res);
    return res.text();
  }
  /** @internal RoomHost */
  async leaveRoom(room) {
    await this.callOK({ kind: Kind.RoomLeave, roomId: room.id });
    this.rooms.delete(roomKey(room.id));
  }
  // ---- social: friends ----
  requestFriend(username) {
    return this.callOK({ kind: Kind.FriendRequest, username });
  }
  acceptFriend(userId) {
    return this.callOK({ kind: Kind.FriendAccept, userId });
  }
  declineFriend(userId) {
    return this.callOK({ kind: Kind.FriendDecline, userId });
  }
  removeFriend(userId) {
    return this.callOK({ kind: Kind.FriendRemove, userId });
  }
  blockUser(userId) {
    return this.callOK({ kind: Kind.FriendBlock, userId });
  }
  unblockUser(userId) {
    return this.callOK({ kind: Kind.FriendUnblock, userId });
  }
  /** friends lists friends, requests both ways and blocks (every page). */
  friends() {
    return this.allPages(
      "",
      (after) => ({ kind: Kind.FriendList, afterUserId: after }),
      "friends",
      (f) => f.userId
    );
  }
  /**
   * allPages asks for a list page after page (each after the last entry of
   * the one before) until the server says there is no more.
   */
  async allPages(first, req, field, cursor) {
    const out = [];
    let after = first;
    for (; ; ) {
      const f = await this.call(req(after));
      const page = f[field];
      out.push(...page);
      if (!f.more || page.length === 0) return out;
      const next = cursor(page[page.length - 1]);
      if (next === after || out.length > MaxListEntries) {
        throw new TickwireError(Code.BadFrame, `${field}: the list does not advance or exceeds ${MaxListEntries} entries`);
      }
      after = next;
    }
  }
  // ---- social: groups ----
  async createGroup(name, open) {
    const f = await this.call({ kind: Kind.GroupCreate, name, open });
    return f.group;
  }
  joinGroup(groupId) {
    return this.callOK({ kind: Kind.GroupJoin, groupId });
  }
  inviteToGroup(groupId, userId) {
    return this.callOK({ kind: Kind.GroupInvite, groupId, userId });
  }
  acceptGroupInvite(groupId) {
    return this.callOK({ kind: Kind.GroupAccept, groupId });
  }
  declineGroupInvite(groupId) {
    return this.callOK({ kind: Kind.GroupDecline, groupId });
  }
  leaveGroup(groupId) {
    return this.callOK({ kind: Kind.GroupLeave, groupId });
  }
  removeGroupMember(groupId, userId) {
    return this.callOK({ kind: Kind.GroupRemove, groupId, userId });
  }
  setGroupRole(groupId, userId, role2) {
    return this.callOK({ kind: Kind.GroupSetRole, groupId, userId, role: role2 });
  }
  async groupMembers(groupId, o = {}) {
    const f = await this.call({ kind: Kind.GroupMembers, groupId, afterUserId: o.after ?? "", limit: o.limit ?? 0 });
    return { members: f.members, more: f.more };
  }
  /** groups lists my groups and my pending invitations (role "invited"), every page. */
  groups() {
    return this.allPages(
      0,
      (after) => ({ kind: Kind.GroupList, afterGroupId: after }),
      "groups",
      (g) => g.id
    );
  }
  // ---- social: messages and presence ----
  /** sendDirect resolves once the message is stored (MessageSent). */
  async sendDirect(toUserId, body) {
    const f = await this.call({ kind: Kind.DirectSend, toUserId, body });
    return { id: f.id, timeUs: f.timeUs };
  }
  async sendGroup(groupId, body) {
    const f = await this.call({ kind: Kind.GroupSend, groupId, body });
    return { id: f.id, timeUs: f.timeUs };
  }
  /** ackMessages acknowledges every message with id ≤ upToId (no reply is asked for). */
  ackMessages(upToId) {
    this.send(Reliable, { kind: Kind.MessageAck, ref: 0, upToId });
    this.ackedUpTo = Math.max(this.ackedUpTo, upToId);
  }
  async history(q) {
    const f = await this.call({
      kind: Kind.History,
      groupId: q.groupId ?? 0,
      userId: q.userId ?? "",
      beforeId: q.beforeId ?? 0,
      limit: q.limit ?? 0
    });
    return { messages: f.messages, more: f.more };
  }
  setPresence(presence2, statusText = "") {
    return this.callOK({ kind: Kind.SetPresence, presence: presence2, statusText });
  }
  // ---- signaling and calls (calls.ts, docs/VOICE.md) ----
  /** signal sends payload to a session sharing a call, a room or a friendship with this one. */
  signal(to, payload) {
    return this.callOK(signalFrame(to, payload));
  }
  /** invite rings a friend on every session; the Call follows its states. */
  async invite(userId) {
    let call;
    await this.call({ kind: Kind.CallInvite, toUserId: userId }, (f) => {
      call = this.callBook.update(f, false);
    });
    return call;
  }
  /** calls lists the calls not yet ended that this client knows. */
  get calls() {
    return this.callBook.all;
  }
};

// src/voice.ts
var DefaultSlots = 4;
var SlotPollMs = 100;
function slotMember(sources) {
  let best = 0;
  let at = -Infinity;
  for (const s of sources) {
    if (s.timestamp > at) {
      at = s.timestamp;
      best = s.source;
    }
  }
  return best;
}
var VoiceLink = class extends Emitter {
  /** @internal */
  constructor(client, room, pc, mic, muted) {
    super();
    __publicField(this, "client", client);
    __publicField(this, "room", room);
    __publicField(this, "pc", pc);
    __publicField(this, "mic", mic);
    __publicField(this, "slots");
    __publicField(this, "state", new VoiceState());
    __publicField(this, "muted");
    __publicField(this, "deafened", false);
    __publicField(this, "closedReason", "");
    __publicField(this, "timer");
    __publicField(this, "offRoom");
    this.muted = muted;
    this.slots = pc.getTransceivers().map((t, index) => ({ index, stream: new MediaStream([t.receiver.track]), member: 0 }));
    this.state.copyFrom(room.voiceState);
    const onVoice = (ev) => {
      if (this.state.apply(ev)) this.emit("speaking", { member: ev.member, speaking: this.state.speaking.has(ev.member) });
      this.emit("voice", ev);
    };
    const onMember = (ev) => {
      if (ev.event === "left") this.state.forget(ev.member);
    };
    const onClosed = () => this.close("the room closed");
    const offs = [room.on("voice", onVoice), room.on("member", onMember), room.on("closed", onClosed)];
    this.offRoom = () => offs.forEach((off) => off());
    this.timer = setInterval(() => this.poll(), SlotPollMs);
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") this.close("connection " + pc.connectionState);
    });
  }
  /** closed is the reason the link ended, "" while open. */
  get closed() {
    return this.closedReason;
  }
  poll() {
    const trs = this.pc.getTransceivers();
    for (const s of this.slots) {
      const r = trs[s.index]?.receiver;
      if (!r) continue;
      const m = slotMember(r.getContributingSources());
      if (m !== 0 && m !== s.member) {
        s.member = m;
        this.emit("slot", { index: s.index, member: m });
      }
    }
  }
  /** mute sets my mute in the room (the server drops my frames) and stops the microphone track. */
  async mute(on) {
    await this.client.setVoice(this.room, on, this.deafened);
    this.muted = on;
    if (this.mic) this.mic.enabled = !on;
  }
  /** deafen sets my deafen in the room (the server sends me no audio). */
  async deafen(on) {
    await this.client.setVoice(this.room, this.muted, on);
    this.deafened = on;
  }
  /** close ends the audio link; I stay in the room. */
  close(reason = "closed") {
    if (this.closedReason) return;
    this.closedReason = reason;
    clearInterval(this.timer);
    this.offRoom();
    this.pc.close();
    this.emit("closed", { reason });
  }
};
async function joinVoice(client, room, o = {}) {
  const PC = globalThis.RTCPeerConnection;
  if (!PC) throw new TickwireError(Code.Unsupported, "no RTCPeerConnection in this environment");
  const k = Math.max(1, Math.min(o.slots ?? DefaultSlots, 16));
  const pc = new PC({ iceServers: [] });
  try {
    const mic = o.stream?.getAudioTracks()[0];
    if (mic) pc.addTransceiver(mic, { direction: "sendrecv", streams: [o.stream] });
    else pc.addTransceiver("audio", { direction: "recvonly" });
    for (let i = 1; i < k; i++) pc.addTransceiver("audio", { direction: "recvonly" });
    const muted = o.muted === true;
    if (mic) mic.enabled = !muted;
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await client.voiceOffer(room, pc.localDescription.sdp);
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    const link = new VoiceLink(client, room, pc, mic, muted);
    if (muted) await client.setVoice(room, true, false);
    return link;
  } catch (err) {
    pc.close();
    throw err;
  }
}
export {
  AckDelayMs,
  AckEvery,
  Call,
  Client,
  Code,
  ConnectionLost,
  DefaultSlots,
  DefaultTransports,
  Kind,
  ProtocolVersion,
  ResendFrames,
  Room,
  SDKVersion,
  TickwireError,
  Timeout,
  VoiceLink,
  VoiceState,
  codeName,
  decode,
  describeCode,
  encode,
  isCode,
  joinVoice,
  mayReconnect,
  slotMember
};
//# sourceMappingURL=tickwire.js.map
