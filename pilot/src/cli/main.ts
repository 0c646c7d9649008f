/** Entry point of dist/panda-pilot.mjs. */
import { runCommandLine } from './commands.js';
import { PilotExit } from '../lifecycle/index.js';

runCommandLine(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`panda-pilot: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = PilotExit.EXCEPTION;
  },
);
