// Voice rooms for browsers (docs/VOICE.md, "Browsers and the SFU"): a
// member of a voice room opens a second RTCPeerConnection for audio. It
// sends one Opus track (the microphone) and receives K slot tracks,
// negotiated once: the server puts each current speaker on a slot and
// names it in the RTP packets' CSRC (the member number), which
// RTCRtpReceiver.getContributingSources() reads. Speaking, mute and
// deafen come from the room's VoiceEvents, as for native members.

import type { Client } from "./client";
import { Code } from "./codes";
import { TickwireError } from "./errors";
import { Emitter } from "./events";
import type { Room } from "./room";
import type { VoiceEvent } from "./types";
import { VoiceState } from "./voicestate";

/** DefaultSlots is K: how many members a browser hears at once. */
export const DefaultSlots = 4;

/** SlotPollMs is how often the slots' contributing sources are read. */
export const SlotPollMs = 100;

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
  speaking: { member: number; speaking: boolean };
  /** any VoiceEvent of the room */
  voice: VoiceEvent;
  /** a slot changed speaker */
  slot: { index: number; member: number };
  /** the audio link ended */
  closed: { reason: string };
}

export { VoiceState };

/**
 * slotMember picks the member a slot carries from its receiver's
 * contributing sources: the most recent one, 0 when none.
 */
export function slotMember(sources: readonly { source: number; timestamp: number }[]): number {
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

/** VoiceLink is my browser membership of a voice room. */
export class VoiceLink extends Emitter<VoiceLinkEvents> {
  readonly slots: VoiceSlot[];
  readonly state = new VoiceState();
  muted: boolean;
  deafened = false;
  private closedReason = "";
  private timer: ReturnType<typeof setInterval>;
  private offRoom: () => void;

  /** @internal */
  constructor(
    private client: Client,
    readonly room: Room,
    readonly pc: RTCPeerConnection,
    private mic: MediaStreamTrack | undefined,
    muted: boolean,
  ) {
    super();
    this.muted = muted;
    this.slots = pc.getTransceivers().map((t, index) => ({ index, stream: new MediaStream([t.receiver.track]), member: 0 }));
    // The events the server sent at the join (who already speaks, who is
    // muted) arrived before this link existed: start from the room's copy.
    this.state.copyFrom(room.voiceState);
    const onVoice = (ev: VoiceEvent) => {
      if (this.state.apply(ev)) this.emit("speaking", { member: ev.member, speaking: this.state.speaking.has(ev.member) });
      this.emit("voice", ev);
    };
    const onMember = (ev: { member: number; event: string }) => {
      if (ev.event === "left") this.state.forget(ev.member);
    };
    const onClosed = () => this.close("the room closed");
    const offs = [room.on("voice", onVoice), room.on("member", onMember as never), room.on("closed", onClosed)];
    this.offRoom = () => offs.forEach((off) => off());
    this.timer = setInterval(() => this.poll(), SlotPollMs);
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") this.close("connection " + pc.connectionState);
    });
  }

  /** closed is the reason the link ended, "" while open. */
  get closed(): string {
    return this.closedReason;
  }

  private poll(): void {
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
  async mute(on: boolean): Promise<void> {
    await this.client.setVoice(this.room, on, this.deafened);
    this.muted = on;
    if (this.mic) this.mic.enabled = !on;
  }

  /** deafen sets my deafen in the room (the server sends me no audio). */
  async deafen(on: boolean): Promise<void> {
    await this.client.setVoice(this.room, this.muted, on);
    this.deafened = on;
  }

  /** close ends the audio link; I stay in the room. */
  close(reason = "closed"): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    clearInterval(this.timer);
    this.offRoom();
    this.pc.close();
    this.emit("closed", { reason });
  }
}

/**
 * joinVoice opens my audio link to a voice room I am in: the
 * microphone's track goes up, K slot tracks come down. Attach each
 * slot's stream to an audio element (`audio.srcObject = slot.stream`).
 */
export async function joinVoice(client: Client, room: Room, o: VoiceOptions = {}): Promise<VoiceLink> {
  const PC = globalThis.RTCPeerConnection;
  if (!PC) throw new TickwireError(Code.Unsupported, "no RTCPeerConnection in this environment");
  const k = Math.max(1, Math.min(o.slots ?? DefaultSlots, 16));
  const pc = new PC({ iceServers: [] });
  try {
    const mic = o.stream?.getAudioTracks()[0];
    if (mic) pc.addTransceiver(mic, { direction: "sendrecv", streams: [o.stream!] });
    else pc.addTransceiver("audio", { direction: "recvonly" });
    for (let i = 1; i < k; i++) pc.addTransceiver("audio", { direction: "recvonly" });
    const muted = o.muted === true;
    if (mic) mic.enabled = !muted;
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await client.voiceOffer(room, pc.localDescription!.sdp);
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    const link = new VoiceLink(client, room, pc, mic, muted);
    if (muted) await client.setVoice(room, true, false);
    return link;
  } catch (err) {
    pc.close();
    throw err;
  }
}
