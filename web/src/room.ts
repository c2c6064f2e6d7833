// A room the client is in: its members, its tick broadcasts and events
// (docs/PROTOCOL.md §4).

import { Emitter } from "./events";
import { VoiceState } from "./voicestate";
import type { RoomClosed, RoomData, RoomEvent, RoomJoined, RoomMember, RoomTick, VoiceEvent } from "./types";

export interface RoomEvents {
  tick: RoomTick;
  data: RoomData;
  member: RoomEvent;
  closed: RoomClosed;
  /** the client reconnected and joined the room again; me and members are new */
  rejoined: RoomJoined;
  /** a voice room's speaking, mute or deafen change (docs/VOICE.md) */
  voice: VoiceEvent;
}

/** The part of the client a room needs. */
export interface RoomHost {
  sendInput(room: Room, seq: number, data: Uint8Array, reliable: boolean): void;
  leaveRoom(room: Room): Promise<void>;
}

export class Room extends Emitter<RoomEvents> {
  readonly id: bigint;
  readonly type: string;
  readonly label: string;
  readonly tickRate: number;
  readonly capacity: number;
  /** my member number (it changes when a fresh reconnect rejoins; a resume keeps it) */
  me: number;
  /** members by member number, me included */
  readonly members = new Map<number, RoomMember>();
  /** member numbers of members whose connection was lost: their seat is kept while their session waits for a resume */
  readonly away = new Set<number>();
  /** what the voice room's events said so far (speaking, muted, deafened), from the join on */
  readonly voiceState = new VoiceState();
  /** the newest tick seen, on either channel */
  lastTick = -1;
  /** the newest tick seen on the unreliable channel (newest wins there) */
  private lastUnreliableTick = -1;
  /** unreliable ticks dropped because a newer one had arrived */
  staleTicks = 0;
  private seq = 0;
  private left = false;

  constructor(
    private host: RoomHost,
    j: RoomJoined,
  ) {
    super();
    this.id = j.roomId;
    this.type = j.type;
    this.label = j.label;
    this.tickRate = j.tickRate;
    this.capacity = j.capacity;
    this.me = j.you;
    this.reset(j);
  }

  /** reset takes the room's state from a (re)join. */
  reset(j: RoomJoined): void {
    this.me = j.you;
    this.members.clear();
    this.away.clear();
    this.voiceState.copyFrom(new VoiceState()); // a fresh join is told the voice state again
    for (const m of j.members) this.members.set(m.member, m);
    this.lastTick = Math.max(this.lastTick, j.tick);
  }

  /**
   * send sends one input: on the unreliable channel by default (newest
   * wins, may be lost), on the reliable one with { reliable: true }. It
   * returns the input's sequence number, which comes back in RoomTick.
   */
  send(data: Uint8Array, opts: { reliable?: boolean } = {}): number {
    this.seq = (this.seq + 1) >>> 0;
    this.host.sendInput(this, this.seq, data, opts.reliable === true);
    return this.seq;
  }

  /** leave leaves the room; its events stop. */
  async leave(): Promise<void> {
    if (this.left) return;
    await this.host.leaveRoom(this);
    this.left = true;
    this.end();
  }

  get isOpen(): boolean {
    return !this.left;
  }

  /**
   * onTick applies newest-wins to unreliable ticks and emits. The relay
   * sends a tick's reliable inputs and its unreliable ones as two RoomTicks
   * with the same number, one per channel, so each channel keeps its own
   * newest.
   */
  onTick(t: RoomTick): void {
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
  onEvent(e: RoomEvent): void {
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
  onVoice(ev: VoiceEvent): void {
    this.voiceState.apply(ev);
    this.emit("voice", ev);
  }

  onClosed(c: RoomClosed): void {
    this.left = true;
    this.emit("closed", c);
    this.end();
  }
}
