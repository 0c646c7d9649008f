/**
 * The event service over the stores: ranges are made with their job, handed
 * only to a live job, updated from pilot reports, and at the job's end they
 * decide its state and what a retry of the job inherits. As on the real
 * servers (measured on 1.0.3 and 0.8.1), a failed range is never offered
 * again within its job: its next attempt goes to a new job of the task, as
 * JEDI would do, while the task's range attempts allow; a fatal one never.
 * A finished range stays `finished` (3): only server daemons make it `done`.
 * Every function runs inside the caller's transaction or opens its own.
 */
import {
  EventRangeStatus,
  formatEventRangeId,
  isPilotRangeState,
  parseEventRangeId,
  type EventRangeWire,
  type PilotRangeState,
} from '../../../pilot/src/protocol/index.js';
import {
  decideEsJobEnd,
  decideRangeReport,
  esFileName,
  ES_SCOPE,
  slotOutcome,
  type EsChunk,
  type EsJobEnd,
  type EventRangeRecord,
} from '../model/event-service.js';
import type { DescriptionValue } from '../model/job-description.js';
import type { JobRecord } from '../model/records.js';
import type { Stores } from '../store/index.js';

/** Job states in which a job may be given ranges. */
const CAN_TAKE_RANGES: readonly string[] = ['sent', 'starting', 'running'];
/** Job states in which range reports are accepted (the real server's list). */
const CAN_REPORT: readonly string[] = ['sent', 'starting', 'running', 'transferring'];
/** Commands under which a job gets no more ranges. */
const STOPPING: readonly string[] = ['tobekilled', 'softkill'];

/** Makes the ranges of a new event-service job: one per quantum of its chunk, all ready. */
export function createRanges(stores: Stores, job: JobRecord, label: string, chunk: EsChunk, at: string): void {
  chunk.quanta.forEach((q, i) => {
    const processId = i + 1;
    const parts = { taskId: job.taskId, pandaId: job.pandaId, fileId: chunk.firstOrderId, processId, attemptNr: 1 };
    stores.ranges.insert({
      rangeId: formatEventRangeId(parts),
      ...parts,
      jobSlot: job.slot,
      startEvent: processId,
      lastEvent: processId,
      lfn: esFileName(label, chunk.firstOrderId),
      guid: 'NULL',
      scope: ES_SCOPE,
      quantum: q.name,
      status: EventRangeStatus.ready,
      createdAt: at,
    });
  });
}

function toWire(r: EventRangeRecord): EventRangeWire {
  return { eventRangeID: r.rangeId, startEvent: r.startEvent, lastEvent: r.lastEvent, LFN: r.lfn, GUID: r.guid, scope: r.scope };
}

/**
 * Hands up to `n` ready ranges of a job to its pilot and marks them sent.
 * Empty when the job is not live, is being killed, belongs to another
 * jobset, or has nothing left: the pilot reads empty as "exhausted".
 */
export function acquireRanges(stores: Stores, pandaId: number, jobsetId: number, n: number, at: string): EventRangeWire[] {
  return stores.atomically(() => {
    const job = stores.jobs.get(pandaId);
    if (!job || job.jobsetId !== jobsetId || !CAN_TAKE_RANGES.includes(job.state)) return [];
    if (job.commandToPilot && STOPPING.includes(job.commandToPilot)) return [];
    const ranges = stores.ranges.withStatus(pandaId, EventRangeStatus.ready, Math.max(0, Math.min(n, 10_000)));
    for (const r of ranges) stores.ranges.update(r.rangeId, { status: EventRangeStatus.sent }, at);
    return ranges.map(toWire);
  });
}

/** Ready ranges left in a job's jobset (checkEventsAvailability). */
export function availableRanges(stores: Stores, pandaId: number, jobsetId: number): number {
  const job = stores.jobs.get(pandaId);
  if (!job || job.jobsetId !== jobsetId) return 0;
  return stores.ranges.countReady(job.taskId);
}

/** The per-range answers and per-job commands of a bulk report. */
export interface RangeReportResult {
  returns: (boolean | null)[];
  commands: Record<string, string | null>;
}

const num = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
};
const text = (v: unknown): string | null => (v === undefined || v === null ? null : String(v).slice(0, 500));

/** One range report: the answer for it, and the PandaID its command goes to. */
function reportOne(stores: Stores, item: unknown, at: string): { returns: boolean | null; pandaId: number | null; command: string | null } {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return { returns: false, pandaId: null, command: null };
  const e = item as Record<string, unknown>;
  const parts = parseEventRangeId(e.eventRangeID);
  if (!parts) return { returns: false, pandaId: null, command: null };
  const job = stores.jobs.get(parts.pandaId);
  if (!job) return { returns: false, pandaId: parts.pandaId, command: 'tobekilled' };
  const command = job.commandToPilot;
  const range = stores.ranges.get(formatEventRangeId(parts));
  if (!range || !isPilotRangeState(e.eventStatus) || !CAN_REPORT.includes(job.state)) return { returns: false, pandaId: job.pandaId, command };
  const state: PilotRangeState = e.eventStatus;
  const decision = decideRangeReport(range.status, state);
  if (decision.kind === 'running') {
    if (range.status === EventRangeStatus.sent) stores.ranges.update(range.rangeId, { status: EventRangeStatus.running }, at);
  } else if (decision.kind === 'apply') {
    stores.ranges.update(
      range.rangeId,
      {
        status: decision.status,
        errorCode: num(e.errorCode),
        errorDiag: text(e.errorDiag),
        coreCount: num(e.coreCount),
        cpuConsumptionTime: num(e.cpuConsumptionTime),
      },
      at,
    );
  }
  return { returns: decision.returns, pandaId: job.pandaId, command };
}

/** A fresh attempt of a range: a new ID with attemptNr + 1, ready, for `pandaId`. */
function insertNextAttempt(stores: Stores, range: EventRangeRecord, pandaId: number, at: string): void {
  const parts = { taskId: range.taskId, pandaId, fileId: range.fileId, processId: range.processId, attemptNr: range.attemptNr + 1 };
  stores.ranges.insert({ ...range, ...parts, rangeId: formatEventRangeId(parts), status: EventRangeStatus.ready, createdAt: at });
}

/** Applies a bulk range report (updateEventRanges version 0) in one transaction. */
export function reportRanges(stores: Stores, items: readonly unknown[], at: string): RangeReportResult {
  return stores.atomically(() => {
    const returns: (boolean | null)[] = [];
    const commands: Record<string, string | null> = {};
    for (const item of items) {
      const r = reportOne(stores, item, at);
      returns.push(r.returns);
      if (r.pandaId !== null && !(String(r.pandaId) in commands)) commands[String(r.pandaId)] = r.command;
    }
    return { returns, commands };
  });
}

/** Applies one range report (updateEventRange); ok is false when it was refused. */
export function reportSingleRange(stores: Stores, report: Record<string, unknown>, at: string): { ok: boolean; command: string | null } {
  const { returns, commands } = reportRanges(stores, [report], at);
  const ok = returns[0] !== false;
  return { ok, command: Object.values(commands)[0] ?? null };
}

/**
 * Closes an event-service job's ranges at its end and decides its state:
 * finished ranges stay finished (their output is kept whatever the job
 * does), ranges still out or waiting are cancelled (a retry inherits them),
 * and the latest attempt of each quantum decides. Undefined for a plain job.
 */
export function endEsJob(
  stores: Stores,
  job: Pick<JobRecord, 'pandaId' | 'taskId' | 'slot'>,
  pilotFinal: 'finished' | 'failed',
  killed: boolean,
  at: string,
): EsJobEnd | undefined {
  const es = stores.ranges.task(job.taskId);
  if (!es) return undefined;
  stores.ranges.moveAll(job.pandaId, [EventRangeStatus.ready, EventRangeStatus.sent, EventRangeStatus.running], EventRangeStatus.cancelled, at);
  const outcomes = stores.ranges.latestOfSlot(job.taskId, job.slot).map((r) => slotOutcome(r, es.rangeAttempts));
  return decideEsJobEnd(outcomes, pilotFinal, killed);
}

/** Gives a job's next attempt a fresh range for every quantum that still has work. */
export function carryRanges(stores: Stores, job: JobRecord, nextPandaId: number, at: string): void {
  const es = stores.ranges.task(job.taskId);
  if (!es) return;
  for (const r of stores.ranges.latestOfSlot(job.taskId, job.slot)) {
    if (slotOutcome(r, es.rangeAttempts) === 'pending') insertNextAttempt(stores, r, nextPandaId, at);
  }
}

/** The description fields that make a job an event-service job (fixture getjob-rubin-es-legacy). */
export function esDescriptionFields(stores: Stores, job: JobRecord, label: string): Record<string, DescriptionValue> | undefined {
  if (!stores.ranges.task(job.taskId)) return undefined;
  const slots = stores.ranges.latestOfSlot(job.taskId, job.slot);
  const first = slots[0];
  if (!first) return undefined;
  return {
    eventService: 'True',
    inFiles: `${esFileName(label, first.fileId)}^${slots.length}`,
    GUID: 'NULL',
    fsize: '0',
    checksum: 'NULL',
    scopeIn: ES_SCOPE,
    realDatasetsIn: `${ES_SCOPE}:${label}`,
    prodDBlocks: `${ES_SCOPE}:${label}`,
    prodDBlockToken: 'NULL',
    dispatchDblock: 'NULL',
    dispatchDBlockToken: 'NULL',
    ddmEndPointIn: 'NULL',
  };
}

/** A range as the management API shows it: the record plus its status by name. */
export type RangeView = EventRangeRecord & { statusName: string };
