/**
 * Command-line flags → PilotOptions. Accepts the flags sites and Harvester
 * already pass to pilot3, so this pilot drops into existing wrappers; flags
 * that only matter to pilot3 are accepted and ignored.
 */
import path from 'node:path';
import { DEFAULT_ES_SETTINGS, type EsSettings } from '../eventservice/index.js';
import { parseSubmitMode, type HarvesterFlags } from '../harvester/index.js';
import type { FlagSpec } from './flags.js';

export interface PilotOptions {
  queue: string;
  site: string;
  url: string;
  api: 'legacy' | 'v1' | 'auto';
  prodSourceLabel: string;
  workdir: string;
  maxJobs: number;
  heartbeatSec: number;
  debugHeartbeatSec: number;
  getjobWaitSec: number;
  pollSec: number;
  slots: number;
  lifetimeSec: number;
  killGraceSec: number;
  /** Cores / MB of the allocation, overriding what the batch system or cgroup says. */
  coresOverride: number | undefined;
  /** `--drain-file`: its existence stops the pilot taking jobs (default `DRAIN` in the work dir). */
  drainFile: string;
  /** Cap of the idle backoff between empty getJob replies, seconds. */
  pollMaxSec: number;
  /** pilot3's -v / -x: getJob request and failure limits (0: none). */
  maxGetJobRequests: number;
  maxGetJobFailures: number;
  /** Benchmark baseline only: no pipelined dispatch. */
  noPipeline: boolean;
  /** Keep every job dir (debugging); by default an acknowledged job's dir is removed once its log is safe. */
  keepJobDirs: boolean;
  /** The batch system's time between its SIGTERM and its SIGKILL: after a signal, everything must fit in it. */
  signalGraceSec: number;
  finalDeadlineSec: number;
  timeoutSec: number;
  resourceType: string | undefined;
  jobType: string | undefined;
  memMB: number | undefined;
  diskMB: number | undefined;
  pilotUser: string;
  /** Harvester flags (push mode is decided from them and the environment at start). */
  harvester: HarvesterFlags;
  /** pilot3 flags given on the command line that have no effect here (logged once each). */
  notApplicable: string[];
  caFile: string | undefined;
  /** `--capath DIR` (else `X509_CERT_DIR`): hashed CA directory. */
  caDir: string | undefined;
  /** `--payload-credentials`: which of the pilot's credentials the payload inherits (default none). */
  payloadCredentials: PayloadCredentialKind[];
  /** `--proxy-min-lifetime`: an X.509 proxy with less left ends the pilot (1382, exit 80). */
  proxyMinLifetimeSec: number;
  /** false with pilot3's `-t`/`--noproxyverification`: the X.509 proxy is not checked at start (pilot3's verify_proxy). */
  verifyProxy: boolean;
  logLevel: string;
  quiet: boolean;
  /** `--queuedata FILE|URL` (or pilot3's `--queuedata-url`). */
  queuedata: string | undefined;
  /** Options the command line set; queue data does not override these. */
  given: ReadonlySet<keyof PilotOptions>;
  monitor: MonitorFlags;
  /** `--recover DIR`: only re-send the final updates kept under DIR, then exit. */
  recoverDir: string | undefined;
  /** Whether --url was given (recovery otherwise uses the URL each kept update names). */
  urlGiven: boolean;
  bulkHeartbeats: boolean;
  /** Cap of the update retry backoff, seconds. */
  retryMaxDelaySec: number;
  /** Benchmark baseline only: unordered updates. */
  naiveUpdates: boolean;
  /** Event-service executor settings. */
  eventService: EsSettings;
  /** Log tarball caps and stage-out. */
  files: FileFlags;
  /** `--use-realtime-logging`: the log server's URL, and files besides stdout; null when off. */
  realtime: { serverUrl: string | undefined; logFiles: string | undefined } | null;
}

/** `--log-destination` and friends. */
export interface FileFlags {
  /** Directory or URL; overrides the queue data's copytools. */
  logDestination: string | undefined;
  stageoutTimeoutSec: number;
  stageoutAttempts: number;
  logMemberMaxMB: number;
  logMaxMB: number;
}

/** Credentials a payload may inherit when the site asks (`--payload-credentials token,x509`). */
export const PAYLOAD_CREDENTIAL_KINDS = ['token', 'x509'] as const;
export type PayloadCredentialKind = (typeof PAYLOAD_CREDENTIAL_KINDS)[number];

/** Payload monitoring and watchdog flags (0 switches a limit off). */
export interface MonitorFlags {
  intervalSec: number;
  cgroups: 'auto' | 'off';
  cgroupLimit: 'job' | 'slot' | 'none';
  memoryGracePct: number;
  maxRss: number | 'job' | null;
  loopingLimitSec: number | null;
  maxtimeSec: number | null;
  minDiskMB: number | null;
  maxStdoutMB: number | null;
}

/** Defaults of the options a queue's data may also set (applied when neither gives one). */
export const TUNABLE_DEFAULTS = {
  slots: 1,
  lifetimeSec: 324000,
  heartbeatSec: 1800,
  getjobWaitSec: 60,
  prodSourceLabel: 'managed',
  pilotUser: 'generic',
} as const;

export const DEFAULT_URL = 'http://127.0.0.1:25080';

/** package.json's version, put in by the build (build.mjs) and by vitest's config: one string, no copies. */
export const VERSION: string = __PILOT_VERSION__;

/**
 * pilot3 flags (its arguments.py) that have no effect here; accepted so
 * existing wrappers and Harvester templates keep working, and logged once
 * each as not applicable when given. The README's pilot3 table says why.
 */
export const PILOT3_IGNORED_FLAGS: Record<string, { alias?: string; type: 'string' | 'boolean' | 'number'; why: string }> = {
  i: { alias: 'versiontag', type: 'string', why: 'version tag (PR/RC): one release per version here' },
  w: { alias: 'workflow', type: 'string', why: 'pilot3 workflow plugin: one workflow here' },
  u: { alias: 'verifypayloadproxy', type: 'boolean', why: 'no payload proxy verification: the pilot never verifies a proxy' },
  y: { alias: 'notokenrenewal', type: 'boolean', why: 'no token renewal: tokens are re-read when their file changes' },
  b: { alias: 'nocvmfs', type: 'boolean', why: 'no cvmfs checks: the wrapper checks the release tree' },
  k: { alias: 'noworkerpilotstatusupdate', type: 'boolean', why: 'worker status updates: the wrapper sends them (runpilot.sh -k is not passed here)' },
  L: { alias: 'leasetime', type: 'number', why: 'lease time: not used by pilot3 either' },
  cleanup: { type: 'string', why: 'the job dir is removed by the wrapper (--keep-workdir)' },
  'no-pilot-log': { type: 'boolean', why: 'the log file is always written (use --quiet for stderr)' },
  'redirect-stdout': { type: 'string', why: 'the batch system captures stdout' },
  'country-group': { type: 'string', why: 'getJob country group: not used by Rubin' },
  'working-group': { type: 'string', why: 'getJob working group: not used by Rubin' },
  'allow-other-country': { type: 'string', why: 'not used by Rubin' },
  'allow-same-user': { type: 'string', why: 'multi-job user pinning: not used by Rubin' },
  'input-dir': { type: 'string', why: 'HPC input staging: not supported' },
  'input-destination-dir': { type: 'string', why: 'HPC input staging: not supported' },
  'output-dir': { type: 'string', why: 'HPC output staging: not supported' },
  'hpc-resource': { type: 'string', why: 'HPC plugins: not supported' },
  'hpc-mode': { type: 'string', why: 'HPC plugins: not supported' },
  'es-executor-type': { type: 'string', why: 'one event-service executor here (generic/raythena alike)' },
  pod: { type: 'boolean', why: 'Kubernetes pod mode: the pilot behaves the same in a pod' },
  'storagedata-url': { type: 'string', why: 'no DDM endpoint data here' },
  'subscribe-to-msgsvc': { type: 'boolean', why: 'no ActiveMQ job delivery' },
  'use-https': { type: 'string', why: 'the scheme of --url decides' },
  g: { alias: 'baseurls', type: 'string', why: 'trf download base URLs: payloads come with the release' },
  'realtime-logname': { type: 'string', why: "the live log stream is named by the job's labels" },
  'use-rucio-traces': { type: 'string', why: 'no Rucio here' },
  'rucio-host': { type: 'string', why: 'no Rucio here' },
};

/** The pull command's flags (also taken by doctor and worker-status): ours and pilot3's. */
export const PILOT_FLAGS: readonly FlagSpec[] = [
  { name: 'q', alias: ['queue'], type: 'string', describe: 'PanDA queue (required)' },
  {
    name: 'r',
    alias: ['resource'],
    type: 'string',
    describe: 'site name when -s is not given (pilot3: obsolete resource name; Harvester passes the site here)',
  },
  { name: 's', alias: ['site'], type: 'string', describe: 'site name sent in getJob (defaults to the queue)' },
  { name: 'url', type: 'string', describe: `PanDA server URL (default ${DEFAULT_URL})` },
  { name: 'p', alias: ['port'], type: 'number', describe: 'server port, added to --url when it has none' },
  { name: 'api', type: 'string', choices: ['legacy', 'v1', 'auto'], default: 'auto', describe: 'server dialect' },
  { name: 'j', alias: ['job-label', 'joblabel'], type: 'string', defaultDescription: TUNABLE_DEFAULTS.prodSourceLabel, describe: 'prodSourceLabel to ask for' },
  { name: 'a', alias: ['workdir'], type: 'string', describe: 'parent of the pilot work dir (default: current dir)' },
  { name: 'max-jobs', type: 'number', default: 0, describe: 'stop after this many jobs (0: no limit)' },
  { name: 'heartbeat', type: 'number', defaultDescription: String(TUNABLE_DEFAULTS.heartbeatSec), describe: 'heartbeat interval, seconds' },
  { name: 'debug-heartbeat', type: 'number', default: 60, describe: 'heartbeat interval in debug mode, seconds' },
  {
    name: 'getjob-wait',
    type: 'number',
    defaultDescription: String(TUNABLE_DEFAULTS.getjobWaitSec),
    describe: 'keep asking for jobs this long after the last one, seconds',
  },
  { name: 'getjob-poll', type: 'number', default: 5, describe: 'seconds between getJob calls while the server has none' },
  { name: 'slots', type: 'number', defaultDescription: 'queue corecount, else 1', describe: 'jobs to run side by side' },
  {
    name: 'l',
    alias: ['lifetime'],
    type: 'number',
    defaultDescription: `${TUNABLE_DEFAULTS.lifetimeSec}, at most the queue's maxtime`,
    describe: 'pilot lifetime, seconds',
  },
  {
    name: 'kill-grace',
    type: 'number',
    default: 10,
    describe: 'SIGTERM → SIGKILL grace for a payload or event range, seconds (once the pilot stops, at most half of what is left of --signal-grace)',
  },
  { name: 'cores', type: 'number', describe: "cores of the allocation (default: the batch system's, else the usable CPUs)" },
  {
    name: 'drain-file',
    type: 'string',
    describe: 'when this file exists the pilot takes no more jobs, finishes, reports and exits 0 (default: DRAIN in the work dir)',
  },
  {
    name: 'getjob-poll-max',
    type: 'number',
    default: 300,
    describe: 'cap of the pause between empty getJob replies, which doubles from --getjob-poll, seconds',
  },
  { name: 'v', alias: ['getjobrequests'], type: 'number', default: 0, describe: 'stop after this many getJob requests (0: no limit)' },
  { name: 'x', alias: ['getjobfailures'], type: 'number', default: 0, describe: 'stop after this many failed getJob requests (0: no limit)' },
  {
    name: 'keep-job-dirs',
    type: 'boolean',
    default: false,
    describe: "keep each job's dir after it reported (default: removed once its final update is acknowledged and its log is safe)",
  },
  {
    name: 'no-pipeline',
    type: 'boolean',
    default: false,
    hidden: true,
    describe: 'benchmark baseline: ask for the next job only after the previous one reported',
  },
  {
    name: 'signal-grace',
    type: 'number',
    default: 30,
    describe:
      "the pilot's one cut-off once it stops (a signal or its lifetime): the batch system's SIGTERM → SIGKILL time (Slurm KillWait), seconds; payloads' grace, range reports, the log's stage-out and the final update fit in it",
  },
  { name: 'final-deadline', type: 'number', default: 1200, describe: 'retry the final update this long before keeping it on disk, seconds' },
  { name: 'timeout', type: 'number', default: 60, describe: 'per-request server timeout, seconds' },
  {
    name: 'resource-type',
    type: 'string',
    defaultDescription: "the queue's, when its memory range implies one",
    describe: 'resource type to ask for (e.g. U4G)',
  },
  {
    name: 'queuedata',
    alias: ['queuedata-url'],
    type: 'string',
    describe: "queue data file or URL (default: the release tree's, else the server's /cache/schedconfig/<queue>.all.json)",
  },
  { name: 'job-type', type: 'string', describe: 'job type sent in getJob' },
  { name: 'mem', type: 'number', defaultDescription: "the queue's maxrss", describe: 'memory (MB) offered in getJob' },
  { name: 'disk', type: 'number', describe: 'disk (MB) offered in getJob' },
  { name: 'pilot-user', type: 'string', defaultDescription: TUNABLE_DEFAULTS.pilotUser, describe: 'experiment plugin (rubin, generic)' },
  { name: 'harvester-submit-mode', type: 'string', default: 'PULL', describe: 'PUSH: Harvester hands the job over in the access point (any case)' },
  { name: 'harvester-workdir', type: 'string', describe: 'Harvester access point (or $HARVESTER_WORKDIR)' },
  { name: 'harvester-datadir', type: 'string', describe: 'where pandaJobData.out is (push mode)' },
  { name: 'harvester-eventstatusdump', type: 'string', describe: 'event_status.dump.json path (push mode)' },
  { name: 'harvester-workerattributes', type: 'string', describe: 'worker_attributes.json path (push mode)' },
  {
    name: 'z',
    alias: ['noserverupdate'],
    type: 'boolean',
    default: false,
    describe: 'send no update to the server (with a Harvester access point: push mode)',
  },
  { name: 'cacert', type: 'string', describe: 'CA bundle for https' },
  { name: 'capath', type: 'string', describe: 'hashed CA directory for https (default: X509_CERT_DIR)' },
  { name: 'proxy-min-lifetime', type: 'number', default: 600, describe: 'least lifetime an X.509 proxy must have left at start, seconds (else 1382, exit 80)' },
  { name: 't', alias: ['noproxyverification'], type: 'boolean', describe: "pilot3's -t: skip the X.509 proxy checks at start (1163, 1373, 1382)" },
  {
    name: 'payload-credentials',
    type: 'string',
    default: 'none',
    describe: 'credentials the payload inherits: none, or a list of token (token variables and file), x509 (X509_USER_PROXY)',
  },
  { name: 'monitor-interval', type: 'number', default: 60, describe: 'seconds between payload monitor samples' },
  {
    name: 'cgroups',
    type: 'string',
    choices: ['auto', 'off'],
    default: 'auto',
    describe: 'put each payload in its own memory cgroup when the pilot may (root or delegated)',
  },
  {
    name: 'cgroup-limit',
    type: 'string',
    choices: ['job', 'slot', 'none'],
    default: 'job',
    describe: "payload cgroup memory limit: the job's minRamCount (else --mem), --mem, or none",
  },
  { name: 'memory-grace', type: 'number', default: 0, describe: 'percent added to the memory limit' },
  { name: 'max-rss', type: 'string', describe: "pilot's own memory watchdog (1235): MB, or 'job' (the job's memory where no cgroup enforces it)" },
  { name: 'looping-limit', type: 'number', default: 7200, describe: 'kill a payload whose job dir had no file modified for this long, seconds (0: off)' },
  { name: 'maxtime', type: 'number', default: 0, describe: 'queue maxtime: walltime limit for jobs without maxWalltime, seconds (0: none)' },
  { name: 'min-disk', type: 'number', default: 1024, describe: 'free MB the job dir must keep while the payload runs (0: off)' },
  { name: 'max-stdout', type: 'number', default: 0, describe: 'largest payload stdout+stderr, MB (0: no limit)' },
  { name: 'd', alias: ['debug'], type: 'boolean', default: false, describe: 'debug logging' },
  { name: 'log-level', type: 'string', describe: 'pino log level (overrides -d)' },
  { name: 'quiet', type: 'boolean', default: false, describe: 'no log lines on stderr (the log file still gets them)' },
  { name: 'bulk-heartbeats', type: 'boolean', default: false, describe: "send the heartbeats of this pilot's jobs as one bulk request per interval" },
  {
    name: 'recover',
    type: 'string',
    describe: 're-send the unacknowledged final updates and range reports kept under DIR (final-update.json, range-reports.json), then exit',
  },
  { name: 'retry-max-delay', type: 'number', default: 60, hidden: true, describe: 'cap of the update retry backoff, seconds' },
  { name: 'naive-updates', type: 'boolean', default: false, hidden: true, describe: 'benchmark baseline: fire updates unordered' },
  { name: 'es-cores', type: 'number', describe: "event ranges run side by side (default: RUBIN_ES_CORES, else the job's coreCount)" },
  {
    name: 'es-fatal-exit-codes',
    type: 'string',
    default: DEFAULT_ES_SETTINGS.fatalExitCodes.join(','),
    describe: 'range exit codes reported fatal (never retried), comma-separated',
  },
  {
    name: 'es-looping-limit',
    type: 'number',
    default: DEFAULT_ES_SETTINGS.loopingLimitSec,
    describe: 'stop a range whose directory saw no file change this long, seconds (0: off)',
  },
  { name: 'use-realtime-logging', type: 'boolean', default: false, describe: 'send payload stdout (and REALTIME_LOGFILES) live to --realtime-logging-server' },
  { name: 'realtime-logging-server', type: 'string', describe: 'live log endpoint speaking the Loki push API (base URL; /loki/api/v1/push is added)' },
  {
    name: 'realtime-logfiles',
    type: 'string',
    describe: 'comma-separated JSON-lines files in the job dir sent live besides stdout (default: REALTIME_LOGFILES)',
  },
  {
    name: 'log-destination',
    type: 'string',
    describe: "where log tarballs go: a directory, file:///dir or http(s)://host/collection (WebDAV PUT); default the queue data's copytools log_destination",
  },
  { name: 'stageout-timeout', type: 'number', default: 1800, describe: 'per-attempt log stage-out deadline, seconds (1152 when the last attempt times out)' },
  { name: 'stageout-attempts', type: 'number', default: 3, describe: 'log stage-out attempts before 1137' },
  { name: 'log-member-max', type: 'number', default: 20, describe: 'largest file in the log tarball, MB (longer ones keep head and tail)' },
  { name: 'log-max', type: 'number', default: 100, describe: 'largest total of the log tarball members, MB' },
  {
    name: 'es-report-delay',
    type: 'number',
    default: DEFAULT_ES_SETTINGS.reportDelayMs / 1000,
    describe: 'longest a range result waits to be sent with others, seconds',
  },
  {
    name: 'es-report-attempts',
    type: 'number',
    default: DEFAULT_ES_SETTINGS.reportAttempts,
    describe: 'tries per range report batch; then its reports are kept on disk (range-reports.json) for recovery',
  },
  // pilot3 flags with no effect here: accepted, hidden from the help, logged once when given.
  ...Object.entries(PILOT3_IGNORED_FLAGS).map(([name, spec]): FlagSpec => ({
    name,
    type: spec.type,
    hidden: true,
    describe: spec.why,
    ...(spec.alias ? { alias: [spec.alias] } : {}),
  })),
];

/** Adds -p to a URL that has no port of its own. */
export function serverUrl(url: string, port: number | undefined): string {
  const u = new URL(url);
  if (port && !u.port) u.port = String(port);
  return u.toString().replace(/\/+$/, '');
}

function positive(name: string, v: number, allowZero = false): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
    throw new Error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`);
  return v;
}

/** Option name → the flag that sets it, for the options queue data may also set. */
const TUNABLE_FLAGS: Record<string, keyof PilotOptions> = {
  slots: 'slots',
  l: 'lifetimeSec',
  heartbeat: 'heartbeatSec',
  'getjob-wait': 'getjobWaitSec',
  j: 'prodSourceLabel',
  'pilot-user': 'pilotUser',
  mem: 'memMB',
  'resource-type': 'resourceType',
};

export function toPilotOptions(argv: Record<string, unknown>, cwd = process.cwd()): PilotOptions {
  const recoverDir = argv.recover as string | undefined;
  if (recoverDir === '') throw new Error('--recover needs a directory');
  // --recover needs no queue: it only re-sends what earlier pilots kept.
  const queue = (argv.q as string | undefined) ?? '';
  const given = new Set(
    Object.entries(TUNABLE_FLAGS)
      .filter(([flag]) => argv[flag] !== undefined)
      .map(([, key]) => key),
  );
  const orDefault = <T>(v: unknown, d: T): T => (v === undefined ? d : (v as T));
  if (!queue && recoverDir === undefined) throw new Error('-q/--queue is required');
  const urlGiven = argv.url !== undefined;
  let url: string;
  try {
    url = serverUrl((argv.url as string | undefined) ?? DEFAULT_URL, argv.p as number | undefined);
  } catch {
    throw new Error(`--url is not a URL: ${String(argv.url)}`);
  }
  return {
    queue,
    site: (argv.s as string | undefined) ?? (argv.r as string | undefined) ?? queue,
    url,
    api: argv.api as PilotOptions['api'],
    prodSourceLabel: orDefault(argv.j, TUNABLE_DEFAULTS.prodSourceLabel),
    workdir: (argv.a as string | undefined) ?? cwd,
    maxJobs: positive('max-jobs', argv['max-jobs'] as number, true),
    heartbeatSec: positive('heartbeat', orDefault(argv.heartbeat, TUNABLE_DEFAULTS.heartbeatSec)),
    debugHeartbeatSec: positive('debug-heartbeat', argv['debug-heartbeat'] as number),
    getjobWaitSec: positive('getjob-wait', orDefault(argv['getjob-wait'], TUNABLE_DEFAULTS.getjobWaitSec), true),
    pollSec: positive('getjob-poll', argv['getjob-poll'] as number),
    slots: Math.floor(positive('slots', orDefault(argv.slots, TUNABLE_DEFAULTS.slots))),
    lifetimeSec: positive('lifetime', orDefault(argv.l, TUNABLE_DEFAULTS.lifetimeSec)),
    killGraceSec: positive('kill-grace', argv['kill-grace'] as number, true),
    coresOverride: argv.cores === undefined ? undefined : Math.floor(positive('cores', argv.cores as number)),
    drainFile: path.resolve((argv.a as string | undefined) ?? cwd, (argv['drain-file'] as string | undefined) ?? 'DRAIN'),
    pollMaxSec: positive('getjob-poll-max', (argv['getjob-poll-max'] as number | undefined) ?? 300),
    maxGetJobRequests: Math.floor(positive('v', (argv.v as number | undefined) ?? 0, true)),
    maxGetJobFailures: Math.floor(positive('x', (argv.x as number | undefined) ?? 0, true)),
    noPipeline: Boolean(argv['no-pipeline']),
    keepJobDirs: Boolean(argv['keep-job-dirs']),
    signalGraceSec: positive('signal-grace', (argv['signal-grace'] as number | undefined) ?? 30),
    finalDeadlineSec: positive('final-deadline', argv['final-deadline'] as number),
    timeoutSec: positive('timeout', argv.timeout as number),
    resourceType: argv['resource-type'] as string | undefined,
    jobType: argv['job-type'] as string | undefined,
    memMB: argv.mem as number | undefined,
    diskMB: argv.disk as number | undefined,
    pilotUser: orDefault(argv['pilot-user'], TUNABLE_DEFAULTS.pilotUser),
    harvester: harvesterFlags(argv),
    notApplicable: Object.keys(PILOT3_IGNORED_FLAGS).filter((flag) => argv[flag] !== undefined && argv[flag] !== false),
    caFile: argv.cacert as string | undefined,
    caDir: argv.capath as string | undefined,
    payloadCredentials: payloadCredentials(argv['payload-credentials']),
    proxyMinLifetimeSec: positive('proxy-min-lifetime', (argv['proxy-min-lifetime'] as number | undefined) ?? 600, true),
    verifyProxy: argv.t !== true,
    logLevel: (argv['log-level'] as string | undefined) ?? (argv.d ? 'debug' : 'info'),
    quiet: argv.quiet as boolean,
    queuedata: argv.queuedata as string | undefined,
    given,
    monitor: toMonitorFlags(argv),
    recoverDir,
    urlGiven,
    bulkHeartbeats: Boolean(argv['bulk-heartbeats']),
    retryMaxDelaySec: positive('retry-max-delay', (argv['retry-max-delay'] as number | undefined) ?? 60),
    naiveUpdates: Boolean(argv['naive-updates']),
    eventService: esSettings(argv),
    realtime: argv['use-realtime-logging']
      ? { serverUrl: argv['realtime-logging-server'] as string | undefined, logFiles: argv['realtime-logfiles'] as string | undefined }
      : null,
    files: {
      logDestination: argv['log-destination'] as string | undefined,
      stageoutTimeoutSec: positive('stageout-timeout', (argv['stageout-timeout'] as number | undefined) ?? 1800),
      stageoutAttempts: Math.floor(positive('stageout-attempts', (argv['stageout-attempts'] as number | undefined) ?? 3)),
      logMemberMaxMB: positive('log-member-max', (argv['log-member-max'] as number | undefined) ?? 20),
      logMaxMB: positive('log-max', (argv['log-max'] as number | undefined) ?? 100),
    },
  };
}

function harvesterFlags(argv: Record<string, unknown>): HarvesterFlags {
  const submitMode = String(argv['harvester-submit-mode'] ?? 'PULL');
  parseSubmitMode(submitMode); // a usage error now, not after the pilot started
  return {
    submitMode,
    workdir: argv['harvester-workdir'] as string | undefined,
    datadir: argv['harvester-datadir'] as string | undefined,
    eventStatusDump: argv['harvester-eventstatusdump'] as string | undefined,
    workerAttributes: argv['harvester-workerattributes'] as string | undefined,
    noServerUpdate: Boolean(argv.z),
  };
}

function payloadCredentials(raw: unknown): PayloadCredentialKind[] {
  const items = String(raw ?? 'none')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c && c !== 'none');
  for (const c of items) {
    if (!(PAYLOAD_CREDENTIAL_KINDS as readonly string[]).includes(c))
      throw new Error(`--payload-credentials takes none or a list of ${PAYLOAD_CREDENTIAL_KINDS.join(', ')}; got ${c}`);
  }
  return items as PayloadCredentialKind[];
}

function esSettings(argv: Record<string, unknown>): EsSettings {
  const cores = argv['es-cores'] as number | undefined;
  const codes = String(argv['es-fatal-exit-codes'] ?? DEFAULT_ES_SETTINGS.fatalExitCodes.join(','))
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (!codes.every((c) => /^\d{1,3}$/.test(c))) throw new Error(`--es-fatal-exit-codes must list exit codes, got ${String(argv['es-fatal-exit-codes'])}`);
  return {
    ...DEFAULT_ES_SETTINGS,
    cores: cores === undefined ? undefined : Math.floor(positive('es-cores', cores)),
    fatalExitCodes: codes.map(Number),
    loopingLimitSec: positive('es-looping-limit', (argv['es-looping-limit'] as number | undefined) ?? DEFAULT_ES_SETTINGS.loopingLimitSec, true),
    reportDelayMs: positive('es-report-delay', (argv['es-report-delay'] as number | undefined) ?? DEFAULT_ES_SETTINGS.reportDelayMs / 1000, true) * 1000,
    reportAttempts: Math.max(
      1,
      Math.floor(positive('es-report-attempts', (argv['es-report-attempts'] as number | undefined) ?? DEFAULT_ES_SETTINGS.reportAttempts)),
    ),
  };
}

const offWhenZero = (name: string, v: unknown): number | null => (positive(name, v as number, true) === 0 ? null : (v as number));

function toMonitorFlags(argv: Record<string, unknown>): MonitorFlags {
  const rawMaxRss = argv['max-rss'] as string | undefined;
  let maxRss: MonitorFlags['maxRss'] = null;
  if (rawMaxRss === 'job') maxRss = 'job';
  else if (rawMaxRss !== undefined && rawMaxRss !== '') {
    const mb = Number(rawMaxRss);
    if (!Number.isFinite(mb) || mb <= 0) throw new Error(`--max-rss must be a positive number of MB or 'job', got ${rawMaxRss}`);
    maxRss = mb;
  }
  return {
    intervalSec: positive('monitor-interval', argv['monitor-interval'] as number),
    cgroups: argv.cgroups as MonitorFlags['cgroups'],
    cgroupLimit: argv['cgroup-limit'] as MonitorFlags['cgroupLimit'],
    memoryGracePct: positive('memory-grace', argv['memory-grace'] as number, true),
    maxRss,
    loopingLimitSec: offWhenZero('looping-limit', argv['looping-limit']),
    maxtimeSec: offWhenZero('maxtime', argv.maxtime),
    minDiskMB: offWhenZero('min-disk', argv['min-disk']),
    maxStdoutMB: offWhenZero('max-stdout', argv['max-stdout']),
  };
}
