import type { VoiceEvent } from "./types";
/** VoiceState is what a room's VoiceEvents say about its members (pure). */
export declare class VoiceState {
    readonly speaking: Set<number>;
    readonly muted: Set<number>;
    readonly deafened: Set<number>;
    /** apply takes one event; it returns whether the member's speaking changed. */
    apply(ev: Pick<VoiceEvent, "member" | "event">): boolean;
    /** forget drops a member that left. */
    forget(member: number): void;
    /** copyFrom replaces this state with o's. */
    copyFrom(o: VoiceState): void;
}
