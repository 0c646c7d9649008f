/**
 * The stub's logic behind one narrow object: the HTTP handlers see only
 * this, never SQL. Each method is one transaction over the stores.
 */
import { toQueueData, type SiteCatalog } from '../../../pilot/src/site-config/index.js';
import { eventRangeStatusName, type EventRangeWire } from '../../../pilot/src/protocol/index.js';
import type { DispatchRequest } from '../model/dispatch-filter.js';
import { buildJobDescription, type DescriptionValue } from '../model/job-description.js';
import type { JobRecord, JobTransition, TaskRecord, UpdateRecord } from '../model/records.js';
import { fromConfigRow, type ResourceTypeRow } from '../model/resource-types.js';
import type { SubmissionSpec } from '../model/task-file.js';
import { checkUpdateOrder, type UpdateOrderCheck } from '../model/update-seq.js';
import type { CommitStats, Stores, WorkerStatusRecord } from '../store/index.js';
import { applyUpdate, type UpdateInput, type UpdateOutcome } from './apply-update.js';
import { dispatchJobs } from './dispatch.js';
import { watchdogSweep, type WatchdogAction } from './watchdog.js';
import type { WatchdogLimits } from '../model/watchdog-rules.js';
import {
  acquireRanges,
  availableRanges,
  esDescriptionFields,
  reportRanges,
  reportSingleRange,
  type RangeReportResult,
  type RangeView,
} from './event-service.js';
import { killJob, softkillJob, type KillResult } from './kill.js';
import { submit, type SubmittedTask } from './submit.js';

/** Options: order rules (default: `checkUpdateOrder`), site resource types, a fake clock in tests. */
export interface EngineOptions {
  orderCheck?: UpdateOrderCheck;
  resourceTypes?: readonly ResourceTypeRow[];
  now?: () => Date;
  /** Queues and resource types from site-config: brokerage by memory range and status, queue data to serve. Absent: jobs go to the queue they name. */
  siteCatalog?: SiteCatalog;
}

/** A job with everything the management API shows about it. */
export interface JobDetails {
  job: JobRecord;
  history: JobTransition[];
  updates: UpdateRecord[];
  /** Updates of this job refused by the order rules. */
  order_violations: number;
  /** Every range row of an event-service job (all attempts), with its status by name. */
  eventRanges?: RangeView[];
}

/** Counts for `GET /stub/summary`. */
export interface Summary {
  jobs: Record<string, number>;
  tasks: Record<string, number>;
  updates: { total: number; byResult: Record<string, number>; byDialect: Record<string, number> };
  order_violations: number;
  /** Event ranges by status name (event-service tasks only). */
  eventRanges: Record<string, number>;
}

/** The stub's logic over its stores. */
export class StubEngine {
  private readonly orderCheck: UpdateOrderCheck;
  private readonly now: () => Date;
  private readonly resourceTypes: readonly ResourceTypeRow[] | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly options: EngineOptions = {},
  ) {
    this.orderCheck = options.orderCheck ?? checkUpdateOrder;
    this.now = options.now ?? (() => new Date());
    const table = options.siteCatalog?.resourceTypes;
    this.resourceTypes = options.resourceTypes ?? (table && table.length > 0 ? table.map(fromConfigRow) : undefined);
  }

  /** A queue's data as `/cache/schedconfig/<queue>.all.json` serves it; undefined for a queue the configuration does not know. */
  queueData(queue: string): Record<string, unknown> | undefined {
    const q = this.options.siteCatalog?.queues.get(queue);
    return q && toQueueData(q, this.options.siteCatalog?.resourceTypes ?? []);
  }

  /** The last time stamp made and its millisecond: under load several requests a millisecond share it. */
  private lastAt = { ms: NaN, iso: '' };

  private at(): string {
    // toISOString costs about as much as a small SQL statement; the text only changes with the millisecond.
    const now = this.now();
    const ms = now.getTime();
    if (ms !== this.lastAt.ms) this.lastAt = { ms, iso: now.toISOString() };
    return this.lastAt.iso;
  }

  submit(spec: SubmissionSpec): SubmittedTask[] {
    return submit(this.stores, spec, this.at(), this.resourceTypes);
  }

  /** Dispatches jobs and returns their descriptions, ready for either dialect. */
  dispatch(req: DispatchRequest, node: string | null): Record<string, DescriptionValue>[] {
    const jobs = dispatchJobs(this.stores, req, node, this.at(), this.options.siteCatalog);
    return jobs.map(({ job, task }) => {
      const es = esDescriptionFields(this.stores, job, task.name);
      return es ? { ...buildJobDescription(job, task), ...es } : buildJobDescription(job, task);
    });
  }

  /** Hands ready ranges to a live job (getEventRanges / acquire_event_ranges). */
  acquireRanges(pandaId: number, jobsetId: number, n: number): EventRangeWire[] {
    return acquireRanges(this.stores, pandaId, jobsetId, n, this.at());
  }

  /** A bulk range report (updateEventRanges / update_event_ranges, version 0). */
  reportRanges(items: readonly unknown[]): RangeReportResult {
    return reportRanges(this.stores, items, this.at());
  }

  /** One range report (updateEventRange / update_single_event_range). */
  reportSingleRange(report: Record<string, unknown>): { ok: boolean; command: string | null } {
    return reportSingleRange(this.stores, report, this.at());
  }

  /** Ranges still ready in the job's jobset. */
  availableRanges(pandaId: number, jobsetId: number): number {
    return availableRanges(this.stores, pandaId, jobsetId);
  }

  softkill(pandaId: number): KillResult | undefined {
    return softkillJob(this.stores, pandaId, this.at());
  }

  update(input: UpdateInput): UpdateOutcome {
    return applyUpdate(this.stores, input, this.at(), this.orderCheck, this.resourceTypes);
  }

  /** One watchdog pass with these limits, at the engine's clock. */
  watchdogSweep(limits: WatchdogLimits): WatchdogAction[] {
    return watchdogSweep(this.stores, limits, this.now(), this.resourceTypes);
  }

  /** Records a worker status report (Harvester's worker started/finished). */
  workerStatus(report: Omit<WorkerStatusRecord, 'id' | 'receivedAt'>): WorkerStatusRecord {
    // In the group-commit batch, so the reply waits until the report is on disk like every other write.
    return this.stores.atomically(() => this.stores.workers.insert({ ...report, receivedAt: this.at() }));
  }

  workerReports(): WorkerStatusRecord[] {
    return this.stores.workers.list();
  }

  kill(pandaId: number): KillResult | undefined {
    return killJob(this.stores, pandaId, this.at());
  }

  /** State and attempt number of jobs, for getStatus; undefined entries are unknown ids. */
  statusOf(pandaIds: readonly number[]): ({ state: string; attemptNr: number } | undefined)[] {
    return pandaIds.map((id) => {
      const job = this.stores.jobs.get(id);
      return job && { state: job.state, attemptNr: job.attemptNr };
    });
  }

  tasks(): TaskRecord[] {
    return this.stores.tasks.list();
  }

  task(taskId: number): TaskRecord | undefined {
    return this.stores.tasks.get(taskId);
  }

  jobs(filter: { taskId?: number | undefined; state?: string | undefined }): JobRecord[] {
    return this.stores.jobs.list(filter);
  }

  /** Job counts per task and state (monitor overview). */
  taskJobCounts(): Map<number, Record<string, number>> {
    return this.stores.jobs.countByTaskAndState();
  }

  /** A page of a task's jobs, optionally in one state. */
  jobsPage(taskId: number, state: string | undefined, limit: number): JobRecord[] {
    return this.stores.jobs.page(taskId, state, limit);
  }

  /** Every attempt of the job slot `job` belongs to. */
  attemptsOf(job: JobRecord): JobRecord[] {
    return this.stores.jobs.attempts(job.taskId, job.slot);
  }

  jobDetails(pandaId: number): JobDetails | undefined {
    const job = this.stores.jobs.get(pandaId);
    if (!job) return undefined;
    const updates = this.stores.updates.forJob(pandaId);
    const details: JobDetails = {
      job,
      history: this.stores.jobs.history(pandaId),
      updates,
      order_violations: updates.filter((u) => u.orderViolation !== null).length,
    };
    if (this.stores.ranges.task(job.taskId)) {
      details.eventRanges = this.stores.ranges.forJob(pandaId).map((r) => ({ ...r, statusName: eventRangeStatusName(r.status) }));
    }
    return details;
  }

  /** The group commit's figures: batches, writes per batch, log syncs and their times. */
  durability(): CommitStats {
    return this.stores.commitStats();
  }

  summary(): Summary {
    const { orderViolations, ...updates } = this.stores.updates.totals();
    return {
      jobs: this.stores.jobs.countByState(),
      tasks: this.stores.tasks.countByStatus(),
      updates,
      order_violations: orderViolations,
      eventRanges: Object.fromEntries(Object.entries(this.stores.ranges.countByStatus()).map(([code, n]) => [eventRangeStatusName(Number(code)), n])),
    };
  }
}
