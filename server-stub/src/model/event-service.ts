/**
 * Event-service decisions, as plain functions: how a task's payloads are
 * clustered into jobs of ranges, what command such a job carries, what a
 * range report does to a range, and how a job's ranges decide its end.
 *
 * How a range finds its payload (the Rubin way, docs/panda-protocol.md §11): every payload
 * of a task is a quantum with an order id 1…N. A job carries the pseudo file
 * `<label>:eventservice_<n>` (n = the order id of its first quantum) and one
 * range per quantum with startEvent 1…k, so a range's order id is
 * n + startEvent − 1. The job's command names its file and embeds the
 * `RUBIN_ES_MAP` (`{label: {orderId: "<label>:<quantum>"}}`); the pilot
 * replaces the file name in the command with the range's map entry, and the
 * command's `case` runs that quantum's own command line. So a job is
 * self-contained: a pilot needs nothing from the stub's disk.
 */
import { EventRangeStatus, type EventRangeStatusCode, type PilotRangeState } from '../../../pilot/src/protocol/index.js';
import type { JobSpec } from './task-file.js';

/** Rubin's pseudo dataset scope for event-service inputs (fixture getjob-rubin-es-legacy). */
export const ES_SCOPE = 'pseudo_dataset';

/** One range as the stub stores it. */
export interface EventRangeRecord {
  rangeId: string;
  taskId: number;
  pandaId: number;
  /** The job slot (chunk) of the task this range belongs to; all attempts of the job share it. */
  jobSlot: number;
  fileId: number;
  processId: number;
  attemptNr: number;
  startEvent: number;
  lastEvent: number;
  lfn: string;
  guid: string;
  scope: string;
  /** The quantum (payload name from the task file) this range runs. */
  quantum: string;
  status: EventRangeStatusCode;
  errorCode: number | null;
  errorDiag: string | null;
  coreCount: number | null;
  cpuConsumptionTime: number | null;
  createdAt: string;
  updatedAt: string;
}

/** A PanDA job of an event-service task: its quanta and where they sit in the task's order. */
export interface EsChunk {
  /** Order id of the first quantum (1-based): the `n` in `<label>:eventservice_<n>`. */
  firstOrderId: number;
  quanta: JobSpec[];
}

/** Groups a task's payloads into jobs of up to `perJob` ranges, in order. */
export function clusterQuanta(quanta: readonly JobSpec[], perJob: number): EsChunk[] {
  const chunks: EsChunk[] = [];
  for (let i = 0; i < quanta.length; i += perJob) chunks.push({ firstOrderId: i + 1, quanta: quanta.slice(i, i + perJob) });
  return chunks;
}

/** The pseudo input file of a job: `<label>:eventservice_<n>`. */
export function esFileName(label: string, firstOrderId: number): string {
  return `${label}:eventservice_${firstOrderId}`;
}

/** bash ANSI-C quoting: safe for any text, with no extra process per range. */
function ansiC(text: string): string {
  return `$'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

/** The shell command an event-service job carries (see the module comment). */
export function esJobCommand(label: string, chunk: EsChunk): string {
  const map: Record<string, string> = {};
  chunk.quanta.forEach((q, i) => {
    map[String(chunk.firstOrderId + i)] = `${label}:${q.name}`;
  });
  const arms = chunk.quanta.map((q) => `  ${q.name}) eval ${ansiC(q.command)} ;;`);
  return [
    `export RUBIN_ES_MAP='${JSON.stringify({ [label]: map })}'`,
    `quantum=${esFileName(label, chunk.firstOrderId)}`,
    'case "${quantum#*:}" in',
    ...arms,
    '  *) echo "panda-stub: this job has no quantum named ${quantum#*:}" >&2; exit 65 ;;',
    'esac',
  ].join('\n');
}

/** What a pilot's report does to one range. `returns` is the per-range answer (true, false, or null for "not final, ignored"). */
export type RangeReportDecision =
  | { kind: 'apply'; status: EventRangeStatusCode; returns: true }
  | { kind: 'running'; returns: null }
  | { kind: 'repeat'; returns: true }
  | { kind: 'refuse'; returns: false; why: string };

const LIVE: readonly number[] = [EventRangeStatus.sent, EventRangeStatus.running];

/**
 * Decides a report for a range in `current` status. Only a range handed out
 * (sent/running) takes a final status; the same final status again is
 * accepted as a repeat (a pilot retrying a report whose reply was lost).
 * As on the real servers, a failed range is not offered again within the
 * same job: its next attempt goes to the job's retry (see `slotOutcome`).
 */
export function decideRangeReport(current: EventRangeStatusCode, state: PilotRangeState): RangeReportDecision {
  if (state === 'running') return { kind: 'running', returns: null };
  const target = EventRangeStatus[state];
  if (current === target) return { kind: 'repeat', returns: true };
  if (!LIVE.includes(current)) return { kind: 'refuse', returns: false, why: `range is not sent or running (status ${current})` };
  return { kind: 'apply', status: target, returns: true };
}

/** Where one range slot (a quantum in a job) stands, from its latest attempt. */
export type SlotOutcome = 'done' | 'fatal' | 'exhausted' | 'pending';

/**
 * A slot's outcome from its latest range; `rangeAttempts` bounds the retries.
 * `finished` (3) counts as done: on a real server only its daemons move a
 * range on to `done` (6), and the stub runs none.
 */
export function slotOutcome(latest: Pick<EventRangeRecord, 'status' | 'attemptNr'>, rangeAttempts: number): SlotOutcome {
  if (latest.status === EventRangeStatus.finished || latest.status === EventRangeStatus.done || latest.status === EventRangeStatus.merged) return 'done';
  if (latest.status === EventRangeStatus.fatal) return 'fatal';
  if (latest.status === EventRangeStatus.failed && latest.attemptNr >= rangeAttempts) return 'exhausted';
  return 'pending';
}

/** The end of an event-service job, from its ranges and what the pilot said. */
export interface EsJobEnd {
  state: 'finished' | 'failed';
  /** Why the stub failed a job the pilot called finished, or a summary for the history. */
  reason: string;
  /** Slots that still have work a retry could do. */
  pending: number;
}

/** All ranges done → finished (unless the pilot says failed or the job was killed); anything else → failed. */
export function decideEsJobEnd(outcomes: readonly SlotOutcome[], pilotFinal: 'finished' | 'failed', killed: boolean): EsJobEnd {
  const count = (o: SlotOutcome) => outcomes.filter((x) => x === o).length;
  const done = count('done');
  const pending = count('pending');
  const reason = `ranges: ${done} done, ${count('fatal')} fatal, ${count('exhausted')} failed for good, ${pending} left, of ${outcomes.length}`;
  const allDone = outcomes.length > 0 && done === outcomes.length;
  const state = !killed && pilotFinal === 'finished' && allDone ? 'finished' : 'failed';
  return { state, reason, pending };
}
