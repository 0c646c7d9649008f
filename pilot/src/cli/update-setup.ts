/** How the pilot sends updates, from its options: retry backoff, and recovery of finals earlier pilots kept. */
import path from 'node:path';
import type { Logger } from '../log/index.js';
import { pilotHomeAlive } from '../run/index.js';
import { findFinalUpdates, recoverFinalUpdates } from '../report/index.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../retry/index.js';
import type { RecoveryServer } from '../report/index.js';
import type { PilotOptions } from './options.js';

/** The update retry backoff, capped by --retry-max-delay. */
export function updateBackoff(opts: PilotOptions): BackoffOptions {
  const maxMs = opts.retryMaxDelaySec * 1000;
  return { ...DEFAULT_BACKOFF, initialMs: Math.min(DEFAULT_BACKOFF.initialMs, maxMs), maxMs };
}

/**
 * Before pulling jobs: re-send the final updates earlier pilots in this work
 * area could not deliver (only those meant for this server; a few tries each,
 * so a server that is still away does not hold the pilot).
 */
export async function recoverEarlierFinals(opts: PilotOptions, server: RecoveryServer, log: Logger, signal: AbortSignal): Promise<void> {
  // A pilot still running in the same work area is sending its own finals (written before their first send).
  const files = findFinalUpdates(opts.workdir, { topLevel: (name) => name.startsWith('PanDA_Pilot3_') && !pilotHomeAlive(path.join(opts.workdir, name)) });
  if (files.length === 0) return;
  const summary = await recoverFinalUpdates(files, {
    serverFor: (record) => (record.serverUrl === opts.url ? server : null),
    log,
    signal,
    maxAttempts: 3,
    backoff: updateBackoff(opts),
  });
  log.info({ event: 'recovery_done', ...summary, files: undefined }, 'earlier final updates re-sent');
}
