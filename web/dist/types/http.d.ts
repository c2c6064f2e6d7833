import { TickwireError } from "./errors";
import type { Auth } from "./types";
/** readError turns a non-2xx answer into a TickwireError with the API's code. */
export declare function readError(res: Response): Promise<TickwireError>;
export interface RequestOptions {
    token?: string;
    body?: unknown;
    fetch?: typeof fetch;
    signal?: AbortSignal;
}
/** request calls the API and returns the JSON answer (undefined for 204). */
export declare function request<T>(base: string, method: string, path: string, o?: RequestOptions): Promise<T>;
export declare function guest(base: string, name?: string, o?: RequestOptions): Promise<Auth>;
export declare function register(base: string, username: string, password: string, displayName?: string, o?: RequestOptions): Promise<Auth>;
export declare function login(base: string, username: string, password: string, o?: RequestOptions): Promise<Auth>;
export declare function refresh(base: string, token: string, o?: RequestOptions): Promise<Auth>;
export declare function logout(base: string, token: string, o?: RequestOptions): Promise<void>;
