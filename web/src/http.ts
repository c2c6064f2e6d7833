// The HTTP API: token endpoints (docs/ACCOUNTS.md) and the API's JSON
// error body {"error", "code", "message"} turned into TickwireErrors.

import { Code } from "./codes";
import { TickwireError } from "./errors";
import { ConnectionLost, httpURL } from "./transport";
import type { Auth } from "./types";

/** readError turns a non-2xx answer into a TickwireError with the API's code. */
export async function readError(res: Response): Promise<TickwireError> {
  let code: number = Code.Internal;
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { code?: unknown; message?: unknown };
    if (typeof body.code === "number") code = body.code;
    if (typeof body.message === "string") message = body.message;
  } catch {
    // not the API's JSON: keep the status
  }
  return new TickwireError(code, message);
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** request calls the API and returns the JSON answer (undefined for 204). */
export async function request<T>(base: string, method: string, path: string, o: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (o.token) headers["Authorization"] = `Bearer ${o.token}`;
  if (o.body !== undefined) headers["Content-Type"] = "application/json";
  const url = httpURL(base, path); // a refused base is its own error, not a lost connection
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(url, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: o.signal,
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    throw new TickwireError(ConnectionLost, `${method} ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!res.ok) throw await readError(res);
  if (res.status === 204) {
    await res.arrayBuffer(); // complete the request rather than leave it cancelled
    return undefined as T;
  }
  return (await res.json()) as T;
}

interface TokenResponse {
  token: string;
  user_id: string;
  name: string;
  username?: string;
  guest: boolean;
  expires_at: string;
}

function toAuth(r: TokenResponse): Auth {
  const a: Auth = { token: r.token, userId: r.user_id, name: r.name, guest: r.guest, expiresAt: r.expires_at };
  if (r.username !== undefined) a.username = r.username;
  return a;
}

export async function guest(base: string, name?: string, o: RequestOptions = {}): Promise<Auth> {
  return toAuth(await request<TokenResponse>(base, "POST", "v1/auth/guest", { ...o, body: name ? { name } : {} }));
}

export async function register(
  base: string,
  username: string,
  password: string,
  displayName?: string,
  o: RequestOptions = {},
): Promise<Auth> {
  const body: Record<string, string> = { username, password };
  if (displayName) body.display_name = displayName;
  return toAuth(await request<TokenResponse>(base, "POST", "v1/auth/register", { ...o, body }));
}

export async function login(base: string, username: string, password: string, o: RequestOptions = {}): Promise<Auth> {
  return toAuth(await request<TokenResponse>(base, "POST", "v1/auth/login", { ...o, body: { username, password } }));
}

export async function refresh(base: string, token: string, o: RequestOptions = {}): Promise<Auth> {
  return toAuth(await request<TokenResponse>(base, "POST", "v1/auth/refresh", { ...o, token }));
}

export async function logout(base: string, token: string, o: RequestOptions = {}): Promise<void> {
  await request<void>(base, "POST", "v1/auth/logout", { ...o, token });
}
