import type { Client } from "./client";
import { Emitter } from "./events";
import type { Room } from "./room";
import type { VoiceEvent } from "./types";
import { VoiceState } from "./voicestate";
/** DefaultSlots is K: how many members a browser hears at once. */
export declare const DefaultSlots = 4;
/** SlotPollMs is how often the slots' contributing sources are read. */
export declare const SlotPollMs = 100;
export interface VoiceOptions {
    /** the microphone (getUserMedia({ audio: true })); none: listen only */
    stream?: MediaStream;
    /** K, the slot tracks to receive (default 4; the server caps it) */
    slots?: number;
    /** start muted */
    muted?: boolean;
}
/** VoiceSlot is one received track and the member on it (0: nobody yet). */
export interface VoiceSlot {
    index: number;
    stream: MediaStream;
    member: number;
}
export interface VoiceLinkEvents {
    /** a member started or stopped speaking (the room's events; me included) */
    speaking: {
        member: number;
        speaking: boolean;
    };
    /** any VoiceEvent of the room */
    voice: VoiceEvent;
    /** a slot changed speaker */
    slot: {
        index: number;
        member: number;
    };
    /** the audio link ended */
    closed: {
        reason: string;
    };
}
export { VoiceState };
/**
 * slotMember picks the member a slot carries from its receiver's
 * contributing sources: the most recent one, 0 when none.
 */
export declare function slotMember(sources: readonly {
    source: number;
    timestamp: number;
}[]): number;
/** VoiceLink is my browser membership of a voice room. */
export declare class VoiceLink extends Emitter<VoiceLinkEvents> {
    private client;
    readonly room: Room;
    readonly pc: RTCPeerConnection;
    private mic;
    readonly slots: VoiceSlot[];
    readonly state: VoiceState;
    muted: boolean;
    deafened: boolean;
    private closedReason;
    private timer;
    private offRoom;
    /** @internal */
    constructor(client: Client, room: Room, pc: RTCPeerConnection, mic: MediaStreamTrack | undefined, muted: boolean);
    /** closed is the reason the link ended, "" while open. */
    get closed(): string;
    private poll;
    /** mute sets my mute in the room (the server drops my frames) and stops the microphone track. */
    mute(on: boolean): Promise<void>;
    /** deafen sets my deafen in the room (the server sends me no audio). */
    deafen(on: boolean): Promise<void>;
    /** close ends the audio link; I stay in the room. */
    close(reason?: string): void;
}
/**
 * joinVoice opens my audio link to a voice room I am in: the
 * microphone's track goes up, K slot tracks come down. Attach each
 * slot's stream to an audio element (`audio.srcObject = slot.stream`).
 */
export declare function joinVoice(client: Client, room: Room, o?: VoiceOptions): Promise<VoiceLink>;
