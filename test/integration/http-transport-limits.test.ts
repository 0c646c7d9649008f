/** Replies are capped (16 MB default): a reply that grows past the cap is cut off and the request fails. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MAX_REPLY_BYTES, HttpTransport } from '../../pilot/src/server/index.js';
import { TransportError } from '../../pilot/src/errors/index.js';

let server: Server;
let base: string;
let streamedBytes = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/declared') {
      res.writeHead(200, { 'content-length': String(DEFAULT_MAX_REPLY_BYTES + 1) });
      res.write('x'.repeat(1024));
      return; // never finishes: the client must not wait for the rest
    }
    if (req.url === '/small') return void res.end('ok');
    // Chunked, no length: 1 MB at a time for up to 64 MB, stopping when the client goes away.
    const chunk = Buffer.alloc(1024 * 1024, 'y');
    let sent = 0;
    const pump = () => {
      while (sent < 64 && !res.destroyed) {
        sent += 1;
        streamedBytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => undefined);
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('reply size cap', () => {
  it('cuts a growing reply just past 16 MB and fails the request', async () => {
    const http = new HttpTransport({ baseUrl: base, timeoutMs: 60_000, env: {} });
    const err = await http.send('GET', '/stream', undefined, {}).catch((e: unknown) => e);
    await http.close();
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/\/stream is larger than 16777216 bytes/);
    // The server stopped well before its 64 MB: the client hung up at the cap.
    expect(streamedBytes).toBeLessThan(48 * 1024 * 1024);
  });

  it('refuses a reply whose declared length is over the cap without reading it', async () => {
    const http = new HttpTransport({ baseUrl: base, timeoutMs: 60_000, env: {} });
    const err = await http.send('GET', '/declared', undefined, {}).catch((e: unknown) => e);
    await http.close();
    expect((err as Error).message).toMatch(/\/declared is larger than 16777216 bytes/);
  });

  it('a smaller cap applies, and small replies pass', async () => {
    const http = new HttpTransport({ baseUrl: base, timeoutMs: 60_000, env: {}, maxReplyBytes: 1000 });
    expect((await http.send('GET', '/small', undefined, {})).body).toBe('ok');
    await expect(http.send('GET', '/stream', undefined, {})).rejects.toThrow(/larger than 1000 bytes/);
    await http.close();
  });
});
