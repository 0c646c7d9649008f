/**
 * The pilot's stage-out against real HTTP servers on loopback that answer as
 * storage does — and as broken storage does: a digest that disagrees, no
 * digest at all, no answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { HttpTransport } from '../../pilot/src/server/index.js';
import { parseDestination, stageOut, type StageOutSettings } from '../../pilot/src/transfer/index.js';
import { PilotError } from '../../pilot/src/errors/index.js';
import { adler32Reference } from '../support/adler32.js';

const log = pino({ level: 'silent' });
const settings: StageOutSettings = { timeoutMs: 10_000, maxAttempts: 3, backoff: { initialMs: 10, maxMs: 20, factor: 2, jitter: 0 } };
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function tarball(bytes = 200_000) {
  const dir = mkdtempSync(path.join(tmpdir(), 'stageout-'));
  const file = path.join(dir, 'job.log.tgz');
  const data = randomBytes(bytes);
  writeFileSync(file, data);
  return { path: file, size: bytes, adler32: adler32Reference(data) };
}

describe('stageOut over HTTP', () => {
  it('retries a copy whose digest disagrees, and succeeds when it matches', async () => {
    let stored: Buffer = Buffer.alloc(0);
    let heads = 0;
    const url = await serve((req, res, body) => {
      if (req.method === 'PUT') stored = body;
      if (req.method === 'HEAD') {
        heads++;
        // The first copy "arrives damaged": its digest is that of other bytes.
        const digest = heads === 1 ? adler32Reference(Buffer.from('damaged')) : adler32Reference(stored);
        res.writeHead(200, { digest: `adler32=${digest}`, 'content-length': stored.length });
        return res.end();
      }
      res.writeHead(201).end();
    });
    const file = tarball();
    const http = new HttpTransport({ baseUrl: url, timeoutMs: 5_000 });
    const result = await stageOut(parseDestination(`${url}/dav`, 'flag'), file, { http, log, signal: new AbortController().signal, settings });
    await http.close();
    expect(result).toMatchObject({ kind: 'stored', surl: `${url}/dav/job.log.tgz`, verifiedBy: 'adler32', attempts: 2 });
    expect(stored.equals(Buffer.from(await import('node:fs').then((fs) => fs.readFileSync(file.path))))).toBe(true);
  });

  it('checks the size when the storage gives no digest, and fails 1137 when it is wrong', async () => {
    const url = await serve((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(200, { 'content-length': 5 }).end();
      res.writeHead(201).end();
    });
    const http = new HttpTransport({ baseUrl: url, timeoutMs: 5_000 });
    const err = await stageOut(parseDestination(`${url}/dav`, 'flag'), tarball(), { http, log, signal: new AbortController().signal, settings }).catch(
      (e: unknown) => e,
    );
    await http.close();
    expect(err).toBeInstanceOf(PilotError);
    expect((err as PilotError).code).toBe(1137);
    expect((err as PilotError).diagnostic).toMatch(/holds 5 bytes, the file has 200000.*3 attempts/);
  });

  it('a storage that never answers → 1152 after the attempts', async () => {
    const url = await serve(() => undefined);
    const http = new HttpTransport({ baseUrl: url, timeoutMs: 5_000 });
    const err = await stageOut(parseDestination(`${url}/dav`, 'flag'), tarball(), {
      http,
      log,
      signal: new AbortController().signal,
      settings: { ...settings, timeoutMs: 300, maxAttempts: 2 },
    }).catch((e: unknown) => e);
    await http.close();
    expect((err as PilotError).code).toBe(1152);
    expect((err as PilotError).diagnostic).toMatch(/2 attempts/);
  });

  it('a refusal (4xx) is an answer: no retry', async () => {
    let puts = 0;
    const url = await serve((req, res) => {
      if (req.method === 'PUT') puts++;
      res.writeHead(403).end('no');
    });
    const http = new HttpTransport({ baseUrl: url, timeoutMs: 5_000 });
    const err = await stageOut(parseDestination(`${url}/dav`, 'flag'), tarball(), { http, log, signal: new AbortController().signal, settings }).catch(
      (e: unknown) => e,
    );
    await http.close();
    expect((err as PilotError).code).toBe(1137);
    expect(puts).toBe(1);
  });
});
