/**
 * `panda-stub`: serve the local PanDA-compatible server, submit task files
 * to it, and show job status.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseQuirks, readManagementToken, REAL_SERVER_LIMITS, SERVER_QUIRKS, startStub, type Summary, type TokenAuthSettings } from '../index.js';
import { stderrLogger } from '../log.js';
import type { JobRecord, TaskRecord } from '../model/records.js';
import { StubClientError, getSummary, listJobs, listTasks, managementToken, submitTaskFile, uploadToCache } from './client.js';
import { Adler32 } from '../../../pilot/src/protocol/index.js';
import { resolveSiteCatalog } from './site-config.js';
import { formatJobTable } from './status-table.js';
import { formatOverview, type OverviewInput } from './status-overview.js';
import { OPENSEARCH_MAPPING, toBulkNdjson } from './opensearch.js';
import { runStubHarvester } from '../harvester/stub-harvester.js';
import { issueToken, JWKS_FILE } from './token-command.js';

/** `--data DIR` of the commands that write to a running stub: where it wrote its management token. */
const TOKEN_DIR_OPTION = { type: 'string', describe: "the stub's data dir, where it wrote its management token (else PANDA_STUB_TOKEN)" } as const;

interface ServeArgs {
  port: number;
  data: string;
  host: string;
  siteConfig: string | undefined;
  watchdogSent: number;
  watchdogHeartbeat: number;
  watchdogInterval: number;
  quirk: string[];
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  open: boolean;
  auth: 'none' | 'token';
  jwks: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
}

function readTokenAuth(args: ServeArgs): TokenAuthSettings | undefined {
  if (args.auth === 'none') return undefined;
  if (!args.jwks || !args.issuer || !args.audience) throw new StubClientError('--auth token needs --jwks FILE, --issuer ISS and --audience AUD');
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(args.jwks, 'utf8'));
  } catch (err) {
    throw new StubClientError(`--jwks ${args.jwks}: ${(err as Error).message}`, { cause: err });
  }
  if (!jwks || typeof jwks !== 'object' || !Array.isArray((jwks as { keys?: unknown }).keys))
    throw new StubClientError(`--jwks ${args.jwks}: not a JWKS ({"keys": [...]})`);
  return { jwks: jwks as TokenAuthSettings['jwks'], issuer: args.issuer, audience: args.audience };
}

function readTls(args: ServeArgs): { cert: Buffer; key: Buffer } | undefined {
  if (!args.tlsCert && !args.tlsKey) return undefined;
  if (!args.tlsCert || !args.tlsKey) throw new StubClientError('--tls-cert and --tls-key go together');
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new StubClientError(`--${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { cert: read('tls-cert', args.tlsCert), key: read('tls-key', args.tlsKey) };
}

async function serve(args: ServeArgs): Promise<void> {
  const log = stderrLogger();
  for (const [flag, v] of [
    ['watchdog-sent', args.watchdogSent],
    ['watchdog-heartbeat', args.watchdogHeartbeat],
    ['watchdog-interval', args.watchdogInterval],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new StubClientError(`--${flag} must be a positive number of seconds, got ${v}`);
  }
  let quirks;
  try {
    quirks = parseQuirks(args.quirk);
  } catch (err) {
    throw new StubClientError(`--quirk: ${(err as Error).message}`);
  }
  const siteCatalog = resolveSiteCatalog(args.siteConfig, log);
  const stub = await startStub({
    port: args.port,
    dataDir: args.data,
    host: args.host,
    log,
    engine: { siteCatalog },
    watchdog: { limits: { sentSec: args.watchdogSent, heartbeatSec: args.watchdogHeartbeat }, intervalSec: args.watchdogInterval },
    quirks,
    tls: readTls(args),
    tokenAuth: readTokenAuth(args),
    management: { open: args.open },
  });
  if (quirks.size > 0) log.warn({ quirks: [...quirks] }, 'reproducing real-server bugs on request');
  // The first stdout line is the contract with scripts and tests that start us.
  process.stdout.write(`listening ${stub.url}\n`);
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    void stub.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function submit(args: { file: string; url: string; data: string | undefined }): Promise<void> {
  const text = await readFile(args.file, 'utf8');
  const token = managementToken(args.data, process.env, readManagementToken);
  const reply = (await submitTaskFile(args.url, text, token)) as { tasks: { taskId: number; name: string; pandaIds: number[] }[] };
  for (const t of reply.tasks) {
    process.stderr.write(`task ${t.taskId} ${t.name}: ${t.pandaIds.length} job(s)\n`);
    process.stdout.write(`${t.taskId}\n`);
  }
}

async function upload(args: { file: string; url: string; data: string | undefined }): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(args.file);
  } catch (err) {
    throw new StubClientError(`cannot read ${args.file}: ${(err as Error).message}`);
  }
  const name = await uploadToCache(args.url, args.file, body, new Adler32().update(body).hex(), managementToken(args.data, process.env, readManagementToken));
  process.stderr.write(`uploaded ${args.file} (${body.length} bytes) as ${name}; put "sandbox": "${name}" in a task\n`);
  process.stdout.write(`${name}\n`);
}

async function status(args: { url: string; task: number | undefined }): Promise<void> {
  const reply = (await listJobs(args.url, args.task)) as { jobs: JobRecord[] };
  process.stdout.write(`${formatJobTable(reply.jobs)}\n`);
}

interface HarvesterArgs {
  url: string;
  accessPoint: string;
  queue: string;
  api: 'legacy' | 'v1';
  format: 'json' | 'cgi';
  label: string;
  pollMs: number;
  wait: number;
}

/** Plays Harvester for one push-mode worker; prints a JSON summary line; exit 0 when the worker ended (kill_worker). */
async function harvester(args: HarvesterArgs): Promise<void> {
  if (!Number.isFinite(args.wait) || args.wait <= 0) throw new StubClientError(`--wait must be a positive number of seconds, got ${args.wait}`);
  if (!Number.isFinite(args.pollMs) || args.pollMs <= 0) throw new StubClientError(`--poll-ms must be positive, got ${args.pollMs}`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(args.accessPoint, { recursive: true });
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  const result = await runStubHarvester({
    url: args.url,
    api: args.api,
    accessPoint: args.accessPoint,
    queue: args.queue,
    prodSourceLabel: args.label,
    format: args.format,
    harvesterId: process.env.HARVESTER_ID ?? 'stub-harvester',
    workerId: process.env.HARVESTER_WORKER_ID ?? String(process.pid),
    pollMs: args.pollMs,
    waitMs: args.wait * 1000,
    log: stderrLogger(),
    signal: stop.signal,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.stoppedBy === 'timeout') process.exitCode = 3;
}

async function overview(url: string): Promise<string> {
  const [summary, tasks] = (await Promise.all([getSummary(url), listTasks(url)])) as [Summary, { tasks: OverviewInput['tasks'] }];
  return formatOverview({ jobs: summary.jobs, updates: summary.updates.total, orderViolations: summary.order_violations, tasks: tasks.tasks, at: new Date() });
}

/** The overview, redrawn every `intervalSec` until interrupted (or `count` times). On a terminal the screen is cleared each time. */
async function watch(args: { url: string; intervalSec: number; count: number | undefined }): Promise<void> {
  if (!Number.isFinite(args.intervalSec) || args.intervalSec <= 0)
    throw new StubClientError(`--interval must be a positive number of seconds, got ${args.intervalSec}`);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (let n = 0; !stop.signal.aborted && (args.count === undefined || n < args.count); n += 1) {
      let text: string;
      try {
        text = await overview(args.url);
      } catch (err) {
        // A stub restarting is a moment to wait through, not a reason to quit the watch.
        text = `panda-stub at ${args.url}: ${(err as Error).message}`;
      }
      process.stdout.write(process.stdout.isTTY ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`);
      if (args.count !== undefined && n + 1 >= args.count) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, args.intervalSec * 1000);
        stop.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function exportJobs(args: { url: string; format: string; index: string }): Promise<void> {
  if (args.format === 'opensearch-mapping') {
    process.stdout.write(`${JSON.stringify({ mappings: OPENSEARCH_MAPPING }, null, 2)}\n`);
    return;
  }
  if (args.format !== 'opensearch') throw new StubClientError(`--format must be opensearch or opensearch-mapping, got ${args.format}`);
  const [jobs, tasks] = (await Promise.all([listJobs(args.url), listTasks(args.url)])) as [{ jobs: JobRecord[] }, { tasks: TaskRecord[] }];
  process.stdout.write(toBulkNdjson(jobs.jobs, tasks.tasks, args.index));
  process.stderr.write(`${jobs.jobs.length} job documents for index ${args.index}\n`);
}

/** Runs the CLI with `argv` (without node and script). */
export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('panda-stub')
    .command(
      'serve',
      'run the stub server',
      (y) =>
        y
          .option('port', { type: 'number', default: 0, describe: 'TCP port (0 = pick a free one)' })
          .option('data', { type: 'string', demandOption: true, describe: 'directory for the SQLite state' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'interface to listen on' })
          .option('site-config', {
            type: 'string',
            describe: "site-config directory for brokerage and queue data, or 'none' (default: the nearest site-config/ above the bundle or the working dir)",
          })
          .option('watchdog-sent', {
            type: 'number',
            default: REAL_SERVER_LIMITS.sentSec,
            describe: 'fail a sent job with no pilot reply after this many seconds (code 102)',
          })
          .option('watchdog-heartbeat', {
            type: 'number',
            default: REAL_SERVER_LIMITS.heartbeatSec,
            describe: 'fail a starting/running job without heartbeat after this many seconds (code 100)',
          })
          .option('watchdog-interval', { type: 'number', default: 60, describe: 'seconds between watchdog sweeps' })
          .option('quirk', {
            type: 'string',
            array: true,
            default: [] as string[],
            describe: `reproduce a known real-server bug (repeatable): ${Object.entries(SERVER_QUIRKS)
              .map(([k, v]) => `${k}: ${v}`)
              .join('; ')}`,
          })
          .option('tls-cert', { type: 'string', describe: 'serve https with this certificate (PEM, chain included)' })
          .option('tls-key', { type: 'string', describe: 'private key of --tls-cert (PEM)' })
          .option('open', {
            type: 'boolean',
            default: false,
            describe: 'management writes (submit, kill) need no token (they still need JSON and a Host naming this stub)',
          })
          .option('auth', {
            choices: ['none', 'token'] as const,
            default: 'none' as const,
            describe: "pilot calls: 'token' verifies bearer tokens as the real server does (needs --jwks, --issuer, --audience; https)",
          })
          .option('jwks', { type: 'string', describe: 'JWKS file of the token issuer (RS256 keys)' })
          .option('issuer', { type: 'string', describe: 'expected token issuer (iss)' })
          .option('audience', { type: 'string', describe: 'expected token audience (aud)' }),
      (a) =>
        serve({
          port: a.port,
          data: a.data,
          host: a.host,
          siteConfig: a['site-config'],
          watchdogSent: a['watchdog-sent'],
          watchdogHeartbeat: a['watchdog-heartbeat'],
          watchdogInterval: a['watchdog-interval'],
          quirk: a.quirk.map(String),
          tlsCert: a['tls-cert'],
          tlsKey: a['tls-key'],
          open: a.open,
          auth: a.auth,
          jwks: a.jwks,
          issuer: a.issuer,
          audience: a.audience,
        }),
    )
    .command(
      'submit <file>',
      'submit a task or workflow file; prints the task ids',
      (y) =>
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'task file (JSON)' })
          .option('url', { type: 'string', demandOption: true, describe: 'stub base URL' })
          .option('data', TOKEN_DIR_OPTION),
      (a) => submit({ file: a.file, url: a.url, data: a.data }),
    )
    .command(
      'upload <file>',
      "put a file (a user sandbox tarball, a script) in the stub's cache; prints the name to give as a task's sandbox",
      (y) =>
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'file to upload' })
          .option('url', { type: 'string', demandOption: true, describe: 'stub base URL' })
          .option('data', TOKEN_DIR_OPTION),
      (a) => upload({ file: a.file, url: a.url, data: a.data }),
    )
    .command(
      'status',
      'show jobs as a table, or with --watch the overview (tasks, progress, jobs by state) live',
      (y) =>
        y
          .option('url', { type: 'string', demandOption: true, describe: 'stub base URL' })
          .option('task', { type: 'number', describe: 'only jobs of this task id' })
          .option('watch', { type: 'boolean', default: false, describe: 'redraw the overview until interrupted' })
          .option('interval', { type: 'number', default: 2, describe: 'seconds between redraws with --watch' })
          .option('count', { type: 'number', describe: 'with --watch: stop after this many redraws' }),
      (a) => (a.watch ? watch({ url: a.url, intervalSec: a.interval, count: a.count }) : status({ url: a.url, task: a.task })),
    )
    .command(
      'harvester',
      "play Harvester for one push-mode worker: take a job from the stub, hand it over in the access point, relay the worker's files",
      (y) =>
        y
          .option('url', { type: 'string', demandOption: true, describe: 'stub base URL' })
          .option('access-point', { type: 'string', demandOption: true, describe: "the worker's access point (the pilot's --harvester-workdir)" })
          .option('q', { alias: 'queue', type: 'string', demandOption: true, describe: 'PanDA queue to take jobs for' })
          .option('api', { choices: ['legacy', 'v1'] as const, default: 'legacy' as const, describe: 'dialect Harvester speaks to the server' })
          .option('format', {
            choices: ['json', 'cgi'] as const,
            default: 'json' as const,
            describe: 'job spec file: HPCJobs.json (json) or pandaJobData.out (cgi)',
          })
          .option('j', { alias: 'label', type: 'string', default: 'managed', describe: 'prodSourceLabel' })
          .option('poll-ms', { type: 'number', default: 200, describe: 'how often the access point is read' })
          .option('wait', { type: 'number', default: 600, describe: 'seconds to wait for a job, then for the worker to end' }),
      (a) =>
        harvester({ url: a.url, accessPoint: a['access-point'], queue: a.q, api: a.api, format: a.format, label: a.j, pollMs: a['poll-ms'], wait: a.wait }),
    )
    .command(
      'export',
      "print job records for another system: --format opensearch is NDJSON for OpenSearch's _bulk API; opensearch-mapping is the index mapping",
      (y) =>
        y
          .option('url', { type: 'string', demandOption: true, describe: 'stub base URL' })
          .option('format', { type: 'string', default: 'opensearch', describe: 'opensearch | opensearch-mapping' })
          .option('index', { type: 'string', default: 'panda-jobs', describe: 'the _index of every action line' }),
      (a) => exportJobs({ url: a.url, format: a.format, index: a.index }),
    )
    .command(
      'token',
      `print an ID token for an identity, signed by the key in --keys DIR (made on first use; serve verifies with --auth token --jwks DIR/${JWKS_FILE})`,
      (y) =>
        y
          .option('keys', { type: 'string', demandOption: true, describe: `folder of the signing key (signing-key.pem, 0600) and its ${JWKS_FILE}` })
          .option('issuer', { type: 'string', demandOption: true, describe: "the token's iss (serve's --issuer)" })
          .option('audience', { type: 'string', demandOption: true, describe: "the token's aud (serve's --audience)" })
          .option('subject', { type: 'string', default: 'pilot', describe: "the token's sub" })
          .option('group', { type: 'string', array: true, default: ['Rubin/production'], describe: '<vo>/<role> groups (the pilot sends Origin: <vo>.<role>)' })
          .option('lifetime', { type: 'number', default: 3600, describe: 'seconds until it expires' }),
      async (a) => {
        const token = await issueToken(a.keys, {
          issuer: a.issuer,
          audience: a.audience,
          subject: a.subject,
          groups: a.group.map(String),
          lifetimeSec: a.lifetime,
        });
        process.stdout.write(`${token}\n`);
      },
    )
    .demandCommand(1, 'give a command: serve, submit, upload, status, export, harvester or token')
    .strict()
    .help()
    .fail((msg, err) => {
      throw err ?? new StubClientError(msg);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch((err: unknown) => {
  process.stderr.write(`panda-stub: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof StubClientError ? 2 : 1);
});
