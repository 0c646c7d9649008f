/**
 * Disk use stays flat: 1,000 jobs of `true` through one pilot leave no job
 * dir behind (each goes once its final update is acknowledged and its log
 * is stored); what remains in the work dir is the pilot's own log.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, type StubProcess } from '../support/processes.js';
import { submitJobs } from '../support/wrapper.js';

let stub: StubProcess;
beforeAll(async () => {
  stub = await startStubProcess(scratchDir('flat-stub'));
});
afterAll(async () => stub?.stop());

/** Bytes under `dir`, and the job dirs in it. */
function usage(dir: string, skip: (name: string) => boolean): { bytes: number; jobDirs: number } {
  let bytes = 0;
  let jobDirs = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (skip(path.basename(name))) continue;
    if (/(^|\/)PanDA_Pilot-\d+$/.test(name)) jobDirs += 1;
    const st = statSync(path.join(dir, name));
    if (st.isFile()) bytes += st.size;
  }
  return { bytes, jobDirs };
}

describe('disk use over many jobs', () => {
  it('1,000 jobs of `true`: no job dir is left and the work dir holds only the pilot log', async () => {
    const area = scratchDir('flat-work');
    const logs = scratchDir('flat-logs');
    const jobs = 1000;
    const ids = await submitJobs(stub.url, {
      name: 'flat',
      site: 'FLAT',
      maxAttempts: 1,
      memoryMB: 10,
      jobs: Array.from({ length: jobs }, (_, i) => ({ name: `t${i}`, command: 'true' })),
    });
    expect(ids).toHaveLength(jobs);
    const run = await runPilotProcess(
      ['-q', 'FLAT', '--url', stub.url, '-a', area, '--getjob-wait', '0', '--log-destination', logs, '--monitor-interval', '60', '--quiet'],
      { timeoutMs: 900_000 },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const home = readdirSync(area).find((n) => n.startsWith('PanDA_Pilot3_'))!;
    const ends = readFileSync(path.join(area, home, 'pilotlog.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"job_end"') && l.includes('"finished"'));
    expect(ends).toHaveLength(jobs);
    const left = usage(area, (name) => name.startsWith('pilotlog'));
    expect(left.jobDirs).toBe(0);
    // a few small files of the pilot's own (records, markers) may stay; nothing per job does
    expect(left.bytes).toBeLessThan(64 * 1024);
  }, 960_000);
});
