/**
 * A server that hands out broken job descriptions: the pilot must refuse
 * each with a clear error, report it to the job it names, and not crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { decodeForm } from '../../pilot/src/protocol/index.js';
import { runPilotProcess, scratchDir } from '../support/processes.js';

const good = decodeForm(readFileSync('test/fixtures/getjob-rubin-legacy.txt', 'utf8'));

interface Seen {
  method: string;
  params: Record<string, string>;
}

function legacyServer(jobs: Record<string, unknown>[]) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const method = (req.url ?? '').replace('/server/panda/', '');
      seen.push({ method, params: decodeForm(body) });
      res.setHeader('Content-Type', 'application/json');
      if (method === 'getJob') {
        const job = jobs.shift();
        res.end(JSON.stringify(job ? { StatusCode: 0, ...job } : { StatusCode: 20 }));
      } else if (method === 'updateJob') {
        res.end(JSON.stringify({ StatusCode: 0, command: 'NULL' }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
  });
  return { server, seen };
}

describe('pilot and a malformed job description', () => {
  let fake: ReturnType<typeof legacyServer>;
  let url = '';
  beforeAll(async () => {
    const { PandaID: _x, ...noId } = good;
    fake = legacyServer([noId, { ...good, PandaID: '777', coreCount: 'many' }, { ...good, PandaID: '778', logFile: '../../escape.tgz' }]);
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => fake.server.close(() => r())));

  it('refuses each one clearly, reports the ones it can name, and exits normally', async () => {
    const run = await runPilotProcess(
      ['-q', 'SLAC_Rubin', '--url', url, '--api', 'legacy', '-a', scratchDir('malformed'), '--getjob-wait', '0', '--log-level', 'info'],
      {
        timeoutMs: 30_000,
      },
    );
    expect(run.code).toBe(0);
    const updates = fake.seen.filter((s) => s.method === 'updateJob');
    expect(updates.map((u) => [u.params.jobId, u.params.state, u.params.pilotErrorCode])).toEqual([
      ['777', 'failed', '1008'],
      ['778', 'failed', '1008'],
    ]);
    expect(updates[0]?.params.pilotErrorDiag).toMatch(/malformed job description: coreCount must be an integer/);
    expect(updates[1]?.params.pilotErrorDiag).toMatch(/logFile must be a plain file name/);
    expect(run.stderr).toMatch(/PandaID is missing/);
    // Only names a real server accepts went on the wire.
    for (const u of updates) expect(Object.keys(u.params).every((k) => /^[A-Za-z_]+$/.test(k))).toBe(true);
  });
});
