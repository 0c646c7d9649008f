/** Everything a job run needs from the pilot around it. */
import type { Logger } from 'pino';
import type { QueueLimits } from '../config/index.js';
import type { EsSettings } from '../eventservice/index.js';
import type { BackoffOptions, Cutoff, Sleep } from '../retry/index.js';
import type { EventRangesApi, JobsApi, ServerDialect } from '../protocol/index.js';
import type { MonitorSettings } from './payload-guard.js';
import type { BulkHeartbeatBatcher } from '../report/index.js';
import type { LogTarballLimits } from '../run/index.js';
import type { LogDestination, StageOutSettings } from '../transfer/index.js';
import type { HttpTransport } from '../server/index.js';
import type { PreparationSettings } from './payload-preparation.js';
import type { RealtimeSettings } from './live-logs.js';

/** How a job's files leave the node (log stage-out) and what the log tarball holds. */
export interface JobFileSettings {
  /** The one HTTP client (storage, cache, transformations). */
  http: HttpTransport;
  logDestination: LogDestination;
  stageOut: StageOutSettings;
  logLimits: LogTarballLimits;
  /** The pilot's JSON-lines log, whose lines for the job go in its tarball. */
  pilotLogFile: string | null;
}

export interface PilotIdentity {
  node: string;
  /** pilot3 sends `<id>|<batch system>|<version>`. */
  pilotId: string;
  siteName: string;
  batchId: string | null;
  schedulerId: string | null;
}

/** What a job run calls out to: the server, the log, the bulk batcher, the clock. */
export interface JobServices {
  /** The calls a job makes (updates, event ranges) and the dialect its kept final update is recovered through. */
  server: JobsApi & EventRangesApi & { readonly dialect: ServerDialect };
  log: Logger;
  /** With `--bulk-heartbeats`: heartbeats go through this batcher, on a grid starting at `gridOriginMs`. */
  bulk?: { batcher: BulkHeartbeatBatcher; gridOriginMs: number } | undefined;
  /** Waits between retries and heartbeats (tests pass a fake; default: retry/'s pause). */
  sleep?: Sleep | undefined;
}

/** Fixed for the pilot's life: from its flags, its queue's data and the node. */
export interface JobSettings {
  serverUrl: string;
  pilotHome: string;
  identity: PilotIdentity;
  env: NodeJS.ProcessEnv;
  heartbeatSec: number;
  debugHeartbeatSec: number;
  /** SIGTERM → SIGKILL grace for the payload's process group (ms); once the pilot stops, at most half the cut-off's time left. */
  killGraceMs: number;
  /** How long the final update is retried before it is written to disk (ms). */
  finalDeadlineMs: number;
  /** Keep job dirs after reporting (debugging); else an acknowledged job's dir is removed once its log is safe. */
  keepJobDirs?: boolean | undefined;
  /** The queue's limits (max RSS, max time, cores) from its queue data; undefined when the pilot found none. */
  queueLimits?: QueueLimits | undefined;
  /** How payloads are watched (cgroups, watchdogs, sampling interval); defaults when absent. */
  monitor?: MonitorSettings | undefined;
  /** Retry backoff for updates (default: retry/'s DEFAULT_BACKOFF). */
  backoff?: BackoffOptions | undefined;
  /** Benchmark baseline only (hidden `--naive-updates`): fire updates unordered. */
  naiveUpdates?: boolean | undefined;
  /** `--use-realtime-logging`: where a job's live lines go. */
  realtime?: RealtimeSettings | undefined;
  /** Fetching sandboxes and transformations; without it only transformations on the node run. */
  preparation?: PreparationSettings | undefined;
  /** Log tarball and stage-out; without it the tarball stays in the job dir, as before. */
  files?: JobFileSettings | undefined;
  /** Event-service settings (CLI flags); defaults when absent. */
  eventService?: EsSettings | undefined;
}

/** How the pilot around a job tells it to stop, and how the job tells the pilot. */
export interface JobSignals {
  /** Aborted, with a PilotError as reason, when the whole pilot must stop (signal, lifetime). */
  pilotSignal: AbortSignal;
  /**
   * The stopping pilot's one cut-off (armed by a signal or the lifetime, `--signal-grace`): range
   * reports, the log's stage-out and the final update give up when it passes, and go to disk.
   */
  cutoff: Cutoff;
  /** Aborted on a second signal: payloads and ranges are killed at once, without the kill grace. */
  hardStop: AbortSignal;
  /** Told when the server asks this pilot to stop after the current work (softkill). */
  onSoftkill: () => void;
}

/**
 * Everything a job run needs from the pilot around it, in three parts a
 * helper can take one of (or a Pick): the services it calls, the settings it
 * reads, the signals it obeys. One flat object, so the pilot builds it once.
 */
export type JobContext = JobServices & JobSettings & JobSignals;
