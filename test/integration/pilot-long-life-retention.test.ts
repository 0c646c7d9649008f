/**
 * A pilot holds its slot for days: a job that is over must not stay
 * reachable. Each job's scope once held the previous job's report hook, so
 * every job of the pilot's life stayed in memory (bench/pilot-long-life: the
 * live heap grew ~9 KB a job). Here a real pilot runs 30 jobs from the stub,
 * then writes a heap snapshot (node's --heapsnapshot-signal, which collects
 * garbage first) and the test counts the JobRun objects still alive.
 * No timings: it waits on the pilot's log and on the snapshot file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PILOT_BIN, pilotCommandLine, QUICK_PILOT, runPilotProcess, scratchDir, startStubProcess, type StubProcess } from '../support/processes.js';
import { submitJobs, taskFile } from '../support/wrapper.js';

const JOBS = 30;

let stub: StubProcess;
beforeAll(async () => {
  stub = await startStubProcess(scratchDir('retention-stub'));
});
afterAll(async () => stub?.stop());

/** Polls `check` every 100 ms until it returns a value (bounded). */
async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How many live objects of each name in `names` a V8 heap snapshot holds. */
function countObjects(
  snapshot: { snapshot: { meta: { node_fields: string[]; node_types: string[][] } }; nodes: number[]; strings: string[] },
  names: string[],
) {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0]!;
  const [typeAt, nameAt] = [fields.indexOf('type'), fields.indexOf('name')];
  const counts = Object.fromEntries(names.map((n) => [n, 0]));
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (types[snapshot.nodes[i + typeAt]!] !== 'object') continue;
    const name = snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    if (name in counts) counts[name]! += 1;
  }
  return counts;
}

describe('a long-lived pilot keeps no finished job', () => {
  it(`after ${JOBS} jobs, at most the last ones are still in memory`, async () => {
    const site = 'RETAIN';
    await submitJobs(
      stub.url,
      taskFile(
        site,
        Array.from({ length: JOBS }, () => 'true'),
      ),
    );
    const work = scratchDir('retention-pilot');
    const run = runPilotProcess(pilotCommandLine(site, stub.url, work, { ...QUICK_PILOT, 'getjob-wait': 120, slots: 1 }), {
      cwd: work,
      env: { ...process.env, NODE_OPTIONS: '--heapsnapshot-signal=SIGWINCH' },
      timeoutMs: 240_000,
    });
    try {
      const log = await waitFor(
        'the pilot log',
        () => {
          // The pilot home is made before its log file: wait for the file itself.
          const home = existsSync(work) ? readdirSync(work).find((n) => n.startsWith('PanDA_Pilot3_')) : undefined;
          const file = home ? path.join(work, home, 'pilotlog.jsonl') : undefined;
          return file && existsSync(file) ? file : undefined;
        },
        60_000,
      );
      await waitFor(
        `${JOBS} job_end lines`,
        () =>
          readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => l.includes('"event":"job_end"')).length >= JOBS
            ? true
            : undefined,
        180_000,
      );
      run.proc.kill('SIGWINCH');
      // Written synchronously by the pilot's main thread: complete once it parses.
      const snapshot = await waitFor(
        'the heap snapshot',
        () => {
          const file = readdirSync(work).find((n) => n.endsWith('.heapsnapshot'));
          if (!file) return undefined;
          try {
            return JSON.parse(readFileSync(path.join(work, file), 'utf8')) as Parameters<typeof countObjects>[0];
          } catch {
            return undefined;
          }
        },
        60_000,
      );
      // The names counted are the bundle's class names (a rename would make this test pass on nothing).
      const bundle = readFileSync(PILOT_BIN, 'utf8');
      for (const name of ['JobRun', 'OrderedUpdateChannel'])
        expect(new RegExp(`\\b${name} = class\\b|\\bclass ${name}\\b`).test(bundle), `class ${name} in the bundle`).toBe(true);
      const counts = countObjects(snapshot, ['JobRun', 'OrderedUpdateChannel']);
      // The slot keeps its last job until the next one starts; with the leak all 30 were here.
      expect(counts.JobRun, JSON.stringify(counts)).toBeLessThanOrEqual(3);
      expect(counts.OrderedUpdateChannel, JSON.stringify(counts)).toBeLessThanOrEqual(3);
    } finally {
      run.proc.kill('SIGTERM');
      await run;
    }
  }, 300_000);
});
