/**
 * The pilot's queue step, before any job is asked for: find the queue's
 * data, refuse to run on an offline queue, and let the queue fill the
 * options the command line left out.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { applyQueue, loadQueueData, QueueDataError, queueLimits, queueRefusal, type Fetch, type QueueLimits } from '../config/index.js';
import { HttpTransport } from '../server/index.js';
import type { PilotOptions } from './options.js';
import { transportSecurity } from './server-transport.js';

/** What the queue says about files leaving and entering the node. */
export interface QueueTransfers {
  /** schedconfig copytools; a tool's `log_destination` is where job logs go. */
  copytools: Record<string, Record<string, unknown>>;
  /** Hosts (besides the server's) that transformations and sandboxes may be downloaded from (`params.download_hosts`). */
  downloadHosts: string[];
}

export const NO_QUEUE_TRANSFERS: QueueTransfers = { copytools: {}, downloadHosts: [] };

export type QueueSetup = { ok: true; opts: PilotOptions; limits: QueueLimits | undefined; transfers: QueueTransfers } | { ok: false; exitCode: number };

function queueTransfers(queue: { copytools: Record<string, Record<string, unknown>>; params: Record<string, unknown> }): QueueTransfers {
  const hosts = queue.params.download_hosts;
  return {
    copytools: queue.copytools,
    downloadHosts: Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string' && h.trim() !== '') : [],
  };
}

/**
 * The release tree this pilot runs from: `PANDA_PILOT_RELEASE` (set by the
 * tree's setup.sh), else the tree the bundle sits in (`<tree>/pilot/panda-pilot.mjs`).
 */
export function releaseDirOf(env: NodeJS.ProcessEnv, bundleUrl: string = import.meta.url): string | undefined {
  if (env.PANDA_PILOT_RELEASE) return env.PANDA_PILOT_RELEASE;
  if (!bundleUrl.startsWith('file:')) return undefined;
  const tree = path.resolve(path.dirname(fileURLToPath(bundleUrl)), '..');
  return existsSync(path.join(tree, 'config', 'queuedata')) ? tree : undefined;
}

/** A GET on an absolute URL with the pilot's CA and timeout. */
function urlFetcher(opts: PilotOptions, env: NodeJS.ProcessEnv): Fetch {
  return async (url) => {
    const u = new URL(url);
    const http = new HttpTransport({ baseUrl: u.origin, timeoutMs: opts.timeoutSec * 1000, ...transportSecurity(opts, env), env });
    try {
      const r = await http.send('GET', `${u.pathname}${u.search}`, undefined, {});
      return { status: r.status, body: r.body };
    } finally {
      await http.close().catch(() => undefined);
    }
  };
}

/** Runs the queue step; logs what it decided. `server` null: the PanDA server is not asked (push mode talks only to Harvester). */
export async function setUpQueue(opts: PilotOptions, server: HttpTransport | null, env: NodeJS.ProcessEnv, log: Logger): Promise<QueueSetup> {
  let loaded;
  try {
    loaded = await loadQueueData(opts.queue, {
      queuedata: opts.queuedata,
      releaseDir: releaseDirOf(env),
      fetchUrl: urlFetcher(opts, env),
      // zod and the site-config schemas are loaded only for a --queuedata site file, never for one queue's data.
      parseDocument: async (source, text) => (await import('../site-config/index.js')).parseConfigText(source, text),
      fetchServer: server
        ? async (p) => {
            const r = await server.send('GET', p, undefined, {});
            return { status: r.status, body: r.body };
          }
        : undefined,
    });
  } catch (err) {
    if (err instanceof QueueDataError) {
      log.error({ event: 'queuedata_error', queue: opts.queue, err: err.message }, 'cannot use queue data');
      return { ok: false, exitCode: err.exitCode };
    }
    throw err;
  }
  if (!loaded) {
    log.warn({ event: 'queuedata_missing', queue: opts.queue }, 'no queue data found (release tree, server cache); running on command-line settings');
    return { ok: true, opts, limits: undefined, transfers: NO_QUEUE_TRANSFERS };
  }
  const refusal = queueRefusal(loaded.queue);
  if (refusal) {
    log.error({ event: 'queue_refused', queue: opts.queue, status: loaded.queue.status, state: loaded.queue.state, source: loaded.source }, refusal.reason);
    return { ok: false, exitCode: refusal.exitCode };
  }
  const applied = applyQueue(opts, opts.given, loaded.queue);
  const limits = queueLimits(loaded.queue, loaded.source);
  log.info(
    {
      event: 'queuedata',
      queue: opts.queue,
      source: loaded.source,
      status: loaded.queue.status,
      maxrss: loaded.queue.maxrss,
      maxtime: loaded.queue.maxtime,
      corecount: loaded.queue.corecount,
      mem: applied.memMB,
      slots: applied.slots,
      lifetime: applied.lifetimeSec,
      resourceType: applied.resourceType,
    },
    'queue data applied',
  );
  return { ok: true, opts: applied, limits, transfers: queueTransfers(loaded.queue) };
}
