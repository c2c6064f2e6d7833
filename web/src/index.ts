// @tickwire/client: the JavaScript SDK of the tickwire realtime engine.
// docs/WEB.md describes the API; docs/PROTOCOL.md the wire.

export { Client } from "./client";
export type { ClientEvents, ClientStats, ConnectOptions, ResumeOptions } from "./client";
export { AckDelayMs, AckEvery, ResendFrames } from "./resume";
export { Room } from "./room";
export type { RoomEvents } from "./room";
export { Call } from "./calls";
export { DefaultSlots, joinVoice, slotMember, VoiceLink, VoiceState } from "./voice";
export type { VoiceLinkEvents, VoiceOptions, VoiceSlot } from "./voice";
export type { CallEndReason, CallEvents, CallState, CallUpdate, SignalRecv, SignalTarget } from "./calls";
export { Code, codeName, mayReconnect } from "./codes";
export { TickwireError, isCode } from "./errors";
export { ConnectionLost, Timeout, DefaultTransports, describeCode } from "./transport";
export type { Channel, Conn, ConnHandlers, Opener, OpenOptions, TransportName } from "./transport";
export { SDKVersion, ProtocolVersion } from "./dial";
export type { Attempt } from "./dial";
export { Kind, decode, encode } from "./frames";
export type { Frame } from "./frames";
export type * from "./types";
