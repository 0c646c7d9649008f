/**
 * Live logs: a job's stdout and its REALTIME_LOGFILES lines reach the stub's
 * Loki push endpoint while it runs; an absent log server costs the job nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { LokiShipper } from '../../pilot/src/realtime/index.js';
import { HttpTransport } from '../../pilot/src/server/index.js';
import { runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

let stub: StubProcess;
beforeAll(async () => {
  stub = await startStubProcess(scratchDir('live-stub'));
});
afterAll(async () => stub?.stop());

const chatty = {
  name: 'talk',
  command:
    'for i in 1 2 3 4 5; do echo "stdout line $i"; echo "{\\"step\\": $i}" >> steps.jsonl; sleep 0.3; done; echo partial-last-line-without-newline | tr -d "\\n"',
};

async function run(task: string, extra: string[], env: NodeJS.ProcessEnv = process.env) {
  const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', { name: task, site: 'LOCAL_live', maxAttempts: 1, jobs: [chatty] });
  const pandaId = submitted.tasks[0].pandaIds[0] as number;
  const home = scratchDir('live-pilot');
  const r = await runPilotProcess(
    ['-q', 'LOCAL_live', '--url', stub.url, '--api', 'v1', '-a', home, '--getjob-wait', '0', '--heartbeat', '1', '--quiet', ...extra],
    { timeoutMs: 60_000, env },
  );
  expect(r.code, r.stderr).toBe(0);
  const pilotDir = readdirSync(home).find((d) => d.startsWith('PanDA_Pilot3_'))!;
  const events = readFileSync(path.join(home, pilotDir, 'pilotlog.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { pandaId, events, job: await stubApi(`${stub.url}/stub/jobs/${pandaId}`) };
}

describe('live logs', () => {
  it("sends a job's stdout and REALTIME_LOGFILES lines to the stub, labelled", async () => {
    const { pandaId, events, job } = await run('live_ok', ['--use-realtime-logging', '--realtime-logging-server', stub.url], {
      ...process.env,
      REALTIME_LOGFILES: 'steps.jsonl',
    });
    expect(job.job.state).toBe('finished');
    const logs = await stubApi(`${stub.url}/stub/jobs/${pandaId}/logs`);
    const stdout = logs.lines.filter((l: any) => l.stream === 'stdout').map((l: any) => l.line);
    expect(stdout).toEqual(['stdout line 1', 'stdout line 2', 'stdout line 3', 'stdout line 4', 'stdout line 5', 'partial-last-line-without-newline']);
    const steps = logs.lines.filter((l: any) => l.stream === 'steps.jsonl').map((l: any) => JSON.parse(l.line).step);
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    const end = events.find((e) => e.event === 'realtime_end');
    expect(end).toMatchObject({ sent: 11, dropped: 0, pandaId });
  });

  it('a log server that is not there: the job runs as ever, the lines are counted as dropped', async () => {
    const { job, events } = await run('live_absent', ['--use-realtime-logging', '--realtime-logging-server', 'http://127.0.0.1:9']);
    expect(job.job.state).toBe('finished');
    const end = events.find((e) => e.event === 'realtime_end');
    expect(end.sent).toBe(0);
    expect(end.dropped).toBe(6);
    expect(events.some((e) => e.event === 'realtime_push_failed')).toBe(true);
  });
});

describe('LokiShipper memory bound', () => {
  it('holds at most maxQueuedLines and counts the rest as dropped, without waiting', async () => {
    const http = new HttpTransport({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1_000 });
    const shipper = new LokiShipper(http, 'http://127.0.0.1:9', { PandaID: '1' }, pino({ level: 'silent' }), {
      maxQueuedLines: 5,
      maxLineBytes: 100,
      batchLines: 5,
      flushMs: 60_000,
      timeoutMs: 1_000,
    });
    const accepted = Array.from({ length: 20 }, (_, i) => shipper.push('stdout', `line ${i}`)).filter(Boolean).length;
    expect(accepted).toBe(5);
    expect(shipper.stats.dropped).toBe(15);
    const stats = await shipper.close(2_000);
    expect(stats.sent).toBe(0);
    expect(stats.dropped).toBe(20);
    await http.close();
  });
});
