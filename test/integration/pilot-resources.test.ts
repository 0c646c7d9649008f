/**
 * Slots that know what the node holds: jobs reserve their minRamCount and
 * coreCount from the pilot's allocation, a free slot asks only for what is
 * left, and a job that does not fit waits. Real pilot, real stub, real
 * payloads that detect overlap themselves (mkdir locks, a flock'd counter).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, type StubProcess } from '../support/processes.js';
import { stubJob, submitJobs } from '../support/wrapper.js';

let stub: StubProcess;
beforeAll(async () => {
  stub = await startStubProcess(scratchDir('resources-stub'));
});
afterAll(async () => stub?.stop());

const pilotArgs = (queue: string, extra: string[]) => [
  '-q',
  queue,
  '--url',
  stub.url,
  '--getjob-poll',
  '0.2',
  '--getjob-poll-max',
  '1',
  '-a',
  scratchDir('resources-work'),
  '--quiet',
  ...extra,
];

async function submit(site: string, tasks: { name: string; cores?: number; memoryMB: number; commands: string[] }[]): Promise<number[]> {
  const ids: number[] = [];
  for (const t of tasks) {
    ids.push(
      ...(await submitJobs(stub.url, {
        name: t.name,
        site,
        maxAttempts: 1,
        memoryMB: t.memoryMB,
        cores: t.cores ?? 1,
        jobs: t.commands.map((command, i) => ({ name: `${t.name}${i}`, command })),
      })),
    );
  }
  return ids;
}

/** Waits (bounded) until `n` payloads have started; fails the job when they never run side by side. */
const barrier = (marks: string, n: number) =>
  `touch ${marks}/started.$PandaID; for i in $(seq 600); do [ $(ls ${marks} | grep -c '^started') -ge ${n} ] && exit 0; sleep 0.1; done; echo "never ${n} together" >&2; exit 1`;

describe('resource-aware slots', () => {
  it('two slots on a 2000 MB allocation: 1500 MB jobs run one after the other', async () => {
    const marks = scratchDir('res-1500');
    // mkdir is atomic: a second job holding the lock at the same time is an over-commit.
    const cmd = `mkdir ${marks}/lock || { echo overlap > ${marks}/overlap; exit 1; }; sleep 2; rmdir ${marks}/lock`;
    const ids = await submit('RES_1500', [{ name: 'big', memoryMB: 1500, commands: [cmd, cmd] }]);
    const run = await runPilotProcess(pilotArgs('RES_1500', ['--slots', '2', '--mem', '2000', '--getjob-wait', '10']), { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(path.join(marks, 'overlap'))).toBe(false);
    for (const id of ids) expect((await stubJob(stub.url, id)).job.state).toBe('finished');
  });

  it('two slots on a 2000 MB allocation: 500 MB jobs run together', async () => {
    const marks = scratchDir('res-500');
    const ids = await submit('RES_500', [{ name: 'small', memoryMB: 500, commands: [barrier(marks, 2), barrier(marks, 2)] }]);
    const run = await runPilotProcess(pilotArgs('RES_500', ['--slots', '2', '--mem', '2000', '--getjob-wait', '5']), { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    for (const id of ids) expect((await stubJob(stub.url, id)).job.state).toBe('finished');
  });

  it('a 4-core job beside four 1-core jobs on a (faked Slurm) 8-core allocation; a fifth 1-core job waits', async () => {
    const marks = scratchDir('res-mix');
    // Each payload adds its cores to a flock'd counter: above 8 is an over-commit.
    const counted = (cores: number, body: string) =>
      `( flock 9; n=$(( $(cat ${marks}/cores 2>/dev/null || echo 0) + ${cores} )); echo $n > ${marks}/cores; [ $n -le 8 ] || echo "$n cores" >> ${marks}/overcommit ) 9>${marks}/lock; ( ${body} ); rc=$?; ( flock 9; echo $(( $(cat ${marks}/cores) - ${cores} )) > ${marks}/cores ) 9>${marks}/lock; exit $rc`;
    const ids = await submit('RES_MIX', [
      { name: 'four', cores: 4, memoryMB: 100, commands: [counted(4, barrier(marks, 5))] },
      { name: 'one', cores: 1, memoryMB: 100, commands: Array.from({ length: 5 }, () => counted(1, barrier(marks, 5))) },
    ]);
    const env = {
      ...process.env,
      SLURM_JOB_ID: '4242',
      SLURM_CPUS_ON_NODE: '8',
      SLURM_MEM_PER_NODE: '8000',
      SLURM_JOB_END_TIME: String(Math.floor(Date.now() / 1000) + 7200),
    };
    const run = await runPilotProcess(pilotArgs('RES_MIX', ['--slots', '6', '--getjob-wait', '5']), { env, timeoutMs: 180_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(
      existsSync(path.join(marks, 'overcommit')),
      existsSync(path.join(marks, 'overcommit')) ? readFileSync(path.join(marks, 'overcommit'), 'utf8') : '',
    ).toBe(false);
    for (const id of ids) expect((await stubJob(stub.url, id)).job.state, `job ${id}`).toBe('finished');
  });

  it('drain: a DRAIN file in the work dir stops the pilot taking jobs; the running one finishes and reports; exit 0', async () => {
    const area = scratchDir('res-drain');
    const ids = await submit('RES_DRAIN', [{ name: 'd', memoryMB: 100, commands: [`touch ${area}/DRAIN; sleep 1`, 'true'] }]);
    const run = await runPilotProcess(['-q', 'RES_DRAIN', '--url', stub.url, '--getjob-wait', '30', '-a', area, '--quiet'], { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect((await stubJob(stub.url, ids[0]!)).job.state).toBe('finished');
    expect((await stubJob(stub.url, ids[1]!)).job.state).toBe('activated');
  });
});
