/**
 * Where a job's log tarball goes when it leaves the node, as a closed set of
 * kinds. Choosing one is a pure function of the facts (flag, queue data, push
 * mode), so the rules are tested without any I/O.
 */
import path from 'node:path';

/**
 * - `directory`: a shared file system the site mounts on workers.
 * - `webdav`: HTTP(S) PUT into a collection (dCache, XRootD, EOS, StoRM all speak it).
 * - `access-point`: push mode — the file stays where Harvester picks it up; nothing is sent.
 * - `none`: no destination configured; the tarball stays in the job dir.
 */
export type LogDestination =
  | { kind: 'directory'; dir: string; from: DestinationSource }
  | { kind: 'webdav'; baseUrl: string; from: DestinationSource }
  | { kind: 'access-point'; dir: string }
  | { kind: 'none' };

export type DestinationSource = 'flag' | 'queue data';

/** The facts a destination is chosen from. */
export interface DestinationFacts {
  /** `--log-destination URL|DIR`. */
  flag: string | undefined;
  /** The queue data's copytools (`{tool: {log_destination: URL}}`), site config included (it is what the queue data is made from). */
  copytools: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined;
  /** Push mode: Harvester's access point, where the log is left instead. */
  harvesterAccessPoint: string | undefined;
}

export class DestinationError extends Error {
  override readonly name = 'DestinationError';
}

/** `file:///dir`, `/dir`, `http(s)://host/collection` → a destination; anything else is refused. */
export function parseDestination(text: string, from: DestinationSource): Exclude<LogDestination, { kind: 'access-point' } | { kind: 'none' }> {
  const t = text.trim();
  if (t.startsWith('/')) return { kind: 'directory', dir: path.resolve(t), from };
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    throw new DestinationError(`log destination ${JSON.stringify(t)} is neither an absolute directory nor a URL`);
  }
  if (url.protocol === 'file:') {
    if (url.host !== '' && url.host !== 'localhost') throw new DestinationError(`file URL ${t} names a host; use file:///dir`);
    return { kind: 'directory', dir: path.resolve(decodeURIComponent(url.pathname)), from };
  }
  if (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'davs:' || url.protocol === 'dav:') {
    if (url.username || url.password)
      throw new DestinationError('a log destination URL must not carry credentials; the pilot sends its own token or certificate');
    // davs:// is WebDAV over https as dCache and Rucio spell it.
    const scheme = url.protocol === 'davs:' ? 'https:' : url.protocol === 'dav:' ? 'http:' : url.protocol;
    const rest = t.slice(t.indexOf('//'));
    return { kind: 'webdav', baseUrl: `${scheme}${rest}`.replace(/\/+$/, ''), from };
  }
  throw new DestinationError(`log destination ${t}: scheme ${url.protocol} is not supported (file://, http(s)://, davs://)`);
}

/** The first copytool entry that names a log destination. */
function fromCopytools(copytools: DestinationFacts['copytools']): string | undefined {
  for (const settings of Object.values(copytools ?? {})) {
    const value = settings.log_destination;
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

/** Push mode wins (Harvester stages out), then the flag, then the queue data. Throws DestinationError for a bad value. */
export function chooseLogDestination(facts: DestinationFacts): LogDestination {
  if (facts.harvesterAccessPoint) return { kind: 'access-point', dir: facts.harvesterAccessPoint };
  if (facts.flag) return parseDestination(facts.flag, 'flag');
  const queued = fromCopytools(facts.copytools);
  if (queued) return parseDestination(queued, 'queue data');
  return { kind: 'none' };
}

/** Where the file will be found afterwards: the `surl` of the output report. */
export function destinationUrl(dest: LogDestination, fileName: string): string | null {
  switch (dest.kind) {
    case 'directory':
      return `file://${path.join(dest.dir, fileName)}`;
    case 'webdav':
      return `${dest.baseUrl}/${encodeURIComponent(fileName)}`;
    case 'access-point':
      return null;
    case 'none':
      return null;
    default:
      return assertNever(dest);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected destination ${JSON.stringify(x)}`);
}
