/**
 * wrapper/runpilot.sh with the real pilot bundle and the stub on loopback:
 * site hooks, the environment report, signals, exit codes, finding the pilot,
 * the worker status report. (On a real batch system: test/batch/.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PILOT_BIN, ROOT, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';
import { errorCodeOf, finalUpdate, runWrapper, stubJob, submitJobs, taskFile, waitForOutput } from '../support/wrapper.js';

let stub: StubProcess;
let site = 0;
/** Every test its own site, so one test's jobs never go to another's pilot. */
const nextSite = () => `WRAP_${++site}`;
const pilotArgs = (queue: string) => ['-q', queue, '--url', stub.url, '--getjob-wait', '0', '--min-free-mb', '10', '--quiet'];

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

beforeAll(async () => {
  stub = await startStubProcess(scratchDir('wrapper-stub'));
});
afterAll(async () => stub?.stop());

describe('runpilot.sh site hooks', () => {
  const check = 'test "$SITE_SETUP_MARK" = from-prolog || { echo "mark is [$SITE_SETUP_MARK]"; exit 42; }';

  it('a prolog that exports a variable: the payload sees it', async () => {
    const dir = scratchDir('hook-ok');
    const queue = nextSite();
    const [id] = await submitJobs(stub.url, taskFile(queue, [check]));
    const prolog = script(dir, 'prolog.sh', 'export SITE_SETUP_MARK=from-prolog\nMY_UNEXPORTED=1');
    const run = await runWrapper(pilotArgs(queue), { env: { LSST_LOCAL_PROLOG: prolog } });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`sourcing site prolog ${prolog}`);
    expect((await stubJob(stub.url, id!)).job.state).toBe('finished');
  });

  it('without the prolog the same payload fails (the check can fail)', async () => {
    const queue = nextSite();
    const [id] = await submitJobs(stub.url, taskFile(queue, [check]));
    const run = await runWrapper(pilotArgs(queue), { env: { SITE_SETUP_MARK: undefined } });
    expect(run.code, run.output).toBe(0);
    const details = await stubJob(stub.url, id!);
    expect(details.job.state).toBe('failed');
    expect(Number(finalUpdate(details).params.transExitCode ?? finalUpdate(details).params.trans_exit_code)).toBe(42);
  });

  it('a prolog that fails is logged; no pilot starts on the unfit node; the epilog still runs; exit 3', async () => {
    const dir = scratchDir('hook-fail');
    const queue = nextSite();
    const [id] = await submitJobs(stub.url, taskFile(queue, [check]));
    const prolog = script(dir, 'prolog.sh', 'export SITE_SETUP_MARK=from-prolog\necho "scratch not mounted" >&2\nexit 7');
    const epilog = script(dir, 'epilog.sh', `echo "rc=$2" > ${dir}/epilog-ran`);
    const run = await runWrapper(pilotArgs(queue), { env: { LSST_LOCAL_PROLOG: prolog, LSST_LOCAL_EPILOG: epilog } });
    expect(run.output).toContain('scratch not mounted');
    expect(run.output).toMatch(/ERROR: site prolog .*prolog\.sh failed with status 7: the pilot will not start \(exit 3\)/);
    expect(run.code, run.output).toBe(3);
    expect(run.output).not.toContain('starting:');
    expect(readFileSync(path.join(dir, 'epilog-ran'), 'utf8').trim()).toBe('rc=3');
    expect((await stubJob(stub.url, id!)).job.state).toBe('activated');
  });

  it('the example site hooks work with the wrapper', async () => {
    const queue = nextSite();
    await submitJobs(stub.url, taskFile(queue, ['test -n "$DAF_BUTLER_REPOSITORY_INDEX"']));
    const run = await runWrapper(pilotArgs(queue), {
      env: { LSST_LOCAL_PROLOG: path.join(ROOT, 'site-config/examples/prolog.sh'), LSST_LOCAL_EPILOG: path.join(ROOT, 'site-config/examples/epilog.sh') },
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/prolog: \S+ ok, \d+ MB free/);
    expect(run.output).toContain('epilog: pilot exited with 0');
  });

  it('a missing prolog or epilog is logged clearly and skipped', async () => {
    const queue = nextSite();
    const run = await runWrapper(pilotArgs(queue), { env: { LSST_LOCAL_PROLOG: '/nonexistent/prolog.sh', LSST_LOCAL_EPILOG: '/nonexistent/epilog.sh' } });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('site prolog LSST_LOCAL_PROLOG=/nonexistent/prolog.sh is missing or unreadable: skipped');
    expect(run.output).toContain('site epilog LSST_LOCAL_EPILOG=/nonexistent/epilog.sh is missing or unreadable: skipped');
  });

  it('an epilog sees the work dir before it is cleaned; its failure does not change the exit code', async () => {
    const dir = scratchDir('hook-epilog');
    const queue = nextSite();
    await submitJobs(stub.url, taskFile(queue, ['echo hi']));
    const seen = path.join(dir, 'seen.txt');
    const epilog = script(dir, 'epilog.sh', `{ echo "dir=$1 rc=$2 env=$PANDA_PILOT_WORKDIR"; ls "$1"; } > ${seen}\nexit 9`);
    const run = await runWrapper(pilotArgs(queue), { env: { LSST_LOCAL_EPILOG: epilog } });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('site epilog failed with status 9 (ignored; exit code stays 0)');
    const text = readFileSync(seen, 'utf8');
    const workdir = /^dir=(\S+) rc=0 env=(\S+)$/m.exec(text);
    expect(workdir, text).not.toBeNull();
    expect(workdir![2]).toBe(workdir![1]);
    expect(text).toMatch(/^PanDA_Pilot3_\d+_\d+$/m);
    expect(existsSync(workdir![1]!)).toBe(false); // cleaned afterwards
  });
});

describe('runpilot.sh environment report', () => {
  it('names secrets but never prints their values', async () => {
    const dir = scratchDir('secrets');
    const proxy = path.join(dir, 'x509up');
    writeFileSync(proxy, '-----BEGIN CERTIFICATE-----\nPROXY-CONTENT-d41d8cd9\n-----END CERTIFICATE-----\n');
    const secrets = {
      PANDA_AUTH_TOKEN: 'tok-7f3a9c-secret',
      PANDA_AUTH_ORIGIN: 'Rubin.production',
      SITE_DB_PASSWORD: 'hunter2-7f3a',
      MY_SECRET_THING: 'sekrit-5511',
      HTTPS_PROXY: 'http://user:pw-proxy-9911@proxy.example:3128',
      HTTP_PROXY: 'http://user:pw-proxy-9911@proxy.example:3128',
      PANDA_INNOCENT_LOOKING: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
      X509_USER_PROXY: proxy,
    };
    // The stub is on loopback; the pilot honours the proxy variables, so exempt it.
    const run = await runWrapper([...pilotArgs(nextSite()), '--api', 'v1'], { env: { ...secrets, NO_PROXY: '127.0.0.1' } });
    for (const value of [...Object.values(secrets).filter((v) => v !== proxy), 'PROXY-CONTENT-d41d8cd9', 'pw-proxy-9911']) {
      expect(run.output).not.toContain(value);
    }
    expect(run.output).toContain('environment (secrets redacted):');
    for (const name of [
      'PANDA_AUTH_TOKEN',
      'SITE_DB_PASSWORD',
      'MY_SECRET_THING',
      'HTTPS_PROXY',
      'X509_USER_PROXY',
      'PANDA_AUTH_ORIGIN',
      'PANDA_INNOCENT_LOOKING',
    ]) {
      expect(run.output).toContain(`  ${name}=<redacted>`);
    }
    expect(run.output).toMatch(/node v\d+\.\d+\.\d+ \(/);
  });
});

describe('runpilot.sh signals', () => {
  it.each([
    ['SIGTERM', 1201, 143],
    ['SIGUSR1', 1207, 138],
    ['SIGUSR2', 1200, 140],
  ] as const)('%s is forwarded: the running job is reported failed with %i, the wrapper exits %i', async (signal, code, exit) => {
    const queue = nextSite();
    const [id] = await submitJobs(stub.url, taskFile(queue, ['echo started; sleep 60']));
    const run = runWrapper([...pilotArgs(queue), '--kill-grace', '2'], { timeoutMs: 40_000 });
    await waitForOutput(run, 'starting:');
    await waitUntilRunning(id!);
    run.proc.kill(signal);
    const result = await run;
    expect(result.code, result.output).toBe(exit);
    expect(result.output).toContain(`received ${signal}: forwarding it to the pilot`);
    const details = await stubJob(stub.url, id!);
    expect(errorCodeOf(finalUpdate(details)), JSON.stringify(details.updates.at(-1))).toBe(code);
  });

  it("a signal before the pilot started: the pilot never starts, the exit code is the signal's", async () => {
    const dir = scratchDir('early-signal');
    const queue = nextSite();
    const [id] = await submitJobs(stub.url, taskFile(queue, ['echo should not run']));
    const prolog = script(dir, 'prolog.sh', 'echo prolog-sleeping; sleep 30');
    const run = runWrapper(pilotArgs(queue), { env: { LSST_LOCAL_PROLOG: prolog }, timeoutMs: 20_000 });
    await waitForOutput(run, 'prolog-sleeping');
    const t0 = Date.now();
    run.proc.kill('SIGTERM');
    const result = await run;
    expect(Date.now() - t0).toBeLessThan(5_000); // the prolog was stopped, not waited out
    expect(result.code, result.output).toBe(143);
    expect(result.output).toContain('stopping before the pilot started because of SIGTERM');
    expect(result.output).not.toContain('starting:');
    expect((await stubJob(stub.url, id!)).job.state).toBe('activated');
  });
});

async function waitUntilRunning(id: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { job } = await stubJob(stub.url, id);
    if (job.state === 'running' || job.state === 'starting') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} never started`);
}

describe('runpilot.sh exit codes and setup failures', () => {
  it('a pilot that crashes with an unexpected status is reported as 70, never 0', async () => {
    const dir = scratchDir('crash');
    const fake = path.join(dir, 'crashing-pilot.mjs');
    writeFileSync(fake, 'process.exit(3);\n');
    const run = await runWrapper([...pilotArgs(nextSite()), '--pilot', fake]);
    expect(run.code, run.output).toBe(70);
    expect(run.output).toContain('pilot exited with unexpected status 3');
  });

  it('a pilot code from the table passes through (79: server unreachable)', async () => {
    const run = await runWrapper(['-q', nextSite(), '--url', 'http://127.0.0.1:9', '--getjob-wait', '0', '--min-free-mb', '10', '--quiet', '--timeout', '2']);
    expect(run.code, run.output).toBe(79);
  });

  it('-q is required; -h prints usage', async () => {
    const missing = await runWrapper(['--url', stub.url]);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('-q QUEUE is required');
    const help = await runWrapper(['-h']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('Usage: runpilot.sh -q QUEUE');
  });

  it('too little free space: 69 before anything runs', async () => {
    const run = await runWrapper(['-q', nextSite(), '--url', stub.url, '--min-free-mb', '999999999']);
    expect(run.code, run.output).toBe(69);
    expect(run.output).toMatch(/only \d+ MB free in .*; the pilot needs 999999999 MB/);
  });

  it('a Node runtime older than 20.19 is refused', async () => {
    const dir = scratchDir('old-node');
    script(dir, 'node', 'echo v18.19.0');
    const run = await runWrapper(pilotArgs(nextSite()), { env: { PATH: `${dir}:${process.env.PATH}` } });
    expect(run.code, run.output).toBe(1);
    expect(run.output).toContain('Node.js v18.19.0');
    expect(run.output).toContain('too old');
  });

  it('the work dir is kept after a failure when asked, removed otherwise', async () => {
    const dir = scratchDir('keep');
    const fake = path.join(dir, 'failing-pilot.mjs');
    writeFileSync(fake, 'process.exit(65);\n');
    const kept = await runWrapper([...pilotArgs(nextSite()), '--pilot', fake, '--keep-workdir-on-failure', '-a', dir]);
    expect(kept.code).toBe(65);
    const keptDir = /work dir kept after failure \(exit 65\): (\S+)/.exec(kept.output)?.[1];
    expect(keptDir, kept.output).toBeDefined();
    expect(existsSync(keptDir!)).toBe(true);
    const removed = await runWrapper([...pilotArgs(nextSite()), '--pilot', fake, '-a', dir]);
    const removedDir = /work dir removed: (\S+)/.exec(removed.output)?.[1];
    expect(removedDir, removed.output).toBeDefined();
    expect(existsSync(removedDir!)).toBe(false);
  });
});

describe('runpilot.sh finds the pilot', () => {
  /** A release tree as cvmfs-layout builds it: DIR/panda_env/vX.Y.Z/{runtime/bin/node,pilot/panda-pilot.mjs}, current → vX.Y.Z. */
  function releaseTree(): string {
    const dir = scratchDir('release');
    const tree = path.join(dir, 'panda_env', 'v0.1.0');
    mkdirSync(path.join(tree, 'runtime', 'bin'), { recursive: true });
    mkdirSync(path.join(tree, 'pilot'), { recursive: true });
    symlinkSync(process.execPath, path.join(tree, 'runtime', 'bin', 'node'));
    copyFileSync(PILOT_BIN, path.join(tree, 'pilot', 'panda-pilot.mjs'));
    symlinkSync('v0.1.0', path.join(dir, 'panda_env', 'current'));
    return dir;
  }

  it('uses the release tree and its own Node runtime (current, or --pilotversion)', async () => {
    const dir = releaseTree();
    const viaEnv = await runWrapper(pilotArgs(nextSite()), { env: { PANDA_PILOT_RELEASE: dir } });
    expect(viaEnv.code, viaEnv.output).toBe(0);
    expect(viaEnv.output).toContain(`(${dir}/panda_env/current/runtime/bin/node); pilot ${dir}/panda_env/current/pilot/panda-pilot.mjs`);
    const pinned = await runWrapper([...pilotArgs(nextSite()), '--release', dir, '--pilotversion', '0.1.0']);
    expect(pinned.code, pinned.output).toBe(0);
    expect(pinned.output).toContain(`${dir}/panda_env/v0.1.0/runtime/bin/node`);
  });

  it('a release tree without the asked version is a cvmfs problem: 64', async () => {
    const run = await runWrapper([...pilotArgs(nextSite()), '--release', releaseTree(), '--pilotversion', '9.9.9']);
    expect(run.code, run.output).toBe(64);
    expect(run.output).toContain('panda_env/v9.9.9/pilot/panda-pilot.mjs');
  });

  it('--piloturl fetches the bundle into the work dir', async () => {
    const run = await runWrapper([...pilotArgs(nextSite()), '--piloturl', `file://${PILOT_BIN}`]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/pilot \S+\/panda_pilot_\w+\/panda-pilot\.mjs/);
  });
});

describe('runpilot.sh worker status', () => {
  it.each(['legacy', 'v1'] as const)('reports started and finished over %s when Harvester variables are set', async (api) => {
    const queue = nextSite();
    const worker = `${Date.now() % 100000}`;
    const run = await runWrapper([...pilotArgs(queue), '--api', api], { env: { HARVESTER_ID: `harv-${api}`, HARVESTER_WORKER_ID: worker } });
    expect(run.code, run.output).toBe(0);
    const { workers } = await stubApi(`${stub.url}/stub/workers`);
    const mine = workers.filter((w: any) => w.harvesterId === `harv-${api}` && w.workerId === worker);
    expect(mine.map((w: any) => w.status)).toEqual(['started', 'finished']);
    expect(mine.every((w: any) => w.dialect === api && typeof w.nodeId === 'string' && w.nodeId.length > 0)).toBe(true);
  });

  it('sends nothing without Harvester variables', async () => {
    const before = (await stubApi(`${stub.url}/stub/workers`)).workers.length;
    const run = await runWrapper(pilotArgs(nextSite()), { env: { HARVESTER_ID: undefined, HARVESTER_WORKER_ID: undefined } });
    expect(run.code, run.output).toBe(0);
    expect((await stubApi(`${stub.url}/stub/workers`)).workers.length).toBe(before);
  });
});

const shellcheckMissing = spawnSync('shellcheck', ['--version']).status !== 0;
if (shellcheckMissing) {
  if (process.env.CI === 'true') throw new Error('shellcheck must run in CI (.ci/run installs it)');
  console.warn('skipping the shellcheck lint: shellcheck is not installed (apt-get install shellcheck)');
}
describe.skipIf(shellcheckMissing)('shell scripts lint', () => {
  it('shellcheck finds nothing in the wrapper, templates and harness scripts', () => {
    const files = [
      'wrapper/runpilot.sh',
      'wrapper/slurm/pilot.sbatch',
      'test/support/slurm-local.sh',
      'test/support/arc-local.sh',
      'test/support/daemon-lib.sh',
    ];
    const res = spawnSync('shellcheck', ['-x', ...files], { cwd: ROOT, encoding: 'utf8' });
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});
