/**
 * The wrapper through an ARC-CE (A-REX, Slurm backend; test/support/arc-local.sh):
 * arcsub stages runpilot.sh and the pilot bundle from wrapper/arc/pilot.xrsl,
 * the job runs as nobody under Slurm, the pilot reaches the stub on loopback.
 * Slow (A-REX polls its batch system): about a minute or two per job.
 */
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arcUnavailable,
  BATCH_LOCK_WAIT_MS,
  batchSkipReason,
  pollUntil,
  sh,
  startArc,
  startSlurm,
  type ArcCe,
  type Daemons,
} from '../support/batch-systems.js';
import { PILOT_BIN, ROOT, scratchDir, startStubProcess, type StubProcess } from '../support/processes.js';
import { finalUpdate, stubJob, submitJobs, taskFile, WRAPPER } from '../support/wrapper.js';

const XRSL = path.join(ROOT, 'wrapper', 'arc', 'pilot.xrsl');
const skip = batchSkipReason(arcUnavailable(), 'the ARC-CE tests');

/** The template with its placeholders filled, as a site's submitter would. */
function fillXrsl(values: Record<string, string>): string {
  let text = readFileSync(XRSL, 'utf8');
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@${key}@`, value);
  const left = /@[A-Z_]+@/.exec(text.replace(/\(\*[\s\S]*?\*\)/g, ''));
  if (left) throw new Error(`xrsl placeholder ${left[0]} not filled`);
  return text;
}

describe.skipIf(skip)('runpilot.sh through ARC-CE (arcsub pilot.xrsl → A-REX → Slurm)', () => {
  let slurm: Daemons | undefined;
  let arc: ArcCe | undefined;
  let stub: StubProcess;
  let dir: string;

  beforeAll(async () => {
    slurm = await startSlurm();
    dir = scratchDir('arc');
    // The CE reads the input files as itself and the job runs as nobody.
    chmodSync(dir, 0o755);
    arc = await startArc(path.join(dir, 'cred'));
    stub = await startStubProcess(scratchDir('arc-stub'));
  }, BATCH_LOCK_WAIT_MS + 300_000);
  afterAll(async () => {
    await stub?.stop();
    await arc?.stop();
    await slurm?.stop();
  });

  it('the pilot inside the ARC job reaches the stub and its job finishes', async () => {
    const queue = 'ARC_LOCAL';
    const [pandaId] = await submitJobs(stub.url, taskFile(queue, ['echo "payload as $(id -un) on $SLURM_JOB_ID"']));
    const xrsl = path.join(dir, 'pilot.xrsl');
    writeFileSync(
      xrsl,
      fillXrsl({ QUEUE: queue, PANDA_URL: stub.url, WRAPPER, PILOT: PILOT_BIN, CORES: '1', MEMORY_MB: '1000' }).replace(
        '("PANDA_PILOT_MIN_FREE_MB" "2048")',
        '("PANDA_PILOT_MIN_FREE_MB" "10")',
      ),
    );
    const jobs = path.join(dir, 'jobs.dat');
    const t0 = Date.now();
    const out = await sh('arcsub', ['-j', jobs, '-C', arc!.endpoint, xrsl], { env: arc!.env, cwd: dir, timeoutMs: 120_000 });
    expect(out).toMatch(/Job submitted with jobid/);

    const final = await pollUntil("the pilot's final update", async () => finalUpdate(await stubJob(stub.url, pandaId!)), 240_000, 500);
    const stubDone = Date.parse(final.receivedAt) - t0;
    const arcState = await pollUntil(
      'ARC to report the job done',
      async () => {
        const status = await sh('arcstat', ['-j', jobs], { env: arc!.env, timeoutMs: 60_000 }).catch(() => '');
        const m = /State: (Finished|Failed|Killed|Deleted)/.exec(status);
        return m ? m[1] : undefined;
      },
      300_000,
      2_000,
    );
    const arcDone = Date.now() - t0;

    expect((await stubJob(stub.url, pandaId!)).job.state).toBe('finished');
    expect(String(final.params.batchID ?? final.params.batch_id)).toMatch(/^\d+$/); // a Slurm job id: it ran under Slurm
    expect(arcState).toBe('Finished');
    await sh('arcget', ['-j', jobs, '-D', dir], { env: arc!.env, timeoutMs: 120_000 });
    const resultDir = readdirSync(dir, { withFileTypes: true }).find(
      (e) => e.isDirectory() && !['cred'].includes(e.name) && readdirSync(path.join(dir, e.name)).includes('pilot.out'),
    );
    expect(resultDir, 'arcget brought back pilot.out').toBeDefined();
    const log = readFileSync(path.join(dir, resultDir!.name, 'pilot.out'), 'utf8');
    expect(log).toContain('as nobody');
    expect(log).toContain('pilot exited with 0');
    console.log(
      `[measure] ARC submit → pilot's job finished at the stub: ${(stubDone / 1000).toFixed(1)} s; → ARC reports Finished: ${(arcDone / 1000).toFixed(1)} s`,
    );
  });
});
