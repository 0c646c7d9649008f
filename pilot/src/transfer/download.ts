/**
 * Fetching a file the job needs (a user sandbox from the panda cache, a
 * transformation script) into the job dir: a deadline per attempt, retries
 * with backoff, a size cap, and the source's adler32 (`Want-Digest`) checked
 * when it gives one.
 */
import { rmSync } from 'node:fs';
import { adler32File } from '../run/index.js';
import { retry, type BackoffOptions, type Sleep } from '../retry/index.js';
import type { HttpTransport } from '../server/index.js';
import { HttpStatusError, ReplyTooLargeError, TransportError } from '../errors/index.js';
import { digestAdler32 } from './stage-out.js';

export interface DownloadSettings {
  timeoutMs: number;
  maxAttempts: number;
  maxBytes: number;
  backoff: BackoffOptions;
  sleep?: Sleep | undefined;
}

export const DEFAULT_DOWNLOAD: DownloadSettings = {
  timeoutMs: 10 * 60_000,
  maxAttempts: 3,
  maxBytes: 1024 ** 3,
  backoff: { initialMs: 2_000, maxMs: 30_000, factor: 2, jitter: 0.5 },
};

export interface Downloaded {
  bytes: number;
  adler32: string;
  /** Whether the source sent a digest the file was checked against. */
  checked: boolean;
  attempts: number;
}

/** Why a download failed, in words a diagnostic can carry, and whether it was the deadline. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

class DigestMismatch extends Error {
  override readonly name = 'DigestMismatch';
}

const retryable = (err: unknown): boolean =>
  err instanceof DigestMismatch || err instanceof TransportError || (err instanceof HttpStatusError && (err.status >= 500 || err.status === 429));

/** Downloads `url` to `file`. Throws DownloadError; a partial file is removed. */
export async function downloadFile(
  http: HttpTransport,
  url: string,
  file: string,
  deps: { signal: AbortSignal; settings?: DownloadSettings | undefined; onRetry?: ((err: unknown, attempt: number) => void) | undefined },
): Promise<Downloaded> {
  const settings = deps.settings ?? DEFAULT_DOWNLOAD;
  let attempts = 0;
  try {
    return await retry(
      async () => {
        attempts++;
        const reply = await http.request({
          method: 'GET',
          url,
          headers: { 'Want-Digest': 'adler32' },
          toFile: file,
          maxBytes: settings.maxBytes,
          timeoutMs: settings.timeoutMs,
          signal: deps.signal,
          withAuth: true,
        });
        if (reply.status < 200 || reply.status >= 300) throw new HttpStatusError(reply.status, reply.body, `GET ${url}`);
        const adler32 = await adler32File(file);
        const expected = digestAdler32(reply.headers.digest);
        if (expected !== null && expected !== adler32) throw new DigestMismatch(`adler32 ${adler32} of the download differs from the source's ${expected}`);
        return { bytes: reply.bytes, adler32, checked: expected !== null, attempts };
      },
      {
        signal: deps.signal,
        backoff: settings.backoff,
        maxAttempts: settings.maxAttempts,
        retryable,
        sleep: settings.sleep,
        onFailure: (err, n, willRetry) => {
          if (willRetry) deps.onRetry?.(err, n);
        },
      },
    );
  } catch (err) {
    rmSync(file, { force: true });
    if (deps.signal.aborted) throw err;
    const timedOut = err instanceof TransportError && err.kind === 'timeout';
    const why =
      err instanceof HttpStatusError
        ? `HTTP ${err.status}${err.body ? ` ${err.body.trim().slice(0, 100)}` : ''}`
        : err instanceof ReplyTooLargeError
          ? `larger than ${settings.maxBytes} bytes`
          : (err as Error).message;
    throw new DownloadError(`${why} (${url}, ${attempts} attempt${attempts === 1 ? '' : 's'})`, timedOut, { cause: err });
  }
}
