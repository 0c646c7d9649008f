/**
 * How a server call fails from the pilot's point of view (no answer, a refusal
 * by status, an answer that breaks the protocol, a reply too large), and the
 * one classifier that says whether trying again can help.
 * They live here, below every folder, so the retry module and the loops that
 * use it (monitor, event service, reporting) need not import `server/`.
 */

/** A transport-level failure: no HTTP status came back (timeout, reset, refused). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'network',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An HTTP reply whose status says the call did not go through. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly body: string,
    readonly path: string,
  ) {
    super(`HTTP ${status} from ${path}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
}

/** A reply that came back but is not what the protocol promises. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** The reply body was larger than the caller allows (a download cap, a runaway reply). */
export class ReplyTooLargeError extends Error {
  override readonly name = 'ReplyTooLargeError';
  constructor(
    readonly url: string,
    readonly maxBytes: number,
  ) {
    super(`reply from ${url} is larger than ${maxBytes} bytes`);
  }
}

/** Timeouts, resets, refused connections, 5xx and 429 are retryable; anything else is an answer. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TransportError) return true;
  if (err instanceof HttpStatusError) return err.status === 429 || err.status >= 500;
  return false;
}
