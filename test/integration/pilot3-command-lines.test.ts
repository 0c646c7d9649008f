/**
 * Every real pilot3 command line in test/fixtures/pilot3-command-lines.json
 * starts wrapper/runpilot.sh and panda-pilot unchanged and runs a job on the
 * stub; each pilot3 flag that does nothing here is logged once as not
 * applicable. The push line runs under `panda-stub harvester`, in its access
 * point, as Harvester starts it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, scratchDir, startStubProcess, STUB_BIN, stubApi, type StubProcess } from '../support/processes.js';
import { collectChild } from '../support/child-run.js';

interface Line {
  name: string;
  source: string;
  mode: 'pull' | 'push';
  args: string;
}
const { lines } = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'pilot3-command-lines.json'), 'utf8')) as { lines: Line[] };
const WRAPPER = path.join(ROOT, 'wrapper', 'runpilot.sh');

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return collectChild(p, opts.timeoutMs).done;
}

/** Harvester's placeholders filled in; empty options drop out. */
function expand(line: Line, queue: string, url: string): string[] {
  const values: Record<string, string> = {
    computingSite: queue,
    pandaQueueName: queue,
    prodSourceLabel: 'managed',
    pilotType: 'PR',
    jobType: 'managed',
    pilotResourceTypeOption: '',
    pilotUrlOption: '',
    url,
  };
  return line.args
    .replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? `{${k}}`)
    .split(/\s+/)
    .filter(Boolean);
}

describe('pilot3 command lines start our wrapper and pilot and run a job', () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('cmdline-stub'), ['--open']);
  });
  afterAll(async () => stub?.stop());

  it.each(lines.map((l) => [l.name, l] as const))('%s', async (_name, line) => {
    const queue = `CMD_${line.name.replace(/-/g, '_')}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: line.name.replace(/-/g, '_'),
      site: queue,
      command: 'echo ran from a pilot3 command line',
      count: 1,
    });
    const taskId = submitted.tasks[0].taskId as number;
    const launch = scratchDir(`cmdline-${line.name}`);
    mkdirSync(launch, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: launch, PANDA_PILOT_MIN_FREE_MB: '1' };
    delete env.PANDA_PILOT_RELEASE;
    delete env.HARVESTER_WORKDIR;
    let harvester: Promise<{ code: number | null; stdout: string; stderr: string }> | null = null;
    if (line.mode === 'push') {
      Object.assign(env, { HARVESTER_ID: 'cmdline-h', HARVESTER_WORKER_ID: '7' });
      harvester = run(process.execPath, [STUB_BIN, 'harvester', '--url', stub.url, '--access-point', launch, '-q', queue, '--poll-ms', '100', '--wait', '60'], {
        cwd: launch,
        env,
        timeoutMs: 90_000,
      });
      const until = Date.now() + 30_000;
      while (!existsSync(path.join(launch, 'HPCJobs.json')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    } else {
      delete env.HARVESTER_ID;
      delete env.HARVESTER_WORKER_ID;
    }
    // Only addition to the real line: do not keep asking for a minute after the one job.
    const args = [...expand(line, queue, stub.url), '--getjob-wait', '0'];
    const wrapper = await run('bash', [WRAPPER, ...args], { cwd: launch, env, timeoutMs: 90_000 });
    const out = wrapper.stdout + wrapper.stderr;
    expect(wrapper.code, out.slice(-3000)).toBe(0);
    if (harvester) expect((await harvester).code).toBe(0);

    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    expect(
      jobs.map((j: any) => j.state),
      out.slice(-3000),
    ).toEqual(['finished']);

    // Each not-applicable pilot3 flag is named once; none stops the pilot.
    const notApplicable = [...out.matchAll(/"event":"flag_not_applicable","flag":"([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(notApplicable).size).toBe(notApplicable.length);
    for (const flag of ['-w', '-i', '--allow-same-user', '-u', '-y', '-k', '-b']) {
      const given =
        args.some((a) => a === flag || a.startsWith(`${flag}=`)) ||
        (flag === '-i' && args.includes('--versiontag')) ||
        (flag === '-w' && args.includes('--workflow'));
      if (given && flag !== '-i') expect(notApplicable, flag).toContain(flag);
    }
    if (args.includes('--pilotversion')) expect(out).toMatch(/--pilotversion 3 is a pilot3 version pin: not applicable/);
    if (args.includes('--pythonversion')) expect(out).toMatch(/pilot-wrapper option --pythonversion 3 accepted, not applicable here/);
    if (line.mode === 'push') {
      expect(out).toMatch(/"event":"push_mode"/);
      expect(out).not.toMatch(/worker status started/); // Harvester follows a push worker itself
      expect(existsSync(path.join(launch, 'kill_worker'))).toBe(true);
    }
  });
});
