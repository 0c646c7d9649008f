/**
 * Many short jobs through real pilot processes and the real stub, with the
 * fault proxy between them. Shared by the e2e fault test and the bench
 * (bench/ordered-updates.bench.mjs bundles this file). Returns the figures the
 * issue asks for; deciding what is acceptable is the caller's business.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { findFinalUpdates } from '../../pilot/src/report/index.js';
import { startFaultProxy, type FaultKind, type FaultProxyOptions } from './fault-proxy.js';
import { pilotCommandLine, runPilotProcess, scratchDir, startStubProcess, stubApi } from './processes.js';

export interface PilotSpec {
  api: 'legacy' | 'v1';
  slots: number;
  bulk?: boolean;
}

export interface ScenarioOptions {
  label: string;
  jobs: number;
  /** Every n-th job fails on purpose with a known exit code. */
  failEvery: number;
  pilots: readonly PilotSpec[];
  /** Payload run time range, seconds. */
  payloadSec: readonly [number, number];
  naive: boolean;
  timeoutSec: number;
  heartbeatSec: number;
  finalDeadlineSec: number;
  getjobWaitSec: number;
  watchdog: { sentSec: number; heartbeatSec: number; intervalSec: number };
  faults: Omit<FaultProxyOptions, 'target' | 'delayMs'>;
  /** Hard limit for the pilots (ms). */
  limitMs: number;
  log?: (line: string) => void;
  /** Keep the stub and pilot directories (for a look at the logs). */
  keepDirs?: boolean;
}

export interface ScenarioResult {
  label: string;
  /** Jobs submitted (job attempts the stub made are more when dispatches were lost). */
  jobs: number;
  /** Update requests the stub recorded (bulk entries count one each), and how many were duplicates. */
  updates: number;
  duplicates: number;
  faults: Record<FaultKind, number>;
  lateArrivals: number;
  orderViolations: number;
  /** Final updates the pilots could not deliver and kept on disk, and how many `--recover` delivered. */
  keptFinals: number;
  recovered: number;
  /** Final updates still on disk, unacknowledged, after the pilots and the last recovery: each one a loss. */
  leftPending: number;
  recoverExit: number | null;
  /** Job attempts a pilot ran whose final update the stub never accepted (after recovery). */
  lostFinals: number;
  /** Jobs not in the state (and code) they were set up to end in. */
  wrongState: number;
  /** Jobs killed or failed by the server (watchdog, kill) although a pilot was running them. */
  wronglyKilled: number;
  /** Attempts whose getJob reply was lost: never started, failed by the watchdog (102), retried. */
  lostDispatches: number;
  pilotExits: (number | null)[];
  seconds: number;
  problems: string[];
}

const FAIL_CODES = [3, 42, 77];

function taskFile(o: ScenarioOptions, site: string) {
  const [lo, hi] = o.payloadSec;
  return {
    name: `faults_${o.label}`,
    site,
    // A getJob whose reply never reached the pilot (a timeout under load) leaves the job `sent` until the
    // watchdog fails it (102); as on the real server, that is retried, so jobs get a second attempt.
    maxAttempts: 2,
    jobs: Array.from({ length: o.jobs }, (_, i) => {
      const sleep = (lo + ((hi - lo) * ((i * 37) % 100)) / 100).toFixed(2);
      if ((i + 1) % o.failEvery === 0) {
        const code = FAIL_CODES[i % FAIL_CODES.length]!;
        return { name: `fail${code}_${i}`, command: `sleep ${sleep}; echo failing on purpose >&2; exit ${code}` };
      }
      return { name: `ok_${i}`, command: `sleep ${sleep}; echo done $PandaID` };
    }),
  };
}

/** The state a job was set up to end in, from its name. */
function expected(name: string): { state: string; exit?: number } {
  const m = /^fail(\d+)_/.exec(name);
  return m ? { state: 'failed', exit: Number(m[1]) } : { state: 'finished' };
}

export async function runFaultScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const t0 = Date.now();
  const say = o.log ?? (() => undefined);
  const site = `FAULTS_${o.label.toUpperCase()}`;
  const stubDir = scratchDir(`faults-stub-${o.label}`);
  const workRoot = scratchDir(`faults-pilots-${o.label}`);
  const stub = await startStubProcess(stubDir, [
    '--watchdog-sent',
    String(o.watchdog.sentSec),
    '--watchdog-heartbeat',
    String(o.watchdog.heartbeatSec),
    '--watchdog-interval',
    String(o.watchdog.intervalSec),
  ]);
  const proxy = await startFaultProxy({ ...o.faults, target: stub.url, delayMs: o.timeoutSec * 1000 + 400 });
  const problems: string[] = [];
  try {
    await stubApi(`${stub.url}/stub/tasks`, 'POST', taskFile(o, site));
    const runs = o.pilots.map((p, i) => {
      const args = [
        '-q',
        site,
        '--url',
        proxy.url,
        '--api',
        p.api,
        '-a',
        path.join(workRoot, `pilot${i}`),
        '--slots',
        String(p.slots),
        '--heartbeat',
        String(o.heartbeatSec),
        '--timeout',
        String(o.timeoutSec),
        '--final-deadline',
        String(o.finalDeadlineSec),
        '--getjob-wait',
        String(o.getjobWaitSec),
        '--getjob-poll',
        '0.3',
        '--retry-max-delay',
        '2',
        '--kill-grace',
        '1',
        '--quiet',
      ];
      if (p.bulk) args.push('--bulk-heartbeats');
      if (o.naive) args.push('--naive-updates');
      return runPilotProcess(args, { timeoutMs: o.limitMs });
    });
    // Once the faults are over, send what the pilots kept so far, straight to the stub (the pilots may
    // still be running); once more when they are done.
    let recovered = 0;
    let recoverExit: number | null = null;
    // The pilot writes every final update to disk before its first send and renames it .acked once
    // acknowledged, so "kept" means still pending when a recovery looks: those are what it must deliver.
    let keptSeen = 0;
    const recover = async (when: string) => {
      const pending = findFinalUpdates(workRoot).filter((f) => path.basename(f) === 'final-update.json').length;
      keptSeen += pending;
      if (findFinalUpdates(workRoot).length === 0) return;
      const rec = await runPilotProcess(['--recover', workRoot, '--url', stub.url, '--quiet'], { timeoutMs: 60_000 });
      recoverExit = Math.max(recoverExit ?? 0, rec.code ?? 70);
      recovered += rec.stdout.split('\n').filter((l) => l.startsWith('delivered\t')).length;
      say(`[${o.label}] ${when}: ${rec.stdout.trim().split('\n').at(-1)}`);
    };
    const early = new Promise((r) => setTimeout(r, Math.max(0, o.faults.activeMs + 1000 - (Date.now() - t0)))).then(() => recover('faults over'));
    const exits = await Promise.all(runs);
    const pilotExits = exits.map((e) => e.code);
    exits.forEach((e, i) => {
      if (e.code !== 0) problems.push(`pilot ${i} exited ${e.code ?? e.signal}: ${e.stderr.slice(-500)}`);
    });
    say(`[${o.label}] pilots done after ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting for late requests`);
    await proxy.settled();
    await proxy.stop();
    await early;
    await recover('pilots done');
    const keptFinals = keptSeen;
    const leftPending = findFinalUpdates(workRoot).filter((f) => path.basename(f) === 'final-update.json').length;

    // Dispatches whose reply never reached a pilot: the watchdog fails them (102) and the server retries
    // them; a clean pilot (no faults) then runs what is left, as the next pilot on the queue would.
    const deadline = Date.now() + (o.watchdog.sentSec + 5 * o.watchdog.intervalSec + 5) * 1000;
    const unfinished = async (states: string[]) => ((await stubApi(`${stub.url}/stub/jobs`)).jobs as any[]).filter((j) => states.includes(j.state)).length;
    while ((await unfinished(['sent'])) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    if ((await unfinished(['activated'])) > 0) {
      say(`[${o.label}] running a clean pilot for retried jobs`);
      const flags = { api: 'legacy', slots: 4, heartbeat: o.heartbeatSec, 'getjob-wait': 0, quiet: true };
      const drain = await runPilotProcess(pilotCommandLine(site, stub.url, path.join(workRoot, 'drain'), flags), { timeoutMs: 60_000 });
      if (drain.code !== 0) problems.push(`clean pilot exited ${drain.code}: ${drain.stderr.slice(-300)}`);
    }

    const summary = await stubApi(`${stub.url}/stub/summary`);
    const jobs = (await stubApi(`${stub.url}/stub/jobs`)).jobs as any[];
    const updatesOf = new Map<number, any[]>();
    for (const j of jobs) updatesOf.set(j.pandaId, (await stubApi(`${stub.url}/stub/jobs/${j.pandaId}`)).updates);
    let wrongState = 0;
    let wronglyKilled = 0;
    let lostDispatches = 0;
    const latest = new Map<string, any>();
    for (const j of jobs) if ((latest.get(j.name)?.attemptNr ?? 0) < j.attemptNr) latest.set(j.name, j);
    for (const j of jobs) {
      const ran = (updatesOf.get(j.pandaId) ?? []).length > 0;
      const code = Number(j.report.pilotErrorCode ?? 0);
      if (!ran) {
        // Never reached a pilot: the only right ending is the watchdog's 102 with a newer attempt.
        if (j.state === 'failed' && j.serverErrorCode === 102 && latest.get(j.name) !== j) lostDispatches += 1;
        else {
          wrongState += 1;
          problems.push(`job ${j.pandaId} ${j.name} (attempt ${j.attemptNr}) never ran: ${j.state} server ${j.serverErrorCode ?? '-'}`);
        }
        continue;
      }
      const want = expected(j.name);
      const ok = j.state === want.state && (want.exit === undefined ? code === 0 : code === 1305 && Number(j.report.transExitCode) === want.exit);
      if (!ok) {
        wrongState += 1;
        problems.push(
          `job ${j.pandaId} ${j.name}: ${j.state} code ${code} exit ${j.report.transExitCode ?? '-'} server ${j.serverErrorCode ?? '-'} ${j.serverErrorDiag ?? ''}`,
        );
      }
      if (j.serverErrorCode !== null || code === 1144 || j.commandToPilot === 'tobekilled') wronglyKilled += 1;
    }
    if (summary.order_violations > 0) {
      for (const j of jobs) {
        const d = await stubApi(`${stub.url}/stub/jobs/${j.pandaId}`);
        for (const u of d.updates.filter((x: any) => x.orderViolation)) problems.push(`job ${j.pandaId}: ${u.orderViolation}`);
      }
    }
    return {
      label: o.label,
      jobs: latest.size,
      updates: summary.updates.total,
      duplicates: summary.updates.byResult.duplicate ?? 0,
      faults: { ...proxy.counts },
      lateArrivals: proxy.stats.late,
      orderViolations: summary.order_violations,
      keptFinals,
      recovered,
      leftPending,
      recoverExit,
      lostFinals: jobs.filter((j) => (updatesOf.get(j.pandaId) ?? []).length > 0 && !j.finalReported).length,
      wrongState,
      wronglyKilled,
      lostDispatches,
      pilotExits,
      seconds: (Date.now() - t0) / 1000,
      problems: problems.slice(0, 30),
    };
  } finally {
    await proxy.stop().catch(() => undefined);
    await stub.stop();
    if (o.keepDirs) {
      say(`[${o.label}] kept ${stubDir} and ${workRoot}`);
    } else {
      rmSync(stubDir, { recursive: true, force: true });
      rmSync(workRoot, { recursive: true, force: true });
    }
  }
}

/** Final-update files the pilots wrote under `root`, whatever became of them since (acked, refused, …). */

/** The figures as a table, one column per run. */
export function formatResults(results: readonly ScenarioResult[]): string {
  const kinds: FaultKind[] = ['drop', 'reset', 'http500', 'http503', 'http429', 'lost-reply', 'delay', 'down'];
  const rows: [string, (r: ScenarioResult) => string | number][] = [
    ['jobs', (r) => r.jobs],
    ['updates received by the stub', (r) => r.updates],
    ['  of which duplicates (resends)', (r) => r.duplicates],
    ...kinds.map((k): [string, (r: ScenarioResult) => number] => [`faults: ${k}`, (r) => r.faults[k]]),
    ['faults: total', (r) => Object.values(r.faults).reduce((a, b) => a + b, 0)],
    ['requests that landed late', (r) => r.lateArrivals],
    ['order violations', (r) => r.orderViolations],
    ['finals kept on disk by the pilots', (r) => r.keptFinals],
    ['  delivered by --recover', (r) => r.recovered],
    ['  still pending at the end', (r) => r.leftPending],
    ['lost finals', (r) => r.lostFinals],
    ['jobs in a wrong final state', (r) => r.wrongState],
    ['jobs killed/failed by the server', (r) => r.wronglyKilled],
    ['lost dispatches (watchdog 102, retried)', (r) => r.lostDispatches],
    ['seconds', (r) => r.seconds.toFixed(1)],
  ];
  const width = Math.max(...rows.map(([n]) => n.length));
  const head = `${''.padEnd(width)}  ${results.map((r) => r.label.padStart(10)).join('  ')}`;
  return [head, ...rows.map(([n, f]) => `${n.padEnd(width)}  ${results.map((r) => String(f(r)).padStart(10)).join('  ')}`)].join('\n');
}
