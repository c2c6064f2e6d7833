// The voice-room panel: join the "lounge" voice room with the microphone,
// hear up to four speakers through the server's SFU (docs/VOICE.md,
// "Browsers and the SFU"), see who speaks (the room's speaking events,
// the same for browser and native members) and mute yourself.

import { joinVoice } from "../src/index";
import type { Room, VoiceLink } from "../src/index";
import type { App } from "./app";
import { byTest, h } from "./dom";
import { showError } from "./toast";

/** VoiceLabel is the label of the demo's voice room. */
export const VoiceLabel = "lounge";

export class VoicePanel {
  room: Room | null = null;
  link: VoiceLink | null = null;
  private mic: MediaStream | null = null;
  private audio: HTMLAudioElement[] = [];

  constructor(private app: App) {}

  async join(): Promise<void> {
    if (this.link) return;
    const c = this.app.client;
    if (!c) throw new Error("not connected");
    this.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    this.room = await c.joinOrCreateRoom({ type: "voice", label: VoiceLabel, capacity: 16, tickRate: 10 });
    try {
      this.link = await joinVoice(c, this.room, { stream: this.mic });
    } catch (err) {
      await this.room.leave().catch(() => {});
      this.room = null;
      throw err;
    }
    const box = byTest("voice-audio");
    this.audio = this.link.slots.map((s) => {
      const a = h("audio", { "data-test": `voice-slot-${s.index}` });
      a.autoplay = true;
      a.srcObject = s.stream;
      box.append(a);
      return a;
    });
    for (const ev of ["speaking", "voice", "slot", "closed"] as const) this.link.on(ev, () => this.render());
    this.room.on("member", () => this.render());
    this.render();
  }

  async mute(): Promise<void> {
    if (this.link) await this.link.mute(!this.link.muted);
    this.render();
  }

  async leave(): Promise<void> {
    this.link?.close();
    const r = this.room;
    this.link = null;
    this.room = null;
    for (const a of this.audio) a.remove();
    this.audio = [];
    this.mic?.getTracks().forEach((t) => t.stop());
    this.mic = null;
    this.render();
    await r?.leave().catch(() => {});
  }

  /** snapshot is the panel's state for window.demo.state(). */
  snapshot() {
    const l = this.link;
    return l && this.room
      ? {
          me: this.room.me,
          muted: l.muted,
          speaking: [...l.state.speaking],
          slots: l.slots.map((s) => s.member),
          members: [...this.room.members.values()].map((m) => ({ member: m.member, displayName: m.displayName })),
        }
      : null;
  }

  render(): void {
    const l = this.link;
    byTest("voice-join").hidden = l !== null;
    byTest("voice-mute").hidden = l === null;
    byTest("voice-leave").hidden = l === null;
    byTest("voice-mute").textContent = l?.muted ? "Unmute" : "Mute";
    const list = byTest("voice-members");
    list.replaceChildren();
    if (!l || !this.room) return;
    for (const m of this.room.members.values()) {
      const speaking = l.state.speaking.has(m.member);
      const muted = l.state.muted.has(m.member);
      list.append(
        h(
          "li",
          { "data-test": `voice-member-${m.member}`, "data-speaking": String(speaking), class: m.member === this.room.me ? "me" : undefined },
          h("span", { class: speaking ? "dot online" : "dot", title: speaking ? "speaking" : "silent" }),
          m.displayName + (muted ? " (muted)" : ""),
        ),
      );
    }
  }
}

/** startVoicePanel wires the panel's buttons. */
export function startVoicePanel(app: App): VoicePanel {
  const p = new VoicePanel(app);
  byTest("voice-join").addEventListener("click", () => p.join().catch(showError));
  byTest("voice-mute").addEventListener("click", () => p.mute().catch(showError));
  byTest("voice-leave").addEventListener("click", () => p.leave().catch(showError));
  p.render();
  return p;
}
