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
export declare class Room extends Emitter<RoomEvents> {
    private host;
    readonly id: bigint;
    readonly type: string;
    readonly label: string;
    readonly tickRate: number;
    readonly capacity: number;
    /** my member number (it changes when a fresh reconnect rejoins; a resume keeps it) */
    me: number;
    /** members by member number, me included */
    readonly members: Map<number, RoomMember>;
    /** member numbers of members whose connection was lost: their seat is kept while their session waits for a resume */
    readonly away: Set<number>;
    /** what the voice room's events said so far (speaking, muted, deafened), from the join on */
    readonly voiceState: VoiceState;
    /** the newest tick seen, on either channel */
    lastTick: number;
    /** the newest tick seen on the unreliable channel (newest wins there) */
    private lastUnreliableTick;
    /** unreliable ticks dropped because a newer one had arrived */
    staleTicks: number;
    private seq;
    private left;
    constructor(host: RoomHost, j: RoomJoined);
    /** reset takes the room's state from a (re)join. */
    reset(j: RoomJoined): void;
    /**
     * send sends one input: on the unreliable channel by default (newest
     * wins, may be lost), on the reliable one with { reliable: true }. It
     * returns the input's sequence number, which comes back in RoomTick.
     */
    send(data: Uint8Array, opts?: {
        reliable?: boolean;
    }): number;
    /** leave leaves the room; its events stop. */
    leave(): Promise<void>;
    get isOpen(): boolean;
    /**
     * onTick applies newest-wins to unreliable ticks and emits. The relay
     * sends a tick's reliable inputs and its unreliable ones as two RoomTicks
     * with the same number, one per channel, so each channel keeps its own
     * newest.
     */
    onTick(t: RoomTick): void;
    /** onEvent keeps members up to date: away and back keep the seat (a session resuming), left frees it. */
    onEvent(e: RoomEvent): void;
    /** onVoice records a voice room's event, then hands it on. */
    onVoice(ev: VoiceEvent): void;
    onClosed(c: RoomClosed): void;
}
