/**
 * Start-up against servers that refuse the way real ones do (the texts
 * in docs/panda-protocol.md), served over loopback: the pilot switches dialect when
 * told the other one is the way in, and refused credentials end it with
 * their own exit code (68) and a message, not 79 "could not reach".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { classifyRefusal } from '../../pilot/src/server/index.js';
import { HttpStatusError, ProtocolError } from '../../pilot/src/errors/index.js';
import { runPilotProcess, scratchDir } from '../support/processes.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const srv = createServer((req, res) => {
    seen.push(`${req.method} ${req.url?.split('?')[0]}`);
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => srv.close(() => r())) };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('dialect and credentials at start-up', () => {
  it('legacy getJob "method getJob is forbidden" (is_alive unknown) → the pilot switches to v1 and goes on', async () => {
    const server = await serve((req, res) => {
      if (req.url?.startsWith('/api/v1/system/is_alive')) return json(res, 404, { detail: 'not found' });
      if (req.url?.startsWith('/server/panda/getJob')) {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        return res.end('403 Forbidden: method getJob is forbidden');
      }
      if (req.url?.startsWith('/api/v1/pilot/acquire_jobs')) return json(res, 200, { success: false, message: 'No jobs', data: null });
      json(res, 404, {});
    });
    try {
      const run = await runPilotProcess(['-q', 'DIALECT', '--url', server.url, '--getjob-wait', '0', '-a', scratchDir('dialect-work')], { timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/switching to the v1 dialect/);
      expect(server.seen).toContain('POST /api/v1/pilot/acquire_jobs');
    } finally {
      await server.close();
    }
  });

  it('legacy StatusCode 60 (no valid credentials) ends the pilot with 68 and says what is missing', async () => {
    const server = await serve((req, res) => {
      if (!req.url?.startsWith('/server/panda/getJob')) return json(res, 404, {});
      json(res, 200, { StatusCode: 60, errorDialog: 'no valid certificate' });
    });
    try {
      const run = await runPilotProcess(['-q', 'CREDS', '--url', server.url, '--api', 'legacy', '--getjob-wait', '0', '-a', scratchDir('creds-work')], {
        timeoutMs: 60_000,
      });
      expect(run.code, run.stderr).toBe(68);
      expect(run.stderr).toMatch(/refused the pilot's credentials/);
    } finally {
      await server.close();
    }
  });

  it('v1 "SSL secure connection is required" ends the pilot with 68', async () => {
    const server = await serve((req, res) => {
      if (req.url?.startsWith('/api/v1/system/is_alive')) return json(res, 200, { success: true, message: '', data: null });
      if (!req.url?.startsWith('/api/v1/pilot/acquire_jobs')) return json(res, 404, {});
      json(res, 200, { success: false, message: 'SSL secure connection is required', data: null });
    });
    try {
      const run = await runPilotProcess(['-q', 'CREDS1', '--url', server.url, '--getjob-wait', '0', '-a', scratchDir('creds1-work')], { timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(68);
      expect(run.stderr).toMatch(/requires an authenticated/);
    } finally {
      await server.close();
    }
  });

  it('classifies refusals (pure)', () => {
    expect(classifyRefusal(new HttpStatusError(403, 'method getJob is forbidden', '/server/panda/getJob'), 'legacy')).toMatchObject({
      kind: 'switch',
      to: 'v1',
    });
    expect(classifyRefusal(new HttpStatusError(404, '', '/api/v1/pilot/acquire_jobs'), 'v1')).toMatchObject({ kind: 'switch', to: 'legacy' });
    expect(classifyRefusal(new HttpStatusError(401, 'token expired', '/api/v1/pilot/acquire_jobs'), 'v1')).toMatchObject({ kind: 'credentials' });
    expect(classifyRefusal(new HttpStatusError(403, 'quota', '/x'), 'v1')).toBeNull();
    expect(classifyRefusal(new ProtocolError('getJob: StatusCode 60'), 'legacy')).toMatchObject({ kind: 'credentials' });
    expect(classifyRefusal(new ProtocolError('getJob: StatusCode 600'), 'legacy')).toBeNull();
  });

  it("one slot's refused credentials stop every slot from asking; the running job finishes and reports; then 68", async () => {
    let getJobs = 0;
    const server = await serve((req, res) => {
      if (req.url?.startsWith('/server/panda/getJob')) {
        getJobs += 1;
        // The first slot gets a job; the second is refused (StatusCode 60) while that job runs.
        if (getJobs === 1) {
          return json(res, 200, {
            StatusCode: 0,
            PandaID: 4242,
            attemptNr: 1,
            jobName: 'fatal-slot',
            transformation: 'bash-c-enc',
            jobPars: Buffer.from('sleep 2').toString('base64'),
            minRamCount: 10,
            coreCount: 1,
          });
        }
        return json(res, 200, { StatusCode: 60, errorDialog: 'no valid certificate' });
      }
      if (req.url?.startsWith('/server/panda/updateJob')) return json(res, 200, { StatusCode: 0, command: 'NULL' });
      json(res, 404, {});
    });
    try {
      const run = await runPilotProcess(
        ['-q', 'FATAL', '--url', server.url, '--api', 'legacy', '--slots', '2', '--getjob-wait', '0', '-a', scratchDir('fatal-work'), '-d'],
        { timeoutMs: 60_000 },
      );
      expect(run.code, run.stderr.slice(-3000)).toBe(68);
      expect(getJobs).toBe(2);
      const lines = run.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { event?: string; state?: string; acknowledged?: boolean });
      const fatalAt = lines.findIndex((l) => l.event === 'slot_fatal');
      const endAt = lines.findIndex((l) => l.event === 'job_end');
      expect(fatalAt).toBeGreaterThanOrEqual(0);
      // The job ended, finished and acknowledged, after the fatal error stopped the asking.
      expect(endAt).toBeGreaterThan(fatalAt);
      expect(lines[endAt]).toMatchObject({ state: 'finished', acknowledged: true });
    } finally {
      await server.close();
    }
  });
  it("a job already on its way when a sibling slot's credentials are refused still runs and reports", async () => {
    // The server marks the job sent at the first getJob but holds its reply until it has refused the
    // second slot (StatusCode 60), then 2 s more: the refusal reaches the pilot first. The job must not be
    // cut off with its request; it runs, finishes and reports, and the pilot then ends with 68.
    let getJobs = 0;
    let refused!: () => void;
    const refusal = new Promise<void>((r) => (refused = r));
    let firstAborted = false;
    const server = await serve((req, res) => {
      if (req.url?.startsWith('/server/panda/getJob')) {
        getJobs += 1;
        if (getJobs === 1) {
          res.on('close', () => (firstAborted ||= !res.writableFinished));
          void refusal.then(() =>
            setTimeout(() => {
              if (res.destroyed) return;
              json(res, 200, {
                StatusCode: 0,
                PandaID: 4343,
                attemptNr: 1,
                jobName: 'on-its-way',
                transformation: 'bash-c-enc',
                jobPars: Buffer.from('true').toString('base64'),
                minRamCount: 10,
                coreCount: 1,
              });
            }, 2_000),
          );
          return;
        }
        json(res, 200, { StatusCode: 60, errorDialog: 'no valid certificate' });
        refused();
        return;
      }
      if (req.url?.startsWith('/server/panda/updateJob')) return json(res, 200, { StatusCode: 0, command: 'NULL' });
      json(res, 404, {});
    });
    try {
      const run = await runPilotProcess(
        ['-q', 'ONITSWAY', '--url', server.url, '--api', 'legacy', '--slots', '2', '--getjob-wait', '0', '-a', scratchDir('onitsway-work')],
        { timeoutMs: 60_000 },
      );
      expect(run.code, run.stderr.slice(-3000)).toBe(68);
      expect(getJobs).toBe(2);
      expect(firstAborted, 'the pilot gave up the request that carried the job').toBe(false);
      const lines = run.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { event?: string; pandaId?: number; state?: string; acknowledged?: boolean });
      const fatalAt = lines.findIndex((l) => l.event === 'slot_fatal');
      const endAt = lines.findIndex((l) => l.event === 'job_end' && l.pandaId === 4343);
      expect(fatalAt).toBeGreaterThanOrEqual(0);
      expect(endAt).toBeGreaterThan(fatalAt);
      expect(lines[endAt]).toMatchObject({ state: 'finished', acknowledged: true });
    } finally {
      await server.close();
    }
  });
});
