/**
 * No request can stop the stub: malformed targets, methods, headers, bodies,
 * gzip bombs, too many requests at once, clients that stall — and a fuzz run
 * of 10,000 random requests, each answered with an error, the stub alive after.
 */
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPLEMENTED_LEGACY_METHODS, startStub, type RunningStub } from '../../server-stub/src/index.js';
import { simpleTask, submitTasks, tempDir } from '../support/stub-harness.js';

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);
let stub: RunningStub;
let cleanup: () => void;
const MAX_BODY = 256 * 1024;
const MAX_INFLATED = 1024 * 1024;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const dir = tempDir();
  cleanup = dir.cleanup;
  stub = await startStub({
    port: 0,
    dataDir: dir.dir,
    http: { maxBodyBytes: MAX_BODY, maxInflatedBytes: MAX_INFLATED, maxConcurrent: 64, headersTimeoutMs: 2_000, requestTimeoutMs: 3_000 },
  });
  await submitTasks(stub.url, simpleTask({ count: 5 }));
});
afterAll(async () => {
  await stub.close();
  cleanup();
  process.off('unhandledRejection', onUnhandled);
});

/** Sends bytes as they are and returns the status of the first reply (null: closed without one). */
function raw(text: string | Buffer, waitMs = 10_000, halfClose = true): Promise<{ status: number | null; text: string }> {
  const { port } = new URL(stub.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no reply within ${waitMs} ms, got ${JSON.stringify(got)}`))), waitMs);
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve({ status: m ? Number(m[1]) : null, text: got });
    });
    socket.write(text);
    // Half-close so a keep-alive server ends the connection after its reply.
    if (halfClose) socket.end();
  });
}

async function alive(): Promise<void> {
  const res = await fetch(`${stub.url}/stub/summary`);
  expect(res.status).toBe(200);
  expect((await res.json()) as { jobs: Record<string, number> }).toHaveProperty('jobs');
}

describe('malformed request targets and methods', () => {
  it.each([
    ['//', 404],
    ['//x/y', 404],
    ['/%zz', 400],
    ['/server/panda/getJob%zz', 400],
    ['/server/panda/%E0%A4%A', 400],
    ['http://evil.invalid/stub/summary', 400],
    ['*', 400],
    ['/nowhere?%zz=%zz', 404],
  ])('GET %s → %i, and the stub lives on', async (target, status) => {
    const reply = await raw(`GET ${target} HTTP/1.1\r\nhost: x\r\n\r\n`);
    expect(reply.status).toBe(status);
    await alive();
  });

  it('answers methods it does not serve with 405/404 and garbage request lines with 400', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND']) {
      const reply = await raw(`${method} /stub/summary HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n`);
      expect(reply.status, method).toBe(405);
    }
    expect((await raw('BR@KEN / HTTP/1.1\r\n\r\n')).status).toBe(400);
    expect((await raw('GET / HTTP/9.9\r\n\r\n')).status).not.toBe(200);
    expect((await raw('\x00\x01\x02garbage\r\n\r\n')).status).toBe(400);
    expect((await raw(`GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(100_000)}\r\n\r\n`)).status).toBe(431);
    expect((await raw('GET / HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n')).status).toBe(400);
    await alive();
  });
});

describe('bodies', () => {
  const post = (path: string, body: Buffer, headers: Record<string, string> = {}) =>
    fetch(`${stub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('refuses a body over the limit with 413, by Content-Length before reading it and by counting when chunked', async () => {
    const big = Buffer.alloc(MAX_BODY + 1, 0x61);
    expect((await post('/server/panda/updateJob', big)).status).toBe(413);
    const chunked = await raw(
      `POST /server/panda/updateJob HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${(MAX_BODY + 10).toString(16)}\r\n${'a'.repeat(MAX_BODY + 10)}\r\n0\r\n\r\n`,
    );
    expect(chunked.status).toBe(413);
    await alive();
  });

  it('refuses a gzip bomb with 413 without inflating it', async () => {
    // 1 GB of zeros compresses to about 1 MB; inflating it would take 1 GB of memory.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const before = process.memoryUsage().arrayBuffers;
    const reply = await post('/server/panda/updateJob', bomb);
    expect(reply.status).toBe(413);
    expect(await reply.text()).toMatch(/inflates to more than/);
    // The bomb's 64 MB never existed at once in this process (the stub is in-process).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    // gzip inside gzip: the inner layer has the same ceiling.
    const nested = gzipSync(bomb);
    expect((await post('/stub/tasks', nested)).status).toBe(413);
    await alive();
  });

  it('refuses broken gzip, broken JSON, JSON that is not an object and forms of junk clearly', async () => {
    expect((await post('/server/panda/updateJob', Buffer.from([0x1f, 0x8b, 1, 2, 3]))).status).toBe(400);
    expect((await post('/server/panda/updateJob', Buffer.from('{"jobId":'))).status).toBe(400);
    expect((await post('/server/panda/updateJob', Buffer.from('[1,2]'))).status).toBe(400);
    expect((await post('/stub/tasks', Buffer.from('{"name":'))).status).toBe(400);
    const form = await post('/server/panda/updateJob', Buffer.from('%zz=%&&==&jobId=%E0%A4%A'), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBeGreaterThanOrEqual(400);
    await alive();
  });

  it('drops a client that never finishes its request (request timeout) and keeps serving', async () => {
    const reply = await raw('POST /server/panda/updateJob HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc', 30_000, false);
    expect([408, null]).toContain(reply.status);
    await alive();
  });
});

describe('concurrent request cap', () => {
  it('answers 503 with Retry-After beyond the cap, and serves again after', async () => {
    // 80 requests whose bodies never finish hold 64 slots; the rest must be refused at once.
    const { port } = new URL(stub.url);
    const sockets = Array.from({ length: 80 }, () => connect(Number(port), '127.0.0.1'));
    // The 16+ beyond the cap are answered at once; the 64 held ones would wait for the request timeout, so stop there.
    const refused: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${refused.length} refusals`)), 30_000);
      for (const s of sockets) {
        s.on('error', () => undefined);
        s.on('data', (d: Buffer) => {
          if (d.toString().startsWith('HTTP/1.1 503')) refused.push(d.toString());
          if (refused.length >= 16) (clearTimeout(timer), resolve());
        });
        s.write('POST /server/panda/updateJob HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nab');
      }
    });
    for (const s of sockets) s.destroy();
    expect(refused.length).toBeGreaterThanOrEqual(16);
    expect(refused[0]).toMatch(/retry-after: 1/i);
    // The held requests give their slots back once their clients are gone (no leak under the cap).
    const until = Date.now() + 20_000;
    while ((await fetch(`${stub.url}/stub/summary`)).status === 503) {
      if (Date.now() > until) throw new Error('slots of closed requests were never given back');
      await new Promise((r) => setTimeout(r, 100));
    }
    await alive();
  });
});

/** A deterministic PRNG so a failure can be replayed with the printed seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz', () => {
  it('answers 10,000 random malformed requests each with an error and stays alive', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    process.stderr.write(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)\n`);
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const junk = (n: number) => Array.from({ length: Math.floor(rnd() * n) }, () => String.fromCharCode(Math.floor(rnd() * 256))).join('');
    const pathJunk = () => pick(['%zz', '%', '%00', '..', '//', '%E0%A4%A', '~', '%2F', 'x'.repeat(300), encodeURIComponent(junk(20))]);
    // Every method the stub answers, one the real server knows but the stub does not (501), and junk (403).
    const legacyMethods = [...IMPLEMENTED_LEGACY_METHODS, 'getKeyPair', 'x'];
    const v1 = [
      'pilot/acquire_jobs',
      'pilot/update_job',
      'pilot/update_jobs_bulk',
      'pilot/get_job_status',
      'event/acquire_event_ranges',
      'event/update_event_ranges',
      'nope/nope',
    ];
    const bodies = (): Buffer =>
      pick([
        () => Buffer.from(junk(200), 'latin1'),
        () => Buffer.from(`{"fuzz${Math.floor(rnd() * 1e6)}":${pick(['1', '"x"', 'null', '[', '{}', '1e999', '"\\ud800"'])}}`),
        () => Buffer.from(pick(['{', '[]', 'null', '"x"', '1', '{"jobId":'])),
        () => gzipSync(Buffer.from(`{"fuzz":${JSON.stringify(junk(30))}}`)),
        () => Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from(junk(50), 'latin1')]),
        () => Buffer.from(`fuzz=${encodeURIComponent(junk(10))}&jobId=${pick(['%zz', 'x', '-1', '1e9', ''])}&state=${pick(['running', '%', 'x'])}`),
        () => Buffer.alloc(0),
      ])();
    type Req = { method: string; path: string; headers: Record<string, string>; body: Buffer; ok: (status: number, text: string) => boolean };
    const isError = (status: number) => status >= 400 && status <= 599;
    // A v1 refusal is HTTP 200 with success:false (that is the server's error answer); everything else must be 4xx/5xx.
    const v1Refusal = (status: number, text: string) => isError(status) || (status === 200 && /"success":false/.test(text));
    const make = (): Req => {
      const kind = Math.floor(rnd() * 5);
      const method = pick(['GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
      const headers: Record<string, string> = {};
      if (rnd() < 0.8)
        headers['content-type'] = pick(['application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=x', '', '*/*;;;']);
      if (rnd() < 0.3) headers.accept = pick(['application/json', '*/*', 'x']);
      if (rnd() < 0.2) headers['x-panda-update-seq'] = pick(['1:1:1', 'x', '{', '99999999999999999999:1:1']);
      if (rnd() < 0.1) headers['content-encoding'] = pick(['gzip', 'br', 'x']);
      const body = method === 'GET' ? Buffer.alloc(0) : bodies();
      switch (kind) {
        case 0:
          return { method, path: `/${pathJunk()}/${pathJunk()}/z`, headers, body, ok: isError };
        case 1:
          // An unknown parameter name is a TypeError on the legacy server (500); unknown methods are 403.
          return { method, path: `/server/panda/${pick(legacyMethods)}?fuzz${Math.floor(rnd() * 100)}=${pathJunk()}`, headers, body, ok: isError };
        case 2:
          return { method, path: `/api/v1/${pick(v1)}?fuzz=${pathJunk()}`, headers, body, ok: v1Refusal };
        case 3:
          return {
            method: pick(['POST', 'PUT']),
            path: pick(['/stub/tasks', '/stub/jobs/x/kill', '/stub/jobs/99999999/kill']),
            headers,
            body: bodies(),
            ok: isError,
          };
        default:
          return { method, path: `/server/panda/${pathJunk()}${pick(['', '/', '?', '#'])}`, headers, body, ok: isError };
      }
    };
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const send = (r: Req) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(
          `${stub.url}${r.path}`,
          { method: r.method, headers: { ...r.headers, 'content-length': String(r.body.length) }, agent, timeout: 30_000 },
          (res) => {
            let text = '';
            res.setEncoding('latin1');
            res.on('data', (d: string) => (text += d.slice(0, 4096)));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`timeout: ${r.method} ${r.path}`)));
        req.on('error', reject);
        req.end(r.body);
      });
    const N = 10_000;
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < N) {
        next += 1;
        const r = make();
        let reply: { status: number; text: string };
        try {
          reply = await send(r);
        } catch (err) {
          // The target itself does not parse on the client side (node refuses to send it): not the stub's doing.
          if ((err as NodeJS.ErrnoException).code === 'ERR_UNESCAPED_CHARACTERS' || (err as NodeJS.ErrnoException).code === 'ERR_INVALID_CHAR') continue;
          failures.push(`${r.method} ${r.path}: ${(err as Error).message}`);
          continue;
        }
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (!r.ok(reply.status, reply.text)) failures.push(`${r.method} ${r.path} ${JSON.stringify(r.headers)} → ${reply.status} ${reply.text.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    agent.destroy();
    process.stderr.write(`fuzz statuses: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    expect(failures.slice(0, 10)).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(N * 0.9);
    expect(unhandled).toEqual([]);
    await alive();
  }, 300_000);
});
