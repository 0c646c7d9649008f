/**
 * The pilot's command line: the default command pulls and runs jobs (the
 * pilot3-compatible `panda-pilot -q QUEUE --url URL …`), and admin commands
 * check a site configuration, a release tree and the node. Flags are parsed
 * by ./flags.ts (node:util parseArgs underneath); a bad command line is a
 * usage error: one line naming the problem, "Try panda-pilot --help", exit 65.
 */
import { PilotExit } from '../lifecycle/index.js';
import { formatHelp, parseFlags, UsageError, type FlagSpec, type ParsedFlags } from './flags.js';
import { PILOT_FLAGS, toPilotOptions, VERSION } from './options.js';

/** Exit code of a command-line usage error (pilot3: general error). */
const USAGE = PilotExit.GENERAL;

const ADMIN_EPILOG =
  "Admin commands:\n  panda-pilot config check FILE|DIR…   validate and explain site configuration\n  panda-pilot release verify DIR       check a release tree against its manifest\n  panda-pilot doctor -q QUEUE --url URL [--pings N]   is this node ready? a table, exit 0 or the first blocker's code\n  panda-pilot worker-status --status started|finished [pilot flags]   worker status report (wrapper)";

const DOCTOR_FLAGS: readonly FlagSpec[] = [...PILOT_FLAGS, { name: 'pings', type: 'number', default: 5, describe: 'round trips to time' }];
const WORKER_STATUS_FLAGS: readonly FlagSpec[] = [
  ...PILOT_FLAGS,
  { name: 'status', type: 'string', choices: ['started', 'finished'], describe: 'what to report (required)' },
];

/** One command: its help and what it runs with the parsed flags. */
interface Command {
  readonly usage: string;
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  readonly epilog?: string;
  run(parsed: ParsedFlags, out: NodeJS.WritableStream): Promise<number>;
}

/** toPilotOptions' errors (a missing queue, a bad URL, a bad number) are usage errors too. */
function pilotOptions(values: Record<string, unknown>): ReturnType<typeof toPilotOptions> {
  try {
    return toPilotOptions(values);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function noPositionals(p: ParsedFlags): void {
  const extra = p.positionals.filter((a) => a !== '');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
}

// Each command's code is imported when it runs: a pilot start evaluates none of doctor's, config check's (zod) or release verify's.
const COMMANDS: Record<string, Command> = {
  $0: {
    usage: 'panda-pilot -q QUEUE --url URL [options]',
    description: 'Pulls PanDA jobs for QUEUE, runs each payload, and reports to the server.',
    flags: PILOT_FLAGS,
    epilog: ADMIN_EPILOG,
    async run(p) {
      noPositionals(p);
      const opts = pilotOptions(p.values);
      if (opts.recoverDir !== undefined) {
        const { runRecover } = await import('./run-recover.js');
        return runRecover({ ...opts, recoverDir: opts.recoverDir });
      }
      const { runPilot } = await import('./run-pilot.js');
      return runPilot(opts);
    },
  },
  doctor: {
    usage: 'panda-pilot doctor -q QUEUE --url URL [--pings N] [pilot flags]',
    description:
      'Checks this node against the server and queue: reachability, round trip, proxy, credentials, cgroups, resources, release, queue data; exit 0 when ready.',
    flags: DOCTOR_FLAGS,
    async run(p, out) {
      noPositionals(p);
      const opts = pilotOptions(p.values);
      const pings = Number(p.values.pings);
      const { runDoctor } = await import('./doctor.js');
      return runDoctor(opts, Number.isInteger(pings) && pings > 0 ? pings : 5, out);
    },
  },
  'worker-status': {
    usage: 'panda-pilot worker-status --status started|finished [pilot flags]',
    description: 'Tells the server this Harvester worker started or finished (the wrapper calls it; needs HARVESTER_ID, HARVESTER_WORKER_ID).',
    flags: WORKER_STATUS_FLAGS,
    async run(p) {
      noPositionals(p);
      if (p.values.status === undefined) throw new UsageError('--status is required (started or finished)');
      const { runWorkerStatus } = await import('./worker-status.js');
      return runWorkerStatus(p.values);
    },
  },
  config: {
    usage: 'panda-pilot config check FILE|DIR…',
    description: 'Validates site-config files (queues, resource types, queue data) and explains what they mean; exit 1 with file: field: problem.',
    flags: [],
    async run(p, out) {
      const [sub, ...files] = p.positionals;
      if (sub === undefined) throw new UsageError('give a config command: check');
      if (sub !== 'check') throw new UsageError(`unknown config command '${sub}' (there is: check)`);
      if (files.length === 0) throw new UsageError('config check needs one or more files or directories');
      const { checkConfig } = await import('./config-check.js');
      return checkConfig(files, out);
    },
  },
  release: {
    usage: 'panda-pilot release verify DIR',
    description:
      'Checks a release tree (a version directory, panda_env/, or panda_env/current) against its MANIFEST.sha256: missing, extra and modified files.',
    flags: [],
    async run(p, out) {
      const [sub, dir, ...extra] = p.positionals;
      if (sub === undefined) throw new UsageError('give a release command: verify');
      if (sub !== 'verify') throw new UsageError(`unknown release command '${sub}' (there is: verify)`);
      if (dir === undefined) throw new UsageError('release verify needs the release directory');
      if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
      const { releaseVerify } = await import('./release-verify.js');
      return releaseVerify(dir, out);
    },
  },
};

/** Runs the command line `args` (without node and script); resolves to the exit code. */
export async function runCommandLine(
  args: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const first = args[0];
  const name = first !== undefined && Object.hasOwn(COMMANDS, first) && first !== '$0' ? first : '$0';
  const command = COMMANDS[name]!;
  const prefix = name === '$0' ? 'panda-pilot' : `panda-pilot ${name}`;
  try {
    const parsed = parseFlags(name === '$0' ? args : args.slice(1), command.flags);
    if (parsed.help) {
      out.write(formatHelp(command));
      return PilotExit.OK;
    }
    if (parsed.version) {
      out.write(`${VERSION}\n`);
      return PilotExit.OK;
    }
    return await command.run(parsed, out);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`${prefix}: ${e.message}\nTry panda-pilot --help\n`);
    return USAGE;
  }
}
