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
// The old generation likewise: with V8's default factor for a small heap (up to 4x the live size
// after each full GC) a pilot with ~10 MB live let its old space swing between 20 and 50 MB, so
// RSS cycled 71-93 MB over 1,000 jobs (1.44x its 50-job value in one run). Growing by 20 % a time
// keeps it at 1.06-1.13x with no measurable cost per job (bench/pilot-long-life, same session): a
// full GC of a heap this small takes a few ms. Also read at each decision, so settable here.
setFlagsFromString('--heap-growing-percent=20');

runCommandLine(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`panda-pilot: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = PilotExit.EXCEPTION;
  },
);
