/**
 * The wrapper on a real one-node Slurm (test/support/slurm-local.sh), through
 * the submit template wrapper/slurm/pilot.sbatch, against the stub on loopback.
 * Prints the timings the closing note asks for; asserts none of them except
 * KillWait, which is Slurm's deadline, not a performance figure.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchSkipReason,
  pollUntil,
  sbatch,
  sh,
  slurmKillWaitSec,
  slurmUnavailable,
  startSlurm,
  BATCH_LOCK_WAIT_MS,
  waitSlurmJob,
  type Daemons,
} from '../support/batch-systems.js';
import { pilotEnv, ROOT, scratchDir, startStubProcess, stubToken, type StubProcess } from '../support/processes.js';
import { errorCodeOf, finalUpdate, stubJob, submitJobs, taskFile, WRAPPER } from '../support/wrapper.js';

const SBATCH = path.join(ROOT, 'wrapper', 'slurm', 'pilot.sbatch');
const skip = batchSkipReason(slurmUnavailable(), 'the Slurm tests');

describe.skipIf(skip)('runpilot.sh under Slurm (sbatch pilot.sbatch)', () => {
  let slurm: Daemons | undefined;
  let stub: StubProcess;
  let dir: string;
  let site = 0;
  const nextSite = () => `SLURM_${++site}`;
  // The pilot carries a token the stub's storage takes, as a site's pilot carries one its storage element
  // accepts: sbatch exports the submitter's environment and runpilot.sh keeps PANDA_* for the pilot.
  const env = () => pilotEnv(stub.url, { ...process.env, PANDA_WRAPPER: WRAPPER, PANDA_PILOT_MIN_FREE_MB: '10' });
  const pilotArgs = (queue: string) => ['-q', queue, '--url', stub.url, '--getjob-wait', '0', '--quiet'];
  const batchLog = (id: string) => readFileSync(path.join(dir, `panda-pilot-${id}.out`), 'utf8');

  beforeAll(async () => {
    slurm = await startSlurm();
    stub = await startStubProcess(scratchDir('slurm-stub'));
    dir = scratchDir('slurm-submit');
  }, BATCH_LOCK_WAIT_MS + 300_000);
  afterAll(async () => {
    await stub?.stop();
    await slurm?.stop();
  });

  const waitRunning = (id: number) =>
    pollUntil(`job ${id} running`, async () => ((await stubJob(stub.url, id)).job.state === 'running' ? true : undefined), 60_000, 100);
  const waitFinal = (id: number, timeoutMs: number) =>
    pollUntil(`final update of job ${id}`, async () => finalUpdate(await stubJob(stub.url, id)), timeoutMs, 100);

  it('several pilots, one per allocation: every job finishes', async () => {
    const queue = nextSite();
    const n = 4;
    const ids = await submitJobs(
      stub.url,
      taskFile(
        queue,
        Array.from({ length: n }, (_, i) => `echo "job ${i} on $SLURM_JOB_ID"; sleep 1`),
      ),
    );

    // Baseline from the same run: the same submit → done path with an empty job.
    const t0 = Date.now();
    const base = await sbatch(['--output=/dev/null', '--wrap', 'true'], { cwd: dir });
    const baseline = (await waitSlurmJob(base, 60_000, 100)).seenAt - t0;

    const submitted = await Promise.all(
      Array.from({ length: n }, async () => {
        const at = Date.now();
        // The logs go to the stub's storage (WebDAV), as a site's go to its storage element.
        const logs = ['--log-destination', `${stub.url}/storage/logs`];
        const id = await sbatch(['--cpus-per-task=1', SBATCH, ...pilotArgs(queue), '--max-jobs', '1', ...logs], { cwd: dir, env: env() });
        return { id, at };
      }),
    );
    const done = await Promise.all(submitted.map(async (s) => ({ ...s, ...(await waitSlurmJob(s.id, 120_000, 100)) })));
    for (const d of done) {
      expect(d.state, batchLog(d.id)).toBe('COMPLETED');
      expect(d.exitCode).toBe('0:0');
      expect(batchLog(d.id)).toContain('--slots 1');
      expect(batchLog(d.id)).not.toContain(String(stubToken(stub.url))); // the wrapper logs the variable's name, never its value
    }
    const batchIds = new Set<string>();
    for (const id of ids) {
      const details = await stubJob(stub.url, id);
      expect(details.job.state, JSON.stringify(details.job)).toBe('finished');
      // Its log left the node: the final update lists the tarball with the surl the stub's storage serves it
      // at, and no stage-out failure (1137) is reported.
      const report = details.job.report;
      expect(String(report.pilotErrorDiag ?? ''), JSON.stringify(report)).not.toMatch(/1137/);
      const logs = Object.values(JSON.parse(String(report.xml)) as Record<string, { fsize: number; surl?: string }>);
      expect(logs).toHaveLength(1);
      const stored = await fetch(String(logs[0]?.surl));
      expect(stored.status, String(logs[0]?.surl)).toBe(200);
      expect((await stored.arrayBuffer()).byteLength).toBe(logs[0]?.fsize);
      const final = finalUpdate(details);
      batchIds.add(String(final.params.batchID ?? final.params.batch_id));
    }
    // Each allocation's pilot ran exactly one of the jobs.
    expect([...batchIds].sort()).toEqual(submitted.map((s) => s.id).sort());

    console.log(
      `[measure] Slurm submit → pilot job finished (s), ${n} pilots on a 2-CPU node: ${done.map((d) => ((d.seenAt - d.at) / 1000).toFixed(2)).join(', ')}; ` +
        `baseline sbatch --wrap true: ${(baseline / 1000).toFixed(2)} s`,
    );
  });

  it('scancel: the wrapper forwards SIGTERM; the stub gets 1201 in the final update before KillWait ends', async () => {
    const killWaitSec = await slurmKillWaitSec();
    const queue = nextSite();
    const [pandaId] = await submitJobs(stub.url, taskFile(queue, ['echo long payload; sleep 300']));
    const id = await sbatch([SBATCH, ...pilotArgs(queue), '--kill-grace', '3'], { cwd: dir, env: env() });
    await waitRunning(pandaId!);
    const t0 = Date.now();
    await sh('scancel', [id]);
    const final = await waitFinal(pandaId!, (killWaitSec + 20) * 1000);
    const latency = Date.parse(final.receivedAt) - t0;
    const slurmJob = await waitSlurmJob(id, 60_000);

    expect(errorCodeOf(final)).toBe(1201);
    expect(latency).toBeLessThan(killWaitSec * 1000);
    expect(slurmJob.state).toBe('CANCELLED');
    expect(batchLog(id)).toContain('received SIGTERM: forwarding it to the pilot');
    expect(batchLog(id)).toMatch(/pilot exited with 143/);
    console.log(`[measure] scancel → final update (1201) at the stub: ${latency} ms (KillWait ${killWaitSec} s)`);
  });

  it('--signal=B:USR1 near the time limit: the wrapper forwards it, the stub gets 1207', async () => {
    const queue = nextSite();
    // The pilot takes only jobs that fit the time its allocation has left (the Slurm end time less
    // --signal-grace), so this job's walltime fits the two minutes; USR1 comes well before it ends.
    const [pandaId] = await submitJobs(stub.url, taskFile(queue, ['echo until the limit; sleep 300'], { walltimeSec: 90 }));
    // Two minutes limit, USR1 due 110 s before it: slurmctld only looks every
    // 30–60 s, so it arrives some 10–70 s after the start, well before the limit.
    const id = await sbatch(['--time=2', '--signal=B:USR1@110', SBATCH, ...pilotArgs(queue), '--kill-grace', '3', '--signal-grace', '10'], {
      cwd: dir,
      env: env(),
    });
    await waitRunning(pandaId!);
    const final = await waitFinal(pandaId!, 150_000);
    const slurmJob = await waitSlurmJob(id, 60_000);
    expect(errorCodeOf(final)).toBe(1207);
    expect(batchLog(id)).toContain('received SIGUSR1: forwarding it to the pilot');
    // The wrapper ended the job itself with the pilot's code, before the limit.
    expect(slurmJob.state).toBe('FAILED');
    expect(slurmJob.exitCode).toBe('138:0');
  });

  it('a --mem limited allocation with a memory-hungry payload: the kernel kills it, the stub gets 1212', async () => {
    const queue = nextSite();
    // tail keeps a line without newlines in memory: 1 GB of zeros never fits in 250 MB.
    // The job asks for 200 MB (the pilot takes only jobs that fit its 250 MB allocation) and its
    // payload cgroup gets no limit of its own, so only the allocation's limit can be the one that bites.
    const [pandaId] = await submitJobs(stub.url, taskFile(queue, ['echo allocating; head -c 1000M /dev/zero | tail >/dev/null'], { memoryMB: 200 }));
    const id = await sbatch(['--mem=250M', SBATCH, ...pilotArgs(queue), '--kill-grace', '3', '--cgroup-limit', 'none'], { cwd: dir, env: env() });
    const final = await waitFinal(pandaId!, 90_000);
    const slurmJob = await waitSlurmJob(id, 60_000);
    expect(final.params.job_status ?? final.params.state).toBe('failed');
    expect(Number(final.params.trans_exit_code ?? final.params.transExitCode)).toBe(137); // SIGKILL
    expect(errorCodeOf(final), JSON.stringify(final.params)).toBe(1212);
    expect(final.params.pilotErrorDiag ?? final.params.pilot_error_diag).toMatch(/out of memory/i);
    // The pilot survived and reported, so the wrapper ends normally. Slurm calls the
    // job OUT_OF_MEMORY only when the kill shows in its own step cgroup; the pilot
    // runs payloads in child cgroups, where its v1 counter does not look.
    expect(['COMPLETED', 'OUT_OF_MEMORY']).toContain(slurmJob.state);
    expect(slurmJob.fields.MinMemoryNode).toBe('250M');
  });
});
