// WebSocket transport (docs/PROTOCOL.md §2.3): GET /v1/ws, one binary
// message per frame behind a one-byte mark (0 reliable, 1 unreliable,
// 2 heartbeat); the token rides as the subprotocol tickwire.bearer.<token>.

import { Code } from "./codes";
import { TickwireError } from "./errors";
import { MaxMessage } from "./frames";
import { Channel, Conn, ConnectionLost, ConnHandlers, httpURL, Inbound, onAbort, OpenOptions, Timeout, truncateUTF8 } from "./transport";

const markHeartbeat = 2;

/** closeCode maps a WebSocket close status back to a tickwire code (§2.3 "Closing"). */
export function closeCode(status: number): number {
  if (status >= 4000 && status <= 4999) return status - 4000;
  switch (status) {
    case 1000:
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

/** wsURL is the WebSocket route on the API's origin (ws: or wss:). */
export function wsURL(base: string): string {
  const u = httpURL(base, "v1/ws");
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

class WSConn implements Conn {
  readonly transport = "websocket" as const;
  lastHeard = Date.now();
  private in = new Inbound();
  private timer?: ReturnType<typeof setInterval>;
  private lastSent = Date.now();

  constructor(private sock: WebSocket) {
    sock.onmessage = (ev: MessageEvent) => {
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
    sock.onclose = (ev: CloseEvent) => this.ended(closeCode(ev.code), ev.reason);
    sock.onerror = () => {}; // a close event follows
    // Heartbeat when we have written nothing for a second (the server's
    // default; the session layer pings at its Welcome interval anyway).
    this.timer = setInterval(() => {
      if (Date.now() - this.lastSent >= 1000) this.write(new Uint8Array([markHeartbeat]));
    }, 1000);
  }

  start(h: ConnHandlers): void {
    this.in.start(h);
  }

  send(ch: Channel, frame: Uint8Array): void {
    if (this.in.isClosed || this.sock.readyState !== 1) throw new TickwireError(ConnectionLost, "websocket closed");
    const msg = new Uint8Array(frame.length + 1);
    msg[0] = ch;
    msg.set(frame, 1);
    this.write(msg);
  }

  private write(b: Uint8Array): void {
    if (this.sock.readyState !== 1) return;
    this.sock.send(b);
    this.lastSent = Date.now();
  }

  close(code = 0, reason = ""): void {
    this.stop();
    this.in.shut();
    try {
      this.sock.close(code === 0 ? 1000 : 4000 + code, truncateUTF8(reason, 123));
    } catch {
      this.sock.close();
    }
  }

  /** fail reports a protocol error to the session and closes with its code. */
  private fail(code: number, reason: string): void {
    this.in.close(code, reason);
    this.close(code, reason);
  }

  private ended(code: number, reason: string): void {
    this.stop();
    this.in.close(code, reason);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.sock.onmessage = null;
    this.sock.onclose = null;
  }
}

/** openWebSocket connects the WebSocket transport. */
export function openWebSocket(o: OpenOptions): Promise<Conn> {
  const WS = o.webSocket ?? globalThis.WebSocket;
  if (!WS) return Promise.reject(new TickwireError(Code.Unsupported, "no WebSocket in this environment"));
  return new Promise((resolve, reject) => {
    let sock: WebSocket;
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
    sock.onclose = (ev: CloseEvent) => {
      off();
      reject(new TickwireError(ev.code === 1006 ? ConnectionLost : closeCode(ev.code), `websocket refused or closed (${ev.code})`));
    };
  });
}
