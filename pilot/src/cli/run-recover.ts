/**
 * `panda-pilot --recover DIR`: re-sends every unacknowledged final update
 * kept under DIR and exits. Each goes to the server and dialect it was made
 * for (or to --url / --api when given), with its original sequence header.
 * Exit code: 0 all delivered (or none found), 79 some could not be delivered
 * (kept for another try), 65 some were refused by the server or unreadable.
 */
import { statSync } from 'node:fs';
import { PilotExit } from '../lifecycle/index.js';
import { createLogger } from '../log/index.js';
import { findFinalUpdates, recoverFinalUpdates, type FinalUpdateRecord } from '../report/index.js';
import { authHeaders, authOrigin, HttpTransport, LegacyDialect, tokenRouteProblem, tokenSourceFromEnv, V1Dialect } from '../server/index.js';
import type { PandaServer } from '../protocol/index.js';
import { transportSecurity } from './server-transport.js';
import type { PilotOptions } from './options.js';
import { updateBackoff } from './update-setup.js';

/** Tries per kept update before it is left for later. */
const RECOVER_ATTEMPTS = 5;

export async function runRecover(opts: PilotOptions & { recoverDir: string }, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const log = createLogger({ level: opts.logLevel, quiet: opts.quiet });
  try {
    if (!statSync(opts.recoverDir).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    process.stderr.write(`panda-pilot: --recover ${opts.recoverDir}: ${(err as Error).message}\n`);
    return PilotExit.NOFILE;
  }
  const files = findFinalUpdates(opts.recoverDir);
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const transports = new Map<string, HttpTransport>();
  // A kept update names its server; the token goes only where it may (https or loopback).
  const tokens = tokenSourceFromEnv(env);
  const serverFor = (record: Pick<FinalUpdateRecord, 'serverUrl' | 'dialect'>): PandaServer => {
    const url = opts.urlGiven ? opts.url : record.serverUrl;
    let http = transports.get(url);
    if (!http) {
      http = new HttpTransport({
        baseUrl: url,
        timeoutMs: opts.timeoutSec * 1000,
        ...transportSecurity(opts, env),
        authHeaders: authHeaders(tokenRouteProblem(url, tokens) ? null : tokens, authOrigin(env)),
        env,
      });
      transports.set(url, http);
    }
    const dialect = opts.api === 'auto' ? record.dialect : opts.api;
    return dialect === 'v1' ? new V1Dialect(http) : new LegacyDialect(http);
  };
  try {
    const summary = await recoverFinalUpdates(files, { serverFor, log, signal: stop.signal, maxAttempts: RECOVER_ATTEMPTS, backoff: updateBackoff(opts) });
    for (const f of summary.files) process.stdout.write(`${f.result}\t${f.pandaId ?? '-'}\t${f.file}\t${f.detail ?? ''}\n`);
    process.stdout.write(
      `recover: ${summary.found} kept final update(s): ${summary.delivered} delivered, ${summary.refused} refused, ${summary.invalid} invalid, ${summary.left} left\n`,
    );
    if (summary.left > 0) return PilotExit.COMMUNICATION;
    if (summary.refused + summary.invalid > 0) return PilotExit.GENERAL;
    return PilotExit.OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all([...transports.values()].map((t) => t.close().catch(() => undefined)));
    log.flush?.();
  }
}
