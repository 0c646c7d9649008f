/**
 * Moves a finished job's log tarball to its destination and proves it got
 * there: the destination's own adler32 (WebDAV `Want-Digest`), else its size,
 * must match what the pilot computed. Retried with backoff; a timeout is
 * 1152, any other failure 1137.
 */
import { copyFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/index.js';
import { adler32File } from '../run/index.js';
import { retry, type BackoffOptions, type Sleep } from '../retry/index.js';
import type { HttpTransport } from '../server/index.js';
import { HttpStatusError, PilotError, TransportError } from '../errors/index.js';
import { destinationUrl, type LogDestination } from './destination.js';

/** The file to move, with the figures the output report carries. */
export interface StagedFile {
  path: string;
  size: number;
  adler32: string;
}

export interface StageOutSettings {
  /** Per-attempt deadline (ms): a stuck transfer is abandoned, then retried. */
  timeoutMs: number;
  maxAttempts: number;
  backoff: BackoffOptions;
  sleep?: Sleep | undefined;
}

export const DEFAULT_STAGEOUT: StageOutSettings = {
  timeoutMs: 30 * 60_000,
  maxAttempts: 3,
  backoff: { initialMs: 2_000, maxMs: 60_000, factor: 2, jitter: 0.5 },
};

/** What happened to the file. */
export type StageOutResult =
  { kind: 'stored'; surl: string; verifiedBy: 'adler32' | 'size'; attempts: number; ms: number } | { kind: 'left'; dir: string } | { kind: 'not-configured' };

/** The destination's answer did not prove the copy is whole (retried: the next copy may be). */
class VerificationError extends Error {
  override readonly name = 'VerificationError';
}

const retryableTransfer = (err: unknown): boolean =>
  err instanceof VerificationError || err instanceof TransportError || (err instanceof HttpStatusError && (err.status >= 500 || err.status === 429));

/** `Digest: adler32=0a1b2c3d, md5=…` → the adler32, lower-case, 8 hex digits. */
export function digestAdler32(header: string | string[] | undefined): string | null {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return null;
  for (const part of text.split(',')) {
    const m = /^\s*adler32\s*=\s*([0-9a-fA-F]{1,8})\s*$/i.exec(part); // algorithm names are case-insensitive (RFC 3230)
    if (m?.[1]) return m[1].toLowerCase().padStart(8, '0');
  }
  return null;
}

async function putWebdav(http: HttpTransport, url: string, file: StagedFile, settings: StageOutSettings, signal: AbortSignal): Promise<'adler32' | 'size'> {
  const put = await http.request({
    method: 'PUT',
    url,
    // The destination may check the digest itself (dCache does); the HEAD below is the pilot's own check.
    headers: { 'Content-Type': 'application/octet-stream', Digest: `adler32=${file.adler32}` },
    body: { file: file.path, size: file.size },
    timeoutMs: settings.timeoutMs,
    signal,
    withAuth: true,
  });
  if (put.status < 200 || put.status >= 300) throw new HttpStatusError(put.status, put.body, `PUT ${url}`);
  const head = await http.request({
    method: 'HEAD',
    url,
    headers: { 'Want-Digest': 'adler32' },
    timeoutMs: Math.min(settings.timeoutMs, 60_000),
    signal,
    withAuth: true,
  });
  if (head.status < 200 || head.status >= 300) throw new HttpStatusError(head.status, head.body, `HEAD ${url}`);
  const remote = digestAdler32(head.headers.digest);
  if (remote !== null) {
    if (remote !== file.adler32) throw new VerificationError(`${url}: destination's adler32 ${remote} differs from the file's ${file.adler32}`);
    return 'adler32';
  }
  const length = Number(head.headers['content-length']);
  if (!Number.isFinite(length) || head.headers['content-length'] === undefined) {
    throw new VerificationError(`${url}: destination gave neither an adler32 digest nor a size to check the copy against`);
  }
  if (length !== file.size) throw new VerificationError(`${url}: destination holds ${length} bytes, the file has ${file.size}`);
  return 'size';
}

async function copyToDirectory(dir: string, file: StagedFile): Promise<'adler32'> {
  const target = path.join(dir, path.basename(file.path));
  // Written under a temporary name and renamed: a reader never sees half a tarball.
  const partial = `${target}.part-${process.pid}`;
  try {
    mkdirSync(dir, { recursive: true });
    copyFileSync(file.path, partial);
    const copied = await adler32File(partial);
    if (copied !== file.adler32 || statSync(partial).size !== file.size) {
      throw new VerificationError(`${partial}: copy's adler32 ${copied} differs from the file's ${file.adler32}`);
    }
    renameSync(partial, target);
    return 'adler32';
  } catch (err) {
    try {
      rmSync(partial, { force: true });
    } catch {
      // the directory itself is unusable (not a directory, no permission): nothing was written
    }
    if (err instanceof VerificationError) throw err;
    // A full or read-only file system does not heal in seconds: not retried.
    throw new PilotError(ErrorCode.STAGEOUTFAILED, `cannot copy ${path.basename(file.path)} to ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Stages the file out. Throws PilotError: 1152 when the last attempt timed
 * out, 1137 for every other failure. The caller keeps the job's own result.
 */
export async function stageOut(
  dest: LogDestination,
  file: StagedFile,
  deps: { http: HttpTransport; log: Logger; signal: AbortSignal; settings?: StageOutSettings | undefined },
): Promise<StageOutResult> {
  const settings = deps.settings ?? DEFAULT_STAGEOUT;
  const started = Date.now();
  const surl = destinationUrl(dest, path.basename(file.path));
  let attempts = 0;
  const attempt = async (): Promise<'adler32' | 'size'> => {
    attempts++;
    switch (dest.kind) {
      case 'directory':
        return copyToDirectory(dest.dir, file);
      case 'webdav':
        return putWebdav(deps.http, surl as string, file, settings, deps.signal);
      case 'access-point':
      case 'none':
        throw new Error(`nothing to send for destination ${dest.kind}`);
      default:
        return assertNever(dest);
    }
  };
  switch (dest.kind) {
    case 'none':
      return { kind: 'not-configured' };
    case 'access-point':
      // Harvester stages it out from the access point (docs/harvester.md); the pilot only leaves it there.
      return { kind: 'left', dir: dest.dir };
    case 'directory':
    case 'webdav':
      break;
    default:
      return assertNever(dest);
  }
  try {
    const verifiedBy = await retry(attempt, {
      signal: deps.signal,
      backoff: settings.backoff,
      maxAttempts: settings.maxAttempts,
      retryable: retryableTransfer,
      sleep: settings.sleep,
      onFailure: (err, n, willRetry) =>
        deps.log.warn(
          { event: 'stageout_attempt_failed', attempt: n, willRetry, err: (err as Error).message, destination: surl },
          'log stage-out attempt failed',
        ),
    });
    return { kind: 'stored', surl: surl as string, verifiedBy, attempts, ms: Date.now() - started };
  } catch (err) {
    if (err instanceof PilotError) throw err;
    const timedOut = err instanceof TransportError && err.kind === 'timeout';
    const code = timedOut ? ErrorCode.STAGEOUTTIMEOUT : ErrorCode.STAGEOUTFAILED;
    const where = dest.kind === 'webdav' ? new URL(dest.baseUrl).host : 'destination';
    const why = err instanceof HttpStatusError ? `HTTP ${err.status}${err.body ? ` ${err.body.trim().slice(0, 120)}` : ''}` : (err as Error).message;
    throw new PilotError(code, `${why} (${where}, ${attempts} attempt${attempts === 1 ? '' : 's'}, ${surl})`, { cause: err });
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected destination ${JSON.stringify(x)}`);
}
