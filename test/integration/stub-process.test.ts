/**
 * The bundled stub as a real child process: the `listening` line, the CLI,
 * clean SIGTERM, no loss after `kill -9`, and atomic dispatch between two
 * stub processes sharing one database.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, STUB_BUNDLE, buildStubBundle, get, postForm, postJson, simpleTask, spawnStub, tempDir, type StubProcess } from '../support/stub-harness.js';

const running: StubProcess[] = [];
const temp = tempDir('panda-stub-proc-');

beforeAll(() => buildStubBundle());
afterAll(() => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  temp.cleanup();
});

async function start(dataDir: string): Promise<StubProcess> {
  const p = await spawnStub(dataDir);
  running.push(p);
  return p;
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [STUB_BUNDLE, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('panda-stub as a process', () => {
  it('loses no task, job or update after kill -9, and carries on after a restart', async () => {
    const dataDir = join(temp.dir, 'restart');
    const first = await start(dataDir);
    const file = join(temp.dir, 'tasks.json');
    writeFileSync(file, JSON.stringify(simpleTask({ name: 'survivor', count: 3, maxAttempts: 2 })));
    const submitted = cli('submit', file, '--url', first.url, '--data', dataDir);
    expect(submitted.status).toBe(0);
    const taskId = Number(submitted.stdout.trim());
    expect(taskId).toBeGreaterThan(1000);

    const got = new URLSearchParams((await postForm(`${first.url}/server/panda/getJob`, { siteName: 'LOCAL_Rubin' })).text);
    const id = Number(got.get('PandaID'));
    await postForm(`${first.url}/server/panda/updateJob`, { jobId: id, state: 'running', attemptNr: 1 }, { 'X-PanDA-Update-Seq': `${id}:1:1` });
    await postJson(`${first.url}/api/v1/pilot/update_job`, {
      job_id: id,
      job_status: 'failed',
      attempt_nr: 1,
      pilot_error_code: 1305,
      pilot_error_diag: 'exit 3',
    });
    const before = JSON.parse((await get(`${first.url}/stub/jobs/${id}`)).text);
    // `requests` counts calls served by one stub process, so it starts again at 0; everything else is state.
    const { requests: _served, ...summaryBefore } = JSON.parse((await get(`${first.url}/stub/summary`)).text);

    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await start(dataDir);
    const after = JSON.parse((await get(`${second.url}/stub/jobs/${id}`)).text);
    expect(after).toEqual(before);
    expect(after.updates).toHaveLength(2);
    expect(after.job).toMatchObject({ state: 'failed', report: { pilotErrorCode: 1305, pilotErrorDiag: 'exit 3' } });
    const { requests: servedAfter, ...summaryAfter } = JSON.parse((await get(`${second.url}/stub/summary`)).text);
    expect(summaryAfter).toEqual(summaryBefore);
    expect(servedAfter).toEqual({ total: 0, byMethod: {}, byAgent: {} });
    const tasks = JSON.parse((await get(`${second.url}/stub/tasks`)).text).tasks;
    expect(tasks.map((t: any) => [t.taskId, t.name])).toEqual([[taskId, 'survivor']]);

    // The retry made before the crash is still there and is handed out next; ids continue, not restart.
    const next = new URLSearchParams((await postForm(`${second.url}/server/panda/getJob`, { siteName: 'LOCAL_Rubin', nJobs: 5 })).text);
    const ids = (JSON.parse(next.get('jobs') ?? '[]') as { PandaID: number; attemptNr: number }[]).map((j) => [j.PandaID, j.attemptNr]);
    expect(ids).toEqual([
      [id + 1, 1],
      [id + 2, 1],
      [id + 3, 2],
    ]);

    const status = cli('status', '--url', second.url, '--task', String(taskId));
    expect(status.status).toBe(0);
    const lines = status.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PandaID\s+task\s+name\s+attempt\s+state\s+pilotErrorCode\s+diag$/);
    expect(lines).toHaveLength(5);
    expect(lines.find((l) => l.startsWith(String(id)))).toMatch(/failed\s+1305\s+exit 3$/);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('two stub processes on one database never hand out the same job', async () => {
    const dataDir = join(temp.dir, 'shared');
    const a = await start(dataDir);
    const b = await start(dataDir);
    const n = 60;
    expect((await postJson(`${a.url}/stub/tasks`, simpleTask({ count: n }))).status).toBe(201);
    const ask = async (url: string) => {
      const form = new URLSearchParams((await postForm(`${url}/server/panda/getJob`, { siteName: 'LOCAL_Rubin' })).text);
      return form.get('StatusCode') === '0' ? Number(form.get('PandaID')) : null;
    };
    const replies = await Promise.all(Array.from({ length: n + 20 }, (_, i) => ask(i % 2 ? a.url : b.url)));
    const ids = replies.filter((x): x is number => x !== null);
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
    a.child.kill('SIGTERM');
    b.child.kill('SIGINT');
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);
  });

  it('the CLI refuses an invalid task file with the field named, and an unreachable URL clearly', async () => {
    const stub = await start(join(temp.dir, 'cli'));
    const bad = join(temp.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 't', site: 'S', command: 'x', memoryMB: -1 }));
    const refused = cli('submit', bad, '--url', stub.url, '--data', join(temp.dir, 'cli'));
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/HTTP 400: invalid task file\n\s+memoryMB: /);
    stub.child.kill('SIGTERM');
    const offline = cli('submit', bad, '--url', 'http://127.0.0.1:9');
    expect(offline.status).toBe(2);
    expect(offline.stderr).toMatch(/cannot reach/);
  });
});
