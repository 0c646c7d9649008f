/**
 * `panda-pilot doctor --url URL -q QUEUE`: what a site admin runs first. Each
 * check gathers facts and gives a row (ok / warn / FAIL); the exit code names
 * the first blocker (0: ready). The rows and the verdict are pure functions.
 */
import { statfsSync } from 'node:fs';
import { availableParallelism, freemem, totalmem } from 'node:os';
import { pino } from 'pino';
import { canCreateChildren, discoverMemoryCgroup } from '../monitor/index.js';
import { PilotExit } from '../lifecycle/index.js';
import { detectV1, HttpTransport, tokenRouteProblem, tokenSourceFromEnv } from '../server/index.js';
import { checkCredentials } from './credential-setup.js';
import { VERSION, type PilotOptions } from './options.js';
import { releaseDirOf, setUpQueue } from './queue-setup.js';
import { serverTransport, transportSecurity } from './server-transport.js';

export interface DoctorRow {
  check: string;
  status: 'ok' | 'warn' | 'FAIL';
  detail: string;
  /** Exit code when this row is the first FAIL. */
  exitCode?: number;
}

/** The first FAIL's exit code, or 0. */
export function doctorExitCode(rows: readonly DoctorRow[]): number {
  const blocker = rows.find((r) => r.status === 'FAIL');
  return blocker ? (blocker.exitCode ?? PilotExit.GENERAL) : PilotExit.OK;
}

/** A plain-text table, then the verdict line. */
export function formatDoctor(rows: readonly DoctorRow[]): string {
  const w1 = Math.max(5, ...rows.map((r) => r.check.length));
  const lines = [`${'check'.padEnd(w1)}  status  detail`, `${'-'.repeat(w1)}  ------  ${'-'.repeat(40)}`];
  for (const r of rows) lines.push(`${r.check.padEnd(w1)}  ${r.status.padEnd(6)}  ${r.detail}`);
  const blocker = rows.find((r) => r.status === 'FAIL');
  lines.push('', blocker ? `NOT READY: ${blocker.check}: ${blocker.detail} (exit ${doctorExitCode(rows)})` : 'READY (exit 0)');
  return `${lines.join('\n')}\n`;
}

/** min / median / max of a list of milliseconds. */
export function rttSummary(ms: readonly number[]): { min: number; median: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: s[Math.floor((s.length - 1) / 2)] ?? NaN, max: s.at(-1) ?? NaN };
}

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

async function serverRows(opts: PilotOptions, env: NodeJS.ProcessEnv, pings: number): Promise<{ rows: DoctorRow[]; http: HttpTransport | null }> {
  const tokens = tokenSourceFromEnv(env);
  const refusal = tokenRouteProblem(opts.url, tokens);
  if (refusal) return { rows: [{ check: 'token route', status: 'FAIL', detail: refusal, exitCode: PilotExit.GENERAL }], http: null };
  let http: HttpTransport;
  try {
    http = serverTransport(opts, env, tokens);
  } catch (err) {
    return { rows: [{ check: 'https trust', status: 'FAIL', detail: (err as Error).message, exitCode: PilotExit.GENERAL }], http: null };
  }
  const rows: DoctorRow[] = [{ check: 'proxy', status: 'ok', detail: http.route.route === 'proxy' ? http.describeRoute() : `direct (${http.route.reason})` }];
  const times: number[] = [];
  let lastError = '';
  for (let i = 0; i < pings; i++) {
    const t0 = performance.now();
    try {
      const r = await http.send('GET', '/api/v1/system/is_alive', undefined, { Accept: 'application/json' });
      if (r.status >= 500) throw new Error(`HTTP ${r.status}`);
      times.push(performance.now() - t0);
    } catch (err) {
      lastError = (err as Error).message;
    }
  }
  if (times.length === 0) {
    rows.push({ check: 'server', status: 'FAIL', detail: `${opts.url} not reached: ${lastError}`, exitCode: PilotExit.COMMUNICATION });
    return { rows, http };
  }
  const v1 = await detectV1(http);
  rows.push({
    check: 'server',
    status: 'ok',
    detail: `${opts.url} reached; dialect ${v1 ? 'v1' : 'legacy'}${opts.api !== 'auto' ? ` (--api ${opts.api})` : ''}`,
  });
  const rtt = rttSummary(times);
  const lost = pings - times.length;
  rows.push({
    check: 'round trip',
    status: lost > 0 ? 'warn' : 'ok',
    detail: `${times.length}/${pings} pings: min ${rtt.min.toFixed(1)} ms, median ${rtt.median.toFixed(1)} ms, max ${rtt.max.toFixed(1)} ms${lost ? `; ${lost} failed: ${lastError}` : ''}`,
  });
  return { rows, http };
}

function credentialRows(opts: PilotOptions, env: NodeJS.ProcessEnv): DoctorRow[] {
  const tokens = tokenSourceFromEnv(env);
  const checks = checkCredentials(opts, env, tokens);
  const rows: DoctorRow[] = [];
  if (!tokens) rows.push({ check: 'token', status: 'warn', detail: 'none configured (PANDA_AUTH_*, OIDC_AUTH_*)' });
  if (!checks.some((c) => c.what === 'x509'))
    rows.push({ check: 'x509 proxy', status: tokens ? 'ok' : 'warn', detail: 'none (X509_USER_PROXY unset, no /tmp/x509up_u<uid>)' });
  for (const c of checks) {
    const name = c.what === 'token' ? 'token' : 'x509 proxy';
    rows.push(
      c.verdict.ok
        ? { check: name, status: 'ok', detail: c.verdict.summary }
        : { check: name, status: 'FAIL', detail: `${c.verdict.code}: ${c.verdict.diagnostic}`, exitCode: c.verdict.exitCode },
    );
  }
  const sec = transportSecurity(opts, env);
  rows.push({
    check: 'CA',
    status: 'ok',
    detail: [sec.caFile && `bundle ${sec.caFile}`, sec.caDir && `directory ${sec.caDir}`].filter(Boolean).join(', ') || "Node's built-in roots",
  });
  return rows;
}

function nodeRows(opts: PilotOptions, env: NodeJS.ProcessEnv): DoctorRow[] {
  const rows: DoctorRow[] = [];
  const cg = discoverMemoryCgroup();
  const writable = cg !== null && canCreateChildren(cg);
  rows.push({
    check: 'memory cgroup',
    status: writable ? 'ok' : 'warn',
    detail: cg
      ? `v${cg.version} at ${cg.dir}: ${writable ? 'writable, payloads get their own limit' : 'not writable, the pilot watchdog enforces memory'}`
      : 'none found: process-tree watching only',
  });
  rows.push({ check: 'cores', status: 'ok', detail: `${availableParallelism()} available; --slots ${opts.slots}` });
  rows.push({ check: 'memory', status: 'ok', detail: `${mb(totalmem())} total, ${mb(freemem())} free${opts.memMB ? `; --mem ${opts.memMB} MB` : ''}` });
  try {
    const fs = statfsSync(opts.workdir);
    const free = fs.bavail * fs.bsize;
    const need = (opts.monitor.minDiskMB ?? 0) * 1024 * 1024;
    rows.push({
      check: 'disk',
      status: free < need ? 'FAIL' : 'ok',
      detail: `${mb(free)} free in ${opts.workdir}${need ? ` (--min-disk ${opts.monitor.minDiskMB} MB)` : ''}`,
      exitCode: PilotExit.NOSPACE,
    });
  } catch (err) {
    rows.push({
      check: 'disk',
      status: 'FAIL',
      detail: `${opts.workdir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      exitCode: PilotExit.MKDIR,
    });
  }
  const release = releaseDirOf(env);
  rows.push({
    check: 'release',
    status: 'ok',
    detail: `${release ?? 'no release tree (bundle alone)'}; pilot ${VERSION}; node ${process.version} at ${process.execPath}`,
  });
  return rows;
}

async function queueRow(opts: PilotOptions, http: HttpTransport | null, env: NodeJS.ProcessEnv): Promise<DoctorRow> {
  if (!http) return { check: 'queue data', status: 'warn', detail: 'not checked (no server)' };
  const errors: string[] = [];
  // The queue step's own log lines are the row's detail.
  const sink = { write: (line: string) => void errors.push((JSON.parse(line) as { msg: string }).msg) };
  const log = pino({ level: 'warn' }, sink);
  const q = await setUpQueue(opts, http, env, log);
  if (!q.ok) return { check: 'queue data', status: 'FAIL', detail: errors.join('; ') || `refused (exit ${q.exitCode})`, exitCode: q.exitCode };
  if (!q.limits) return { check: 'queue data', status: 'warn', detail: errors.join('; ') || 'none found: the pilot runs on its flags' };
  const l = q.limits;
  return {
    check: 'queue data',
    status: 'ok',
    detail: `${opts.queue} ${l.status}: maxrss ${l.maxRssMB ?? '-'} MB, maxtime ${l.maxtimeSec ?? '-'} s, corecount ${l.coreCount}`,
  };
}

export async function runDoctor(opts: PilotOptions, pings: number, out: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const server = await serverRows(opts, env, pings);
  const rows = [...server.rows, ...credentialRows(opts, env), ...nodeRows(opts, env), await queueRow(opts, server.http, env)];
  await server.http?.close();
  out.write(formatDoctor(rows));
  return doctorExitCode(rows);
}
