/**
 * The stub as storage and cache: files round-trip with their adler32, and
 * paths that would leave its directory are refused.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adler32Reference } from '../support/adler32.js';
import { startTestStub } from '../support/stub-harness.js';

let stub: Awaited<ReturnType<typeof startTestStub>>;
beforeAll(async () => {
  stub = await startTestStub();
});
afterAll(async () => stub?.stop());

describe('stub /storage/ and /cache/', () => {
  it('stores a PUT, answers HEAD with Want-Digest: adler32, serves it back', async () => {
    const body = Buffer.from('x'.repeat(100_000) + 'end');
    const put = await fetch(`${stub.url}/storage/logs/a.log.tgz`, { method: 'PUT', body });
    expect(put.status).toBe(201);
    expect(put.headers.get('digest')).toBe(`adler32=${adler32Reference(body)}`);
    const head = await fetch(`${stub.url}/storage/logs/a.log.tgz`, { method: 'HEAD', headers: { 'Want-Digest': 'ADLER32' } });
    expect(head.headers.get('digest')).toBe(`adler32=${adler32Reference(body)}`);
    expect(head.headers.get('content-length')).toBe(String(body.length));
    expect(Buffer.from(await (await fetch(`${stub.url}/storage/logs/a.log.tgz`)).arrayBuffer()).equals(body)).toBe(true);
    const again = await fetch(`${stub.url}/storage/logs/a.log.tgz`, { method: 'PUT', body: 'new' });
    expect(again.status).toBe(204);
    const list = (await (await fetch(`${stub.url}/stub/storage`)).json()) as { files: unknown[] };
    expect(list.files).toEqual([{ path: 'logs/a.log.tgz', size: 3, adler32: adler32Reference(Buffer.from('new')) }]);
  });

  it.each(['..%2F..%2Fescape', 'logs/..%2F..%2F..%2Fescape', '.hidden', 'x%00y'])('refuses the path %s', async (p) => {
    const put = await fetch(`${stub.url}/storage/${p}`, { method: 'PUT', body: 'pwned' });
    expect(put.status).toBe(400);
    expect(existsSync(path.join(stub.dataDir, 'escape'))).toBe(false);
    expect(existsSync(path.join(path.dirname(stub.dataDir), 'escape'))).toBe(false);
  });

  it('a cache name is one path segment; queue data under /cache/schedconfig/ is not shadowed', async () => {
    expect((await fetch(`${stub.url}/cache/user.x.00000001.tar.gz`, { method: 'PUT', body: 'sb' })).status).toBe(201);
    expect(await (await fetch(`${stub.url}/cache/user.x.00000001.tar.gz`)).text()).toBe('sb');
    expect((await fetch(`${stub.url}/cache/schedconfig/NOPE.all.json`)).status).toBe(404);
    expect((await fetch(`${stub.url}/cache/missing.tgz`)).status).toBe(404);
  });
});
