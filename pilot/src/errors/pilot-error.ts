import { ErrorCode, errorCodeName, type PandaErrorCode } from '../protocol/index.js';

/**
 * A failure with the PanDA code the server should receive and a diagnostic a
 * person can act on. Everything that can fail a job throws or returns one of
 * these, so the final update never has to guess a code.
 */
export class PilotError extends Error {
  override readonly name = 'PilotError';
  constructor(
    readonly code: PandaErrorCode,
    readonly diagnostic: string,
    options?: { cause?: unknown },
  ) {
    super(`${errorCodeName(code) ?? 'UNKNOWN'} (${code}): ${diagnostic}`, options);
  }

  /** Wraps anything thrown into a PilotError, keeping an existing one as it is. */
  static from(err: unknown, fallback: PandaErrorCode = ErrorCode.INTERNALPILOTPROBLEM): PilotError {
    if (err instanceof PilotError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new PilotError(fallback, message, { cause: err });
  }
}

/** The server's pilotErrorDiag column is short; keep the end, where the reason usually is. */
export function truncateDiag(diag: string, max = 250): string {
  return diag.length <= max ? diag : `…${diag.slice(diag.length - max + 1)}`;
}
