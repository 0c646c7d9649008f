/**
 * The pilot's command line: the default command pulls and runs jobs (the
 * pilot3-compatible `panda-pilot -q QUEUE --url URL …`), and two admin
 * commands check a site configuration and a release tree.
 */
import yargs, { type Argv } from 'yargs';
import { PilotExit } from '../lifecycle/index.js';
import { checkConfig } from './config-check.js';
import { pilotFlags, toPilotOptions, VERSION } from './options.js';
import { releaseVerify } from './release-verify.js';
import { runPilot } from './run-pilot.js';
import { runRecover } from './run-recover.js';
import { runWorkerStatus } from './worker-status.js';
import { runDoctor } from './doctor.js';

/** Exit code of a command-line usage error (pilot3: general error). */
const USAGE = PilotExit.GENERAL;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs the command line `args` (without node and script); resolves to the exit code. */
export async function runCommandLine(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let code = 0;
  const y: Argv = yargs(args)
    .scriptName('panda-pilot')
    .command(
      '$0',
      'pull PanDA jobs for a queue, run each payload, and report to the server',
      (b) => pilotFlags(b).usage('$0 -q QUEUE --url URL [options]\n\nPulls PanDA jobs for QUEUE, runs each payload, and reports to the server.'),
      async (argv) => {
        let opts;
        try {
          opts = toPilotOptions(argv as Record<string, unknown>);
        } catch (err) {
          process.stderr.write(`panda-pilot: ${(err as Error).message}\nTry panda-pilot --help\n`);
          code = USAGE;
          return;
        }
        code = opts.recoverDir !== undefined ? await runRecover({ ...opts, recoverDir: opts.recoverDir }) : await runPilot(opts);
      },
    )
    .command(
      'doctor',
      'check this node against the server and queue: reachability, round trip, proxy, credentials, cgroups, resources, release, queue data; exit 0 when ready',
      (b) => pilotFlags(b).option('pings', { type: 'number', default: 5, describe: 'round trips to time' }),
      async (argv) => {
        let opts;
        try {
          opts = toPilotOptions(argv as Record<string, unknown>);
        } catch (err) {
          process.stderr.write(`panda-pilot doctor: ${(err as Error).message}\n`);
          code = USAGE;
          return;
        }
        const pings = Number(argv.pings);
        code = await runDoctor(opts, Number.isInteger(pings) && pings > 0 ? pings : 5, out);
      },
    )
    .command(
      'worker-status',
      'tell the server this Harvester worker started or finished (the wrapper calls it; needs HARVESTER_ID, HARVESTER_WORKER_ID)',
      (b) => pilotFlags(b).option('status', { choices: ['started', 'finished'] as const, demandOption: true, describe: 'what to report' }),
      async (argv) => {
        code = await runWorkerStatus(argv as Record<string, unknown>);
      },
    )
    .command('config', 'site configuration commands', (b) =>
      b
        .command(
          'check <files..>',
          'validate site-config files (queues, resource types, queue data) and explain what they mean',
          (c) => c.positional('files', { type: 'string', array: true, demandOption: true, describe: 'JSON files or directories of them' }),
          (argv) => {
            code = checkConfig(argv.files as string[], out);
          },
        )
        .demandCommand(1, 'give a config command: check')
        .strict(),
    )
    .command('release', 'release tree commands', (b) =>
      b
        .command(
          'verify <dir>',
          'check a release tree against its MANIFEST.sha256 (missing, extra and modified files)',
          (c) => c.positional('dir', { type: 'string', demandOption: true, describe: 'a version directory, panda_env/, or panda_env/current' }),
          async (argv) => {
            code = await releaseVerify(argv.dir as string, out);
          },
        )
        .demandCommand(1, 'give a release command: verify')
        .strict(),
    )
    .epilog(
      "Admin commands:\n  panda-pilot config check FILE|DIR…   validate and explain site configuration\n  panda-pilot release verify DIR       check a release tree against its manifest\n  panda-pilot doctor -q QUEUE --url URL [--pings N]   is this node ready? a table, exit 0 or the first blocker's code\n  panda-pilot worker-status --status started|finished [pilot flags]   worker status report (wrapper)",
    )
    .version(VERSION)
    .help('h')
    .alias('h', 'help')
    .strict(false)
    .fail((msg, err) => {
      // Thrown so yargs runs no handler after a usage error; caught below.
      throw err ?? new UsageError(msg);
    })
    .wrap(Math.min(110, process.stdout.columns || 100));
  try {
    await y.parseAsync();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`panda-pilot: ${err.message}\nTry panda-pilot --help\n`);
    return USAGE;
  }
  return code;
}
