/**
 * No payload outlives its pilot: a background child the payload leaves
 * behind dies with it, and after a `kill -9` of the pilot under runpilot.sh
 * the wrapper kills what the pilot recorded. Real processes, real signals.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processAlive as alive, runPilotProcess, scratchDir, startStubProcess, type StubProcess } from '../support/processes.js';
import { runWrapper, stubJob, submitJobs, taskFile, waitForOutput } from '../support/wrapper.js';

let stub: StubProcess;
beforeAll(async () => {
  stub = await startStubProcess(scratchDir('orphans-stub'));
});
afterAll(async () => stub?.stop());

const waitFor = async (cond: () => boolean, ms = 20_000) => {
  for (let t = 0; t < ms && !cond(); t += 50) await new Promise((r) => setTimeout(r, 50));
};
const pidIn = (file: string) => Number(readFileSync(file, 'utf8'));

describe('no orphaned payloads', () => {
  it('a payload that leaves `sleep 1000 &` behind leaves no process once its job is reported', async () => {
    const marks = scratchDir('orphans-bg');
    const queue = 'ORPHAN_BG';
    const [id] = await submitJobs(stub.url, taskFile(queue, [`sleep 1000 & echo $! > ${marks}/bg.tmp && mv ${marks}/bg.tmp ${marks}/bg.pid; exit 0`]));
    const run = await runPilotProcess(['-q', queue, '--url', stub.url, '--getjob-wait', '0', '-a', scratchDir('orphans-bg-work'), '--quiet'], {
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(0);
    expect((await stubJob(stub.url, id!)).job.state).toBe('finished');
    const bg = pidIn(path.join(marks, 'bg.pid'));
    await waitFor(() => !alive(bg));
    expect(alive(bg)).toBe(false);
  });

  it('kill -9 of the pilot under runpilot.sh leaves no payload', async () => {
    const marks = scratchDir('orphans-kill9');
    const queue = 'ORPHAN_KILL9';
    await submitJobs(
      stub.url,
      taskFile(queue, [`echo $$ > ${marks}/main.pid; sleep 1000 & echo $! > ${marks}/bg.tmp && mv ${marks}/bg.tmp ${marks}/bg.pid; sleep 1000`]),
    );
    const run = runWrapper(['-q', queue, '--url', stub.url, '--getjob-wait', '0', '--min-free-mb', '10', '--quiet'], { timeoutMs: 90_000 });
    await waitForOutput(run, 'starting:');
    await waitFor(() => existsSync(path.join(marks, 'bg.pid')));
    const main = pidIn(path.join(marks, 'main.pid'));
    const bg = pidIn(path.join(marks, 'bg.pid'));
    expect(alive(main) && alive(bg)).toBe(true);
    // The pilot is the wrapper's child (the wrapper runs it in the background and waits).
    const children = readFileSync(`/proc/${run.proc.pid}/task/${run.proc.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const pilot = children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('panda-pilot'));
    expect(pilot, `children: ${children.join(' ')}`).toBeGreaterThan(0);
    process.kill(pilot!, 'SIGKILL');
    const done = await run;
    expect(done.code, done.output).toBe(137); // a signal's status passes through
    expect(done.output).toMatch(/killed \d+ payload process\(es\) the pilot left behind/);
    await waitFor(() => !alive(main) && !alive(bg));
    expect(alive(main)).toBe(false);
    expect(alive(bg)).toBe(false);
  });
});
