/**
 * TickwireError is every failure the SDK reports: a refused request, a
 * closed session, a transport that could not connect. code is a protocol
 * code (docs/PROTOCOL.md §6), codeName its name ("room_full").
 */
export declare class TickwireError extends Error {
    readonly code: number;
    readonly codeName: string;
    constructor(code: number, message?: string, options?: {
        cause?: unknown;
    });
}
/** isCode reports whether err is a TickwireError with the given code. */
export declare function isCode(err: unknown, code: number): boolean;
/** asTickwireError wraps anything thrown into a TickwireError (internal by default). */
export declare function asTickwireError(err: unknown, code?: number): TickwireError;
