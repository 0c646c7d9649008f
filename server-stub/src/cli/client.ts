/** The CLI's calls to a running stub's management API. */

/** A failed call, with the stub's error text. */
export class StubClientError extends Error {
  override readonly name = 'StubClientError';
}

async function call(method: 'GET' | 'POST', url: string, body?: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body });
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

/** Submits a task file's text; returns the stub's answer. */
export function submitTaskFile(base: string, text: string): Promise<unknown> {
  return call('POST', join(base, '/stub/tasks'), text);
}

/** Lists jobs, optionally of one task. */
export function listJobs(base: string, taskId?: number): Promise<unknown> {
  return call('GET', join(base, `/stub/jobs${taskId === undefined ? '' : `?task=${taskId}`}`));
}
