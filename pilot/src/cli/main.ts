/** Entry point of dist/panda-pilot.mjs. */
import { setFlagsFromString } from 'node:v8';
import { runCommandLine } from './commands.js';
import { PilotExit } from '../lifecycle/index.js';

// V8 doubles its young generation (up to 2 x 16 MB) whenever much of it survives a scavenge, and
// never gives it back: over a long life a pilot's RSS grew by ~16 MB from that alone (bench/
// pilot-long-life, --trace-gc: committed heap 30 -> 46 MB with 12 MB live). A pilot allocates
// little per job, so the young generation stays at its starting size. The growth factor is read
// at each growth decision, so setting it here (after start-up) takes effect, unlike
// --max-semi-space-size, which only a node command line can set.
setFlagsFromString('--semi-space-growth-factor=1');
// The old generation is left at V8's default growth: --heap-growing-percent=20 held RSS after
// 1,000 jobs at 1.08x its 50-job value (1.13-1.16x without) but ran a full GC nearly every job,
// 6-8 ms of CPU a job of `true` (bench/dispatch, bundles alternated on a quiet machine).

runCommandLine(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`panda-pilot: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = PilotExit.EXCEPTION;
  },
);
