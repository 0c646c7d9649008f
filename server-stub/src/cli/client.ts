/** The CLI's calls to a running stub's management API. */

/** A failed call, with the stub's error text. */
export class StubClientError extends Error {
  override readonly name = 'StubClientError';
}

async function call(method: 'GET' | 'POST', url: string, body?: string, token?: string): Promise<unknown> {
  let res: Response;
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    res = await fetch(url, { method, headers, body });
  } catch (err) {
    throw new StubClientError(`cannot reach ${url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // leave as text
  }
  if (!res.ok) {
    const v = value as { error?: string; errors?: string[] };
    const detail = v && typeof v === 'object' ? [v.error, ...(v.errors ?? [])].filter(Boolean).join('\n  ') : text;
    throw new StubClientError(`${method} ${url}: HTTP ${res.status}: ${detail}`);
  }
  return value;
}

const join = (base: string, path: string) => `${base.replace(/\/+$/, '')}${path}`;

/** Submits a task file's text with the management token (null: an `--open` stub); returns the stub's answer. */
export function submitTaskFile(base: string, text: string, token: string | null): Promise<unknown> {
  return call('POST', join(base, '/stub/tasks'), text, token ?? undefined);
}

/**
 * The management token: `PANDA_STUB_TOKEN`, else the `stub-token` file the stub
 * wrote in its data dir (`--data DIR`), else none (the stub then says it wants one).
 */
export function managementToken(dataDir: string | undefined, env: NodeJS.ProcessEnv, read: (dir: string) => string): string | null {
  if (env.PANDA_STUB_TOKEN) return env.PANDA_STUB_TOKEN.trim();
  if (!dataDir) return null;
  try {
    return read(dataDir);
  } catch (err) {
    throw new StubClientError(
      `no management token in ${dataDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (is this the stub's --data dir?)`,
      { cause: err },
    );
  }
}

/** The stub's summary (jobs by state, updates, order violations). */
export function getSummary(base: string): Promise<unknown> {
  return call('GET', join(base, '/stub/summary'));
}

/** Tasks with their jobs counted per state. */
export function listTasks(base: string): Promise<unknown> {
  return call('GET', join(base, '/stub/tasks'));
}

/** Lists jobs, optionally of one task. */
export function listJobs(base: string, taskId?: number): Promise<unknown> {
  return call('GET', join(base, `/stub/jobs${taskId === undefined ? '' : `?task=${taskId}`}`));
}

/** The cache name of an upload: its own name's stem, made safe, and its adler32 — the same file always gets the same name. */
export function cacheName(fileName: string, adler32: string): string {
  const base = fileName.split('/').pop() ?? 'sandbox';
  const ext = /\.(tar\.gz|tgz|tar|sh|py)$/.exec(base)?.[0] ?? '';
  const stem =
    base
      .slice(0, base.length - ext.length)
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^[._-]+/, '')
      .slice(0, 60) || 'sandbox';
  return `user.${stem}.${adler32}${ext}`;
}

/** PUTs a file into the stub's cache (`/cache/<name>`) with the management token (writes need it); returns the name to put in a task. */
export async function uploadToCache(base: string, file: string, body: Buffer, adler32: string, token: string | null): Promise<string> {
  const name = cacheName(file, adler32);
  const url = join(base, `/cache/${name}`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
  } catch (err) {
    throw new StubClientError(`cannot reach ${url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new StubClientError(`PUT ${url}: HTTP ${res.status}: ${text.trim()}`);
  const stored = /adler32=([0-9a-f]{8})/.exec(res.headers.get('digest') ?? '')?.[1];
  if (stored !== adler32) throw new StubClientError(`PUT ${url}: the stub stored adler32 ${stored ?? 'none'}, the file has ${adler32}`);
  return name;
}
