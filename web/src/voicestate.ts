// VoiceState: what a voice room's VoiceEvents say about its members (pure;
// docs/VOICE.md). The Room keeps one from the moment it is joined, so a
// VoiceLink made later starts from the state the server sent at the join.

import type { VoiceEvent } from "./types";

/** VoiceState is what a room's VoiceEvents say about its members (pure). */
export class VoiceState {
  readonly speaking = new Set<number>();
  readonly muted = new Set<number>();
  readonly deafened = new Set<number>();

  /** apply takes one event; it returns whether the member's speaking changed. */
  apply(ev: Pick<VoiceEvent, "member" | "event">): boolean {
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
  forget(member: number): void {
    this.speaking.delete(member);
    this.muted.delete(member);
    this.deafened.delete(member);
  }

  /** copyFrom replaces this state with o's. */
  copyFrom(o: VoiceState): void {
    for (const [mine, theirs] of [
      [this.speaking, o.speaking],
      [this.muted, o.muted],
      [this.deafened, o.deafened],
    ] as const) {
      mine.clear();
      for (const m of theirs) mine.add(m);
    }
  }
}
