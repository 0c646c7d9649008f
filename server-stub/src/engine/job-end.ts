/**
 * What happens when a job reaches the end: the stub's "post-processing"
 * (holding → finished/failed), the retry decision, and the effect on tasks
 * that wait for this one. Runs inside the caller's transaction.
 */
import { randomUUID } from 'node:crypto';
import { finalStateAfterHolding } from '../model/job-state-machine.js';
import { pandaJobName } from '../model/job-description.js';
import type { JobRecord, JobUpdateView } from '../model/records.js';
import { resourceTypeFor, type ResourceTypeRow } from '../model/resource-types.js';
import { decideRetry } from '../model/retry-policy.js';
import { carryRanges, endEsJob } from './event-service.js';
import { dependencyVerdict, taskOutcome, taskStatus } from '../model/task-progress.js';
import type { JobChanges, Stores } from '../store/index.js';

/** PanDA's taskBufferErrorCode for a job killed on request (EC_Kill). */
export const SERVER_KILL_CODE = 100;
export const SERVER_KILL_DIAG = 'killed by panda-stub management API';

/** Recomputes the status of a task from its jobs. */
export function refreshTaskStatus(stores: Stores, taskId: number): void {
  // Most calls come while the task runs: answer from the index instead of reading every job (O(1), not O(jobs)),
  // and without reading the task row (a conditional write that changes nothing while it already runs).
  if (stores.jobs.hasJobInFlight(taskId)) {
    stores.tasks.markRunning(taskId);
    return;
  }
  const task = stores.tasks.get(taskId);
  if (!task) return;
  const latest = stores.jobs.latestStates(taskId);
  const unmet = task.after.some((dep) => taskOutcome(stores.jobs.latestStates(dep)) !== 'done');
  stores.tasks.setStatus(taskId, taskStatus(latest, unmet));
}

/**
 * Releases or cancels the defined jobs of tasks waiting on `taskId`, and so
 * on down the chain: a cancelled task dooms its own dependants too.
 */
export function resolveDependants(stores: Stores, taskId: number, at: string): void {
  for (const dependant of stores.tasks.dependantsOf(taskId)) {
    const outcomes = dependant.after.map((dep) => taskOutcome(stores.jobs.latestStates(dep)));
    const verdict = dependencyVerdict(outcomes);
    if (verdict === 'wait') continue;
    const defined = stores.jobs.list({ taskId: dependant.taskId, state: 'defined' });
    for (const job of defined) {
      if (verdict === 'release') {
        stores.jobs.transition(job.pandaId, 'defined', 'activated', at, 'dependencies finished');
      } else {
        stores.jobs.transition(job.pandaId, 'defined', 'cancelled', at, `a task it waits for (${taskId}) failed`);
      }
    }
    refreshTaskStatus(stores, dependant.taskId);
    if (verdict === 'cancel' && defined.length > 0) resolveDependants(stores, dependant.taskId, at);
  }
}

/**
 * Creates the next attempt of a failed job when the retry policy says so.
 * Returns its PandaID. `failure` overrides the pilot's code (a server-side failure);
 * `esPending` is how many event ranges an event-service job still has to run.
 */
function maybeRetry(
  stores: Stores,
  job: JobRecord,
  at: string,
  resourceTypes?: readonly ResourceTypeRow[],
  failure?: { code: number; diag: string },
  esPending?: number,
): number | null {
  const task = stores.tasks.get(job.taskId);
  if (!task) return null;
  if (esPending === 0) {
    // An event-service job whose every range is done, fatal or out of attempts: a retry would have nothing to run.
    stores.jobs.addHistory({ pandaId: job.pandaId, at, from: job.state, to: job.state, reason: 'retry decision: no event ranges left to retry' });
    return null;
  }
  const code = failure?.code ?? (typeof job.report.pilotErrorCode === 'number' ? job.report.pilotErrorCode : undefined);
  const diag = failure?.diag ?? (typeof job.report.pilotErrorDiag === 'string' ? job.report.pilotErrorDiag : undefined);
  const killed = job.commandToPilot === 'tobekilled';
  // An event-service job's failed ranges come back in a new job (never in the same one), as JEDI
  // does: the task's range attempts bound those retries, not only its job attempts.
  const es = esPending !== undefined ? stores.ranges.task(job.taskId) : undefined;
  const policy = es ? { ...task, maxAttempts: Math.max(task.maxAttempts, es.rangeAttempts) } : task;
  const action = decideRetry({ attemptNr: job.attemptNr, minRamCount: job.minRamCount, cores: job.cores, killed }, policy, code, diag);
  stores.jobs.addHistory({ pandaId: job.pandaId, at, from: job.state, to: job.state, reason: `retry decision: ${action.reason}` });
  if (action.action !== 'retry') return null;
  const next = stores.jobs.insert(
    {
      taskId: job.taskId,
      slot: job.slot,
      name: job.name,
      jobsetId: job.jobsetId,
      attemptNr: action.attemptNr,
      state: 'activated',
      command: job.command,
      cores: job.cores,
      minRamCount: action.minRamCount,
      maxDiskCount: job.maxDiskCount,
      maxWalltime: job.maxWalltime,
      // More memory can mean another resource type (U8G → U16G), and so other queues.
      resourceType: action.memoryBoosted ? resourceTypeFor(action.minRamCount, job.cores, resourceTypes) : job.resourceType,
      label: job.label,
      site: job.site,
      priority: job.priority,
      logGuid: randomUUID(),
      retryOf: job.pandaId,
      createdAt: at,
    },
    (pandaId) => pandaJobName(task.name, job.name, pandaId),
  );
  carryRanges(stores, job, next.pandaId, at);
  return next.pandaId;
}

/** A final report as its update writes it: the job's state before it and the update's own changes. */
export interface FinalReportWrite {
  from: JobRecord['state'];
  changes: JobChanges;
  /** The history reason of the step into holding; null when the job was holding already. */
  holdingReason: string | null;
}

/**
 * Applies a final report and finalises the job: holding (the report's own
 * step), then finished or failed, with a server-side reason when it was
 * killed, then retry and dependants. The report's changes and the end state
 * go in one UPDATE (both steps in the job's history): final reports are a
 * fifth of the updates under load. `job` is its row with the report applied.
 * Returns false when the row was not in `write.from` any more (nothing written).
 */
export function finaliseJob(
  stores: Stores,
  job: JobUpdateView,
  pilotFinal: 'finished' | 'failed',
  write: FinalReportWrite,
  at: string,
  resourceTypes?: readonly ResourceTypeRow[],
): boolean {
  const pandaId = job.pandaId;
  const killed = job.commandToPilot === 'tobekilled';
  // An event-service job ends as its ranges say, and the pilot's word alone cannot finish it.
  const es = endEsJob(stores, job, pilotFinal, killed, at);
  const end = es?.state ?? finalStateAfterHolding(pilotFinal, killed);
  let reason = killed ? `finalised: killed (pilot reported ${pilotFinal})` : `finalised: pilot reported ${pilotFinal}`;
  if (es) reason += `; ${es.reason}`;
  const extra = killed
    ? { serverErrorCode: SERVER_KILL_CODE, serverErrorDiag: SERVER_KILL_DIAG }
    : es && end !== pilotFinal
      ? { serverErrorDiag: `event service: ${es.reason}` }
      : {};
  const via = write.holdingReason === null ? null : { state: 'holding' as const, reason: write.holdingReason };
  if (!stores.jobs.transitionVia(pandaId, write.from, via, end, at, reason, { ...write.changes, ...extra })) return false;
  if (end === 'failed') {
    const ended = stores.jobs.get(pandaId);
    if (ended) maybeRetry(stores, ended, at, resourceTypes, undefined, es?.pending);
  }
  refreshTaskStatus(stores, job.taskId);
  resolveDependants(stores, job.taskId, at);
  return true;
}

/**
 * Fails a job on the server's own account (the watchdog), if it is still in
 * `from`: records the code and diagnostic, then retry and dependants as for
 * any failure. Returns whether it changed the job.
 */
export function failByServer(
  stores: Stores,
  pandaId: number,
  from: JobRecord['state'],
  failure: { code: number; diag: string },
  at: string,
  resourceTypes?: readonly ResourceTypeRow[],
): boolean {
  const { code, diag } = failure;
  if (!stores.jobs.transition(pandaId, from, 'failed', at, `server: ${diag}`, { serverErrorCode: code, serverErrorDiag: diag })) return false;
  const failed = stores.jobs.get(pandaId);
  if (!failed) return true;
  maybeRetry(stores, failed, at, resourceTypes, failure);
  refreshTaskStatus(stores, failed.taskId);
  resolveDependants(stores, failed.taskId, at);
  return true;
}
