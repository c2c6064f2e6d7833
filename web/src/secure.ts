// The SDK never downgrades a secure page: from an https: page every URL
// it derives (the HTTP API, wss: for WebSocket, long-poll and WebRTC
// signaling requests) stays https:. Browsers verify the server's
// certificate themselves; there is no switch to skip that (docs/TLS.md).

import { Code } from "./codes";
import { TickwireError } from "./errors";

/** pageProtocol is the protocol of the page the SDK runs in ("" outside a page). */
function pageProtocol(): string {
  const loc = (globalThis as { location?: { protocol?: string } }).location;
  return loc?.protocol ?? "";
}

/**
 * checkBase refuses an API base URL that is not http: or https:, and,
 * from an https: page, one that is not https: (tokens would cross the
 * network in clear, and browsers block such mixed content anyway).
 */
export function checkBase(base: string, page: string = pageProtocol()): URL {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new TickwireError(Code.BadRequest, `the API base ${JSON.stringify(base)} is not an absolute URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TickwireError(Code.BadRequest, `the API base must be http: or https:, not ${u.protocol}`);
  }
  if (page === "https:" && u.protocol !== "https:") {
    throw new TickwireError(Code.Forbidden, `an https: page does not reach the API at ${u.origin} in clear: give an https:// URL`);
  }
  return u;
}
