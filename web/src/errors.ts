import { Code, codeName } from "./codes";

/**
 * TickwireError is every failure the SDK reports: a refused request, a
 * closed session, a transport that could not connect. code is a protocol
 * code (docs/PROTOCOL.md §6), codeName its name ("room_full").
 */
export class TickwireError extends Error {
  readonly code: number;
  readonly codeName: string;

  constructor(code: number, message?: string, options?: { cause?: unknown }) {
    const name = codeName(code);
    super(message ? `${name}: ${message}` : name, options);
    this.name = "TickwireError";
    this.code = code;
    this.codeName = name;
  }
}

/** isCode reports whether err is a TickwireError with the given code. */
export function isCode(err: unknown, code: number): boolean {
  return err instanceof TickwireError && err.code === code;
}

/** asTickwireError wraps anything thrown into a TickwireError (internal by default). */
export function asTickwireError(err: unknown, code: number = Code.Internal): TickwireError {
  if (err instanceof TickwireError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new TickwireError(code, msg, { cause: err });
}
