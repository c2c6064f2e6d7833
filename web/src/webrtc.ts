// WebRTC data channel transport (docs/PROTOCOL.md §2.4): one HTTP round
// trip (POST /v1/rtc/offer with the complete SDP offer), then two
// negotiated channels: id 0 reliable and ordered, id 1 unordered with no
// retransmits, whose messages start with a u32 sequence number (newest
// wins). The only control message is a JSON close on channel 0.

import { Code } from "./codes";
import { TickwireError } from "./errors";
import { readError } from "./http";
import { Channel, Conn, ConnectionLost, ConnHandlers, httpURL, Inbound, onAbort, OpenOptions, Timeout, truncateUTF8 } from "./transport";

interface CloseControl {
  type?: unknown;
  code?: unknown;
  reason?: unknown;
}

/** GatherMs bounds the wait for ICE gathering before the offer is posted. */
export const GatherMs = 40;

class RTCConn implements Conn {
  readonly transport = "webrtc" as const;
  lastHeard = Date.now();
  private in = new Inbound();
  private sendSeq = (Math.random() * 0x1_0000_0000) >>> 0;
  private recvSeq: number | undefined;
  /** unreliable messages dropped as stale or too short */
  stale = 0;

  constructor(
    private pc: RTCPeerConnection,
    private rel: RTCDataChannel,
    private unrel: RTCDataChannel,
  ) {
    rel.onmessage = (ev: MessageEvent) => {
      this.lastHeard = Date.now();
      if (typeof ev.data === "string") return this.control(ev.data);
      this.in.message(0, new Uint8Array(ev.data as ArrayBuffer));
    };
    unrel.onmessage = (ev: MessageEvent) => {
      this.lastHeard = Date.now();
      if (typeof ev.data === "string" || (ev.data as ArrayBuffer).byteLength < 4) {
        this.stale++;
        return;
      }
      const b = new Uint8Array(ev.data as ArrayBuffer);
      const seq = new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
      if (this.recvSeq !== undefined && ((seq - this.recvSeq) | 0) <= 0) {
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

  private control(text: string): void {
    let m: CloseControl;
    try {
      m = JSON.parse(text) as CloseControl;
    } catch {
      return; // malformed controls are ignored (§2.4)
    }
    if (m.type !== "close") return;
    // A malformed close is ignored like any malformed control (§2.4).
    const { code, reason = "" } = m;
    if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || code > 0xffff) return;
    if (typeof reason !== "string" || new TextEncoder().encode(reason).length > 123) return;
    this.ended(code, reason);
  }

  start(h: ConnHandlers): void {
    this.in.start(h);
  }

  send(ch: Channel, frame: Uint8Array): void {
    if (this.in.isClosed || this.rel.readyState !== "open") throw new TickwireError(ConnectionLost, "webrtc closed");
    if (ch === 0) {
      this.rel.send(frame as Uint8Array<ArrayBuffer>);
      return;
    }
    if (this.unrel.readyState !== "open") return;
    const msg = new Uint8Array(4 + frame.length);
    new DataView(msg.buffer).setUint32(0, this.sendSeq);
    this.sendSeq = (this.sendSeq + 1) >>> 0;
    msg.set(frame, 4);
    this.unrel.send(msg);
  }

  close(code = 0, reason = ""): void {
    if (this.in.isClosed) return;
    this.in.shut();
    try {
      if (this.rel.readyState === "open") this.rel.send(JSON.stringify({ type: "close", code, reason: truncateUTF8(reason, 123) }));
    } catch {
      // closing anyway
    }
    // Let the close control leave before the association goes.
    setTimeout(() => this.pc.close(), 50);
  }

  private ended(code: number, reason: string): void {
    if (this.in.isClosed) return;
    this.in.close(code, reason);
    this.pc.close();
  }
}

/**
 * gathered waits for ICE gathering to finish, but at most gatherMs: the
 * server answers the browser's connectivity checks from whatever address
 * they come (a peer-reflexive candidate), so the offer needs no client
 * candidates to connect, and a full gathering costs 100–150 ms in Chromium
 * even with no STUN server (docs/WEB.md).
 */
function gathered(pc: RTCPeerConnection, signal: AbortSignal, gatherMs: number): Promise<void> {
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

function opened(dc: RTCDataChannel, signal: AbortSignal): Promise<void> {
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

/** openWebRTC negotiates a peer connection with the server and opens both channels. */
export async function openWebRTC(o: OpenOptions): Promise<Conn> {
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
      body: pc.localDescription!.sdp,
      signal: o.signal,
      cache: "no-store",
      credentials: "omit",
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
