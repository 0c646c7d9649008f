/** Wires the pilot together from its options: the I/O edge of the pull loop. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import path from 'node:path';
import { readAllocation, readBatchIdentity, type Allocation, type BatchIdentity } from '../config/index.js';
import { PilotError } from '../errors/index.js';
import { canCreateChildren, discoverMemoryCgroup, type CgroupLocation } from '../monitor/index.js';
import {
  installSignalHandlers,
  PilotExit,
  pilotExitCode,
  pilotStopOf,
  ResourcePool,
  runPilotLoop,
  withoutCredentials,
  type JobContext,
  type PilotLoopOptions,
  type PilotLoopResult,
} from '../lifecycle/index.js';
import { createLogger } from '../log/index.js';
import { createPilotHome, killLeftoverPayloads } from '../run/index.js';
import { Deadline } from '../retry/index.js';
import { refreshSettingsFromEnv, selectDialect, TokenRefresher, tokenRouteProblem, tokenSourceFromEnv } from '../server/index.js';
import type { Logger } from 'pino';
import type { MonitorSettings } from '../lifecycle/index.js';
import type { QueueLimits } from '../config/index.js';
import { BulkHeartbeatBatcher } from '../report/index.js';
import { recoverEarlierFinals, updateBackoff } from './update-setup.js';
import { PILOT3_IGNORED_FLAGS, VERSION, type PilotOptions } from './options.js';
import { setUpQueue, type QueueTransfers } from './queue-setup.js';
import { chooseLogDestination, DEFAULT_STAGEOUT } from '../transfer/index.js';
import type { HttpTransport } from '../server/index.js';
import { defaultPreparation, type JobFileSettings, type RealtimeSettings } from '../lifecycle/index.js';
import { pushServer } from './push-setup.js';
import { transportMode, type HarvesterPushServer } from '../harvester/index.js';
import { serverTransport } from './server-transport.js';
import { checkToken, checkX509, type CredentialCheck } from './credential-setup.js';
import { errorCodeName, type PandaServer } from '../protocol/index.js';

/** The allocation from the batch system (else the pilot's cgroup and CPUs); --cores / --mem override. */
function allocationOf(opts: PilotOptions, env: NodeJS.ProcessEnv, cg: CgroupLocation | null, log: Logger): Allocation {
  const found = readAllocation(env, {
    readFile: (file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return null;
      }
    },
    cgroupMemoryBytes: () => {
      if (!cg) return null;
      for (const name of ['memory.max', 'memory.limit_in_bytes']) {
        try {
          const v = Number(readFileSync(path.join(cg.dir, name), 'utf8').trim());
          // v1's "unlimited" is a page-rounded 2^63.
          if (Number.isFinite(v) && v > 0 && v < 2 ** 60) return v;
        } catch {
          // not this version's file
        }
      }
      return null;
    },
    usableCpus: () => availableParallelism(),
    slurmEndTime: (jobId) => {
      const r = spawnSync('squeue', ['-h', '-j', jobId, '-o', '%e'], { encoding: 'utf8', timeout: 10_000 });
      const t = r.status === 0 ? Date.parse(r.stdout.trim()) : NaN;
      return Number.isFinite(t) ? Math.floor(t / 1000) : null;
    },
  });
  const a: Allocation = {
    ...found,
    cores: opts.coresOverride ?? found.cores,
    memMB: opts.given.has('memMB') && opts.memMB !== undefined ? opts.memMB : found.memMB,
    source: {
      cores: opts.coresOverride !== undefined ? '--cores' : found.source.cores,
      memMB: opts.given.has('memMB') && opts.memMB !== undefined ? '--mem' : found.source.memMB,
    },
  };
  log.info(
    { event: 'allocation', cores: a.cores, memMB: a.memMB, source: a.source, endsAt: a.endsAt },
    `allocation: ${a.cores ?? '?'} cores, ${a.memMB ?? '?'} MB`,
  );
  return a;
}

/** Flags + the cgroup the pilot finds itself in → how payloads are watched. */
function monitorSettings(opts: PilotOptions, queue: QueueLimits | undefined, parent: CgroupLocation | null, log: Logger): MonitorSettings {
  const m = opts.monitor;
  const writable = m.cgroups === 'auto' && parent !== null && canCreateChildren(parent);
  log.info(
    { event: 'cgroup_discovered', version: parent?.version ?? null, dir: parent?.dir ?? null, payloadCgroups: writable },
    parent
      ? `memory cgroup v${parent.version} at ${parent.dir}${writable ? '; payloads get their own' : '; watching it, no payload cgroups'}`
      : 'no memory cgroup found; watching process trees only',
  );
  // No delegation (an unprivileged pilot in a cgroup it may not write, as on a node without
  // Delegate=yes) must not cost jobs their memory limit: the pilot's own watchdog (1235)
  // enforces the job's memory instead. Said once here, not once per job.
  const fallback = m.cgroups === 'auto' && !writable && m.maxRss === null && m.cgroupLimit !== 'none';
  if (fallback) {
    log.warn(
      { event: 'cgroup_fallback', version: parent?.version ?? null, dir: parent?.dir ?? null, watchdog: 'job' },
      `cannot make payload cgroups (${parent ? `${parent.dir} is not delegated to this user` : 'no memory cgroup'}): the pilot's own watchdog enforces each job's memory (1235)`,
    );
  }
  return {
    intervalMs: m.intervalSec * 1000,
    cgroupParent: parent,
    cgroupWritable: writable,
    memoryLimit: m.cgroupLimit,
    slotMemoryMB: opts.memMB ?? null,
    memoryGracePct: m.memoryGracePct,
    maxRss: fallback ? 'job' : m.maxRss,
    loopingLimitSec: m.loopingLimitSec,
    // A job without maxWalltime is held to the queue's job limit (params.job_maxwalltime), then its maxtime.
    queueMaxtimeSec: m.maxtimeSec ?? queue?.jobMaxWalltimeSec ?? queue?.maxtimeSec ?? null,
    minDiskMB: m.minDiskMB,
    maxStdoutMB: m.maxStdoutMB,
  };
}

/** Flags + queue data → where logs go and how the tarball is capped. Throws DestinationError for a bad destination. */
function fileSettings(
  opts: PilotOptions,
  transfers: QueueTransfers,
  http: HttpTransport,
  pilotLogFile: string,
  accessPoint: string | undefined,
): JobFileSettings {
  const f = opts.files;
  return {
    http,
    // Push mode: the log is left for Harvester (the push transport puts it in the access point and lists it).
    logDestination: chooseLogDestination({ flag: f.logDestination, copytools: transfers.copytools, harvesterAccessPoint: accessPoint }),
    stageOut: { ...DEFAULT_STAGEOUT, timeoutMs: f.stageoutTimeoutSec * 1000, maxAttempts: f.stageoutAttempts },
    logLimits: { memberMaxBytes: Math.round(f.logMemberMaxMB * 1024 * 1024), totalMaxBytes: Math.round(f.logMaxMB * 1024 * 1024) },
    pilotLogFile,
  };
}

/** `--use-realtime-logging` → where live lines go; off (with a warning) when no server is named. */
function realtimeSettings(opts: PilotOptions, env: NodeJS.ProcessEnv, http: HttpTransport, log: Logger): RealtimeSettings | undefined {
  if (!opts.realtime) return undefined;
  const url = opts.realtime.serverUrl;
  if (!url || !/^https?:\/\//.test(url)) {
    log.warn({ event: 'realtime_off', server: url ?? null }, '--use-realtime-logging needs --realtime-logging-server http(s)://host:port; live logs are off');
    return undefined;
  }
  const files = (opts.realtime.logFiles ?? env.REALTIME_LOGFILES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { http, serverUrl: url, queue: opts.queue, logFiles: files };
}

/** The pilot home and its log; an exit code when the home cannot be made. */
function openPilotHome(opts: PilotOptions): { home: string; pilotLogFile: string; log: Logger } | number {
  let home: string;
  try {
    home = createPilotHome(opts.workdir);
  } catch (err) {
    process.stderr.write(`panda-pilot: ${(err as Error).message}\n`);
    return PilotExit.MKDIR;
  }
  const pilotLogFile = path.join(home, 'pilotlog.jsonl');
  const log = createLogger({ level: opts.logLevel, file: pilotLogFile, quiet: opts.quiet });
  // Payloads of an earlier pilot here that was SIGKILLed (no wrapper cleaned up after it).
  const leftovers = killLeftoverPayloads(path.resolve(opts.workdir));
  if (leftovers.length > 0)
    log.warn({ event: 'leftover_payloads_killed', pids: leftovers }, `killed ${leftovers.length} payload process(es) an earlier pilot left behind`);
  return { home, pilotLogFile, log };
}

/** How the pilot is stopped: signals (first, second, third), the one cut-off, softkill. */
interface StopControls {
  pilotStop: AbortController;
  softkill: AbortController;
  hardStop: AbortController;
  cutoff: Deadline;
  uninstall: () => void;
}

function stopControls(opts: PilotOptions, log: Logger): StopControls {
  const pilotStop = new AbortController();
  const softkill = new AbortController();
  // The one cut-off of a stopping pilot: from its stop (a signal or its lifetime) the payloads' grace, range
  // reports, the log and the final updates fit in --signal-grace, less a margin to write kept finals and exit.
  const cutoff = new Deadline();
  const armCutoff = () => cutoff.arm(opts.signalGraceSec * 1000 - 3_000);
  pilotStop.signal.addEventListener('abort', armCutoff, { once: true });
  const hardStop = new AbortController();
  const uninstall = installSignalHandlers(pilotStop, {
    onFirst: (signal) => {
      log.warn(
        { event: 'signal', signal, graceSec: opts.signalGraceSec },
        `${signal}: stopping payloads; final updates get what is left of ${opts.signalGraceSec} s`,
      );
      armCutoff();
    },
    onSecond: (signal) => {
      log.error({ event: 'hard_stop', signal }, 'second signal: killing payloads and event ranges now; final updates get 5 s more, then go to disk');
      cutoff.arm(5_000); // first: what the hard stop's listeners read is the tightened cut-off
      hardStop.abort();
    },
    onForce: (signal) => {
      log.error({ event: 'forced_exit', signal }, 'third signal: exiting now');
      log.flush?.();
      process.exit(pilotExitCode({ kind: 'signal', signal }));
    },
  });
  return { pilotStop, softkill, hardStop, cutoff, uninstall };
}

type Connection =
  { ok: true; http: HttpTransport; tokens: ReturnType<typeof tokenSourceFromEnv>; refresher: TokenRefresher | null } | { ok: false; exitCode: number };

/**
 * Credentials and the HTTP client, before any request: a token only over
 * https or loopback, the X.509 proxy and the token checked (a lapsed token
 * refreshed first when it can be). A refusal ends the pilot with its own code.
 */
async function connect(opts: PilotOptions, env: NodeJS.ProcessEnv, log: Logger): Promise<Connection> {
  const tokens = tokenSourceFromEnv(env);
  const refusal = tokenRouteProblem(opts.url, tokens);
  if (refusal) {
    // Before any request: a token sent in clear over the site network is a token given away.
    log.error({ event: 'token_refused', url: opts.url }, refusal);
    if (opts.quiet) process.stderr.write(`panda-pilot: ${refusal}\n`);
    return { ok: false, exitCode: PilotExit.GENERAL };
  }
  /** Ends the pilot before any job over a credential it cannot use. */
  const refuse = (check: CredentialCheck & { verdict: { ok: false } }): Connection => {
    const v = check.verdict;
    // Before any job is taken: a job the pilot could not report is a job lost to the server's watchdog.
    const line = `${errorCodeName(v.code) ?? 'CREDENTIALS'} (${v.code}): ${v.diagnostic}`;
    log.error({ event: 'credential_refused', credential: check.what, code: v.code, diag: v.diagnostic }, line);
    if (opts.quiet) process.stderr.write(`panda-pilot: ${line}\n`);
    return { ok: false, exitCode: v.exitCode };
  };
  // Each credential is checked once here (the token file is re-read per request by the transport, not by this).
  const x509 = checkX509(opts, env);
  if (x509 && !x509.verdict.ok) return refuse({ ...x509, verdict: x509.verdict });
  let http: HttpTransport;
  try {
    http = serverTransport(opts, env, tokens);
  } catch (err) {
    log.error({ event: 'transport_setup_failed' }, (err as Error).message);
    return { ok: false, exitCode: PilotExit.GENERAL };
  }
  // A refresh token and an endpoint: renew the token file before each expiry (and now, when it already lapsed).
  const refresh = refreshSettingsFromEnv(env);
  const tokenFile = tokens?.file;
  const refresher = refresh && tokens && tokenFile ? new TokenRefresher(refresh, { ...tokens, file: tokenFile }, http, log) : null;
  let token = tokens ? checkToken(tokens) : null;
  // Only a refresh changes the token file: then its check is made again, on the new token.
  if (tokens && refresher && token && !token.verdict.ok && (await refresher.refreshNow())) token = checkToken(tokens);
  for (const check of [token, x509]) {
    if (check === null) continue;
    if (!check.verdict.ok) {
      await http.close().catch(() => undefined);
      return refuse({ ...check, verdict: check.verdict });
    }
    log.info({ event: 'credential_ok', credential: check.what, expiresAt: check.verdict.expiresAt?.toISOString() ?? null }, check.verdict.summary);
  }
  refresher?.start();
  return { ok: true, http, tokens, refresher };
}

function logPilotStart(opts: PilotOptions, home: string, batch: BatchIdentity, conn: Connection & { ok: true }, log: Logger): void {
  log.info(
    {
      event: 'pilot_start',
      version: VERSION,
      node: process.version,
      runtime: process.execPath,
      queue: opts.queue,
      site: opts.site,
      url: opts.url,
      api: opts.api,
      home,
      batchSystem: batch.batchSystem,
      batchId: batch.batchId,
      route: conn.http.describeRoute(),
      token: conn.tokens?.describe ?? null,
    },
    'pilot starting',
  );
  if (!opts.verifyProxy) log.info({ event: 'proxy_verification_skipped', flag: '-t' }, 'X.509 proxy not verified (pilot3 -t / --noproxyverification)');
  for (const flag of opts.notApplicable) {
    log.info(
      { event: 'flag_not_applicable', flag: flag.length === 1 ? `-${flag}` : `--${flag}`, why: PILOT3_IGNORED_FLAGS[flag]?.why },
      'pilot3 flag accepted, not applicable here',
    );
  }
}

/** The batch job's end (Slurm) bounds the lifetime: the pilot is done, and reported, before the batch system ends it. */
function lifetimeOf(opts: PilotOptions, allocation: Allocation, log: Logger): number {
  if (allocation.endsAt === null) return opts.lifetimeSec;
  const untilEnd = Math.floor(allocation.endsAt - Date.now() / 1000 - opts.signalGraceSec);
  if (untilEnd >= opts.lifetimeSec) return opts.lifetimeSec;
  log.info(
    { event: 'lifetime_from_batch', endsAt: new Date(allocation.endsAt * 1000).toISOString(), lifetimeSec: Math.max(0, untilEnd) },
    "lifetime set by the batch job's end time",
  );
  return Math.max(0, untilEnd);
}

/** Everything a job needs from the pilot, built once: what does not change between jobs is not looked up again per job. */
function jobContext(p: {
  opts: PilotOptions;
  env: NodeJS.ProcessEnv;
  server: PandaServer;
  http: HttpTransport;
  log: Logger;
  home: string;
  batch: BatchIdentity;
  stop: StopControls;
  queue: { limits: QueueLimits | undefined; transfers: QueueTransfers };
  files: JobFileSettings;
  bulk: JobContext['bulk'];
  node: string;
  cgroup: CgroupLocation | null;
}): JobContext & { softkill: AbortSignal } {
  const { opts, env, server, http, log, batch, stop, queue } = p;
  return {
    server,
    serverUrl: opts.url,
    log,
    pilotHome: p.home,
    identity: {
      node: p.node,
      pilotId: `${batch.workerId ?? `${p.node}:${process.pid}`}|${batch.batchSystem}|${VERSION}`,
      siteName: opts.site,
      batchId: batch.batchId,
      schedulerId: batch.harvesterId ? `harvester-${batch.harvesterId}` : null,
    },
    // The payload's base environment: the pilot's, less the credentials the site did not pass on.
    env: withoutCredentials(env, opts.payloadCredentials),
    heartbeatSec: opts.heartbeatSec,
    debugHeartbeatSec: opts.debugHeartbeatSec,
    // After a stop the payload's grace shrinks so that its stop, the log and the final fit in the cut-off.
    get killGraceMs() {
      return Math.max(0, Math.min(opts.killGraceSec * 1000, stop.cutoff.leftMs() / 2));
    },
    finalDeadlineMs: opts.finalDeadlineSec * 1000,
    cutoff: stop.cutoff,
    hardStop: stop.hardStop.signal,
    keepJobDirs: opts.keepJobDirs,
    pilotSignal: stop.pilotStop.signal,
    onSoftkill: () => stop.softkill.abort(),
    eventService: opts.eventService,
    softkill: stop.softkill.signal,
    queueLimits: queue.limits,
    monitor: monitorSettings(opts, queue.limits, p.cgroup, log),
    backoff: updateBackoff(opts),
    bulk: p.bulk,
    naiveUpdates: opts.naiveUpdates,
    files: p.files,
    preparation: { ...defaultPreparation(http, opts.url), allowedHosts: queue.transfers.downloadHosts },
    realtime: realtimeSettings(opts, env, http, log),
  };
}

/** The slot loop's settings; getJob's request is made anew for each ask (its remaining time is of that moment). */
function loopOptions(p: {
  opts: PilotOptions;
  batch: BatchIdentity;
  startedAt: number;
  allocation: Allocation;
  limits: QueueLimits | undefined;
  push: boolean;
  node: string;
}): PilotLoopOptions {
  const { opts, batch, startedAt } = p;
  const request = () => ({
    siteName: opts.site,
    prodSourceLabel: opts.prodSourceLabel,
    mem: opts.memMB,
    diskSpace: opts.diskMB,
    node: p.node,
    computingElement: opts.queue,
    resourceType: opts.resourceType,
    jobType: opts.jobType,
    // Of this moment, not of the start: the server must not send a job that cannot finish in what is left.
    remainingTime: Math.max(0, Math.floor(opts.lifetimeSec - (Date.now() - startedAt) / 1000)),
    harvesterId: batch.harvesterId ?? undefined,
    workerId: batch.workerId ?? undefined,
  });
  return {
    request,
    maxJobs: opts.maxJobs,
    getjobWaitSec: opts.getjobWaitSec,
    pollSec: opts.pollSec,
    // One job at a time in push mode: the access point has one worker_attributes.json.
    slots: p.push ? 1 : opts.slots,
    pollMaxSec: Math.max(opts.pollSec, opts.pollMaxSec),
    pool: new ResourcePool({ cores: p.allocation.cores, memMB: p.allocation.memMB }),
    endsAtMs: startedAt + opts.lifetimeSec * 1000,
    jobNeedsSec: p.limits?.jobMaxWalltimeSec ?? opts.monitor.maxtimeSec ?? null,
    timefloorSec: p.limits?.timefloorSec ?? 0,
    drainFile: opts.drainFile,
    maxGetJobRequests: opts.maxGetJobRequests,
    maxGetJobFailures: opts.maxGetJobFailures,
    noPipeline: opts.noPipeline,
  };
}

function logPilotEnd(result: PilotLoopResult, startedAt: number, bulk: JobContext['bulk'], push: HarvesterPushServer | undefined, log: Logger): void {
  const { jobs, finished, unacknowledged } = result.tally;
  log.info(
    {
      event: 'pilot_end',
      jobs,
      finished,
      failed: jobs - finished,
      unacknowledged,
      bulkRequests: bulk?.batcher.stats.requests,
      push: push?.stats,
      bulkUpdates: bulk?.batcher.stats.updates,
      stoppedBy: result.stoppedBy,
      seconds: (Date.now() - startedAt) / 1000,
      maxRssKb: process.resourceUsage().maxRSS,
    },
    'pilot done',
  );
}

/**
 * The pilot, start to exit: its home and log, its stop controls, credentials
 * and transport, then (in `runJobs`) queue, allocation, server and the slot
 * loop; the exit code comes from why it stopped (`pilotExitCode`).
 */
export async function runPilot(cliOpts: PilotOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const startedAt = Date.now();
  const opened = openPilotHome(cliOpts);
  if (typeof opened === 'number') return opened;
  const { home, pilotLogFile, log } = opened;
  const batch = readBatchIdentity(env);
  const stop = stopControls(cliOpts, log);
  const conn = await connect(cliOpts, env, log);
  if (!conn.ok) {
    stop.uninstall();
    log.flush?.();
    return conn.exitCode;
  }
  logPilotStart(cliOpts, home, batch, conn, log);
  const held: Held = { lifetime: undefined, push: undefined };
  try {
    return await runJobs({ opts: cliOpts, env, startedAt, home, pilotLogFile, log, batch, stop, http: conn.http, held });
  } catch (err) {
    const e = PilotError.from(err);
    log.error({ event: 'pilot_error', code: e.code, diag: e.diagnostic }, 'pilot failed');
    return pilotExitCode({ kind: 'error', code: e.code });
  } finally {
    try {
      held.push?.finish();
    } catch (err) {
      log.error({ event: 'kill_worker_failed', err: (err as Error).message }, 'could not touch kill_worker in the access point');
    }
    clearTimeout(held.lifetime);
    stop.cutoff.dispose();
    conn.refresher?.stop();
    stop.uninstall();
    await conn.http.close().catch(() => undefined);
    log.flush?.();
  }
}

/** What `runJobs` starts that the pilot's end must stop, whatever happened. */
interface Held {
  lifetime: NodeJS.Timeout | undefined;
  push: HarvesterPushServer | undefined;
}

/** Queue data and dialect (side by side), allocation and lifetime, the server (or Harvester's files), then the slot loop. */
async function runJobs(p: {
  opts: PilotOptions;
  env: NodeJS.ProcessEnv;
  startedAt: number;
  home: string;
  pilotLogFile: string;
  log: Logger;
  batch: BatchIdentity;
  stop: StopControls;
  http: HttpTransport;
  held: Held;
}): Promise<number> {
  const { env, log, http, stop, held } = p;
  let opts = p.opts;
  const mode = transportMode(opts.harvester, env, process.cwd());
  // The dialect probe and the queue data are independent round trips: made side by side, not one after the other.
  const dialect = mode.kind === 'push' ? null : selectDialect(http, opts.api, log, stop.pilotStop.signal);
  // Its failure is thrown where it is awaited below; this only keeps a queue refusal from leaving it unhandled.
  dialect?.catch(() => undefined);
  const queue = await setUpQueue(opts, mode.kind === 'push' ? null : http, env, log);
  if (!queue.ok) return queue.exitCode;
  opts = queue.opts;
  const files = fileSettings(opts, queue.transfers, http, p.pilotLogFile, mode.kind === 'push' ? mode.accessPoint.dir : undefined);
  log.info({ event: 'log_destination', ...files.logDestination }, 'log tarballs go here');
  // The pilot's own memory cgroup, found once: its limit is the allocation's memory, and payload cgroups go under it.
  const cgroup = discoverMemoryCgroup();
  const allocation = allocationOf(opts, env, cgroup, log);
  opts = { ...opts, lifetimeSec: lifetimeOf(opts, allocation, log) };
  const lifetimeSec = opts.lifetimeSec;
  held.lifetime = setTimeout(() => stop.pilotStop.abort(new PilotError(1213, `pilot lifetime of ${lifetimeSec} s reached`)), lifetimeSec * 1000);
  held.lifetime.unref();
  // Push mode: Harvester's files instead of the server; the same job runner behind either.
  if (mode.kind === 'push') {
    held.push = pushServer(opts, mode, p.home, log);
    log.info(
      { event: 'push_mode', accessPoint: mode.accessPoint.dir, reason: mode.reason, pilotUser: opts.pilotUser },
      'Harvester push mode: no getJob, no server updates',
    );
  }
  const push = held.push;
  const server: PandaServer = push ?? (await (dialect ?? selectDialect(http, opts.api, log, stop.pilotStop.signal)));
  if (!push) await recoverEarlierFinals(opts, server, log, stop.pilotStop.signal);
  const bulk = opts.bulkHeartbeats
    ? {
        // Jobs beat on one grid, so their heartbeats meet in the batcher's gather window.
        batcher: new BulkHeartbeatBatcher({
          sendBulk: (items) => server.updateJobsBulk(items),
          gatherMs: Math.min(250, (opts.heartbeatSec * 1000) / 4),
          log,
        }),
        gridOriginMs: Date.now(),
      }
    : undefined;
  // The node's name does not change between jobs: asked once, not for every getJob.
  const node = hostname();
  const ctx = jobContext({ opts, env, server, http, log, home: p.home, batch: p.batch, stop, queue, files, bulk, node, cgroup });
  const result = await runPilotLoop(
    ctx,
    loopOptions({ opts, batch: p.batch, startedAt: p.startedAt, allocation, limits: queue.limits, push: push !== undefined, node }),
  );
  logPilotEnd(result, p.startedAt, bulk, push, log);
  return pilotExitCode(pilotStopOf(stop.pilotStop.signal.reason, result));
}
