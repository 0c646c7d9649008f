/** Entry point of dist/panda-pilot.mjs. */
import { hideBin } from 'yargs/helpers';
import { runCommandLine } from './commands.js';
import { PilotExit } from '../lifecycle/index.js';

runCommandLine(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`panda-pilot: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = PilotExit.EXCEPTION;
  },
);
