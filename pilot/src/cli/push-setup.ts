/** The push-mode transport as the options ask for it, with the pilot user's conventions. */
import type { Logger } from 'pino';
import { HarvesterPushServer, type TransportMode } from '../harvester/index.js';
import type { PilotOptions } from './options.js';

/**
 * Whether a push-mode pilot asks Harvester for more jobs: pilot3's Rubin
 * plugin turns multi-jobs off in push mode (one job per worker); the
 * generic pilot asks with worker_requestjob.json and waits --getjob-wait.
 */
export function asksForMoreJobs(pilotUser: string): boolean {
  return pilotUser.toLowerCase() !== 'rubin';
}

export function pushServer(opts: PilotOptions, mode: Extract<TransportMode, { kind: 'push' }>, home: string, log: Logger): HarvesterPushServer {
  return new HarvesterPushServer({
    accessPoint: mode.accessPoint,
    pilotHome: home,
    log,
    nextJobWaitMs: asksForMoreJobs(opts.pilotUser) ? opts.getjobWaitSec * 1000 : 0,
    eventWaitMs: Math.max(60, opts.timeoutSec) * 1000,
    // existsSync every 100 ms is cheap; the hand-off of each next job waits on it.
    pollMs: 100,
  });
}
