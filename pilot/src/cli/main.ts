/** Entry point of dist/panda-pilot.mjs. */
import { hideBin } from 'yargs/helpers';
import { parser, toPilotOptions } from './options.js';
import { runPilot } from './run-pilot.js';
import { PilotExit } from '../lifecycle/index.js';

async function main(args: string[]): Promise<number> {
  const argv = await parser(args).parseAsync();
  let opts;
  try {
    opts = toPilotOptions(argv as Record<string, unknown>);
  } catch (err) {
    process.stderr.write(`panda-pilot: ${(err as Error).message}\nTry panda-pilot --help\n`);
    return PilotExit.GENERAL;
  }
  return runPilot(opts);
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`panda-pilot: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = PilotExit.EXCEPTION;
  },
);
