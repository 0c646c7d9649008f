/**
 * One pilot update, end to end: the order rules, the state machine's
 * decision, the write, the finalisation of a final report, and the record of
 * the request itself — all in one transaction, so the stored history always
 * matches the replies.
 */
import { decideUpdate, type UpdateDecision } from '../model/job-state-machine.js';
import type { Dialect, JobUpdateView, PilotReport } from '../model/records.js';
import type { ResourceTypeRow } from '../model/resource-types.js';
import {
  checkUpdateOrder,
  foldOrder,
  orderStateOf,
  paramsKey,
  type OrderState,
  type OrderVerdict,
  type PastUpdate,
  type UpdateOrderCheck,
} from '../model/update-seq.js';
import type { OrderHistoryRow, Stores } from '../store/index.js';
import { finaliseJob } from './job-end.js';

/** An update as both dialects deliver it, after name normalisation. */
export interface UpdateInput {
  dialect: Dialect;
  /** The wire method, e.g. `updateJob` or `pilot/update_job`. */
  method: string;
  pandaId: number;
  state: string;
  attemptNr?: number | undefined;
  /** Pilot-reported fields in the stub's camelCase vocabulary. */
  report: PilotReport;
  /** Parameters exactly as received, kept for the record. */
  params: Record<string, unknown>;
  seqHeader: string | null;
}

/** What the reply needs. */
export interface UpdateOutcome {
  /** The state machine's decision; null when the order rules refused or deduplicated the update. */
  decision: UpdateDecision | null;
  order: OrderVerdict;
  /** The command for the reply; `NULL` when none. */
  command: string;
}

/** Result names an update record can carry besides the state machine's. */
export const DUPLICATE_RESULT = 'duplicate';
export const REFUSED_RESULT = 'refused';

function resultName(d: UpdateDecision): string {
  if (d.kind === 'reject') return d.command;
  return d.kind === 'apply' ? 'applied' : d.kind === 'skip' ? 'skipped' : 'invalid';
}

/** A stored update as the order rules see it. */
export function pastUpdate(r: OrderHistoryRow): PastUpdate {
  return {
    seqHeader: r.seqHeader,
    state: r.state,
    accepted: r.orderViolation === null && r.result !== DUPLICATE_RESULT && r.result !== 'invalid',
    // Parsed and computed only when the rules compare it (a resend with a sequence already seen): every update reads its job's history.
    get paramsKey() {
      return paramsKey(JSON.parse(r.paramsJson) as Record<string, unknown>);
    },
    command: r.command,
  };
}

/**
 * The order rules' view of a job: the summary kept on its row, with the one
 * lookup they may need (an accepted update with the same sequence: a resend)
 * read only when asked. A job without the summary (made by an older stub; a
 * new job starts with the empty one) or no job at all: folded from every
 * stored update.
 */
function orderStateFor(stores: Stores, pandaId: number, job: JobUpdateView | undefined): OrderState {
  if (!job?.order) return orderStateOf(stores.updates.orderHistory(pandaId).map(pastUpdate));
  // Named fields, not `{ ...job.order, acceptedBySeq }`: a spread followed by more properties took V8 about a
  // microsecond here (a spread of a few fields with more after it, 1-7 µs in node 20: see also the record below).
  const { lastSeq, lastRank, lastState, finalAccepted } = job.order;
  return {
    lastSeq,
    lastRank,
    lastState,
    finalAccepted,
    acceptedBySeq: { get: (raw) => orderStateOf(stores.updates.withSeq(pandaId, raw).map(pastUpdate)).acceptedBySeq.get(raw) },
  };
}

/** Applies one update. `orderCheck` decides whether it may reach the state machine at all. */
export function applyUpdate(
  stores: Stores,
  input: UpdateInput,
  at: string,
  orderCheck: UpdateOrderCheck = checkUpdateOrder,
  resourceTypes?: readonly ResourceTypeRow[],
): UpdateOutcome {
  return stores.atomically(() => {
    const job = stores.jobs.forUpdate(input.pandaId);
    const orderState = orderStateFor(stores, input.pandaId, job);
    const order = orderCheck(orderState, {
      pandaId: input.pandaId,
      attemptNr: input.attemptNr,
      seqHeader: input.seqHeader,
      state: input.state,
      get paramsKey() {
        return paramsKey(input.params);
      },
    });
    // The update's record, as one literal per call: `{ ...record, result, command, orderViolation }` cost 7 µs an update.
    const record = (result: string, command: string, orderViolation: string | null) => ({
      pandaId: input.pandaId,
      receivedAt: at,
      dialect: input.dialect,
      method: input.method,
      params: input.params,
      seqHeader: input.seqHeader,
      result,
      command,
      orderViolation,
    });
    if (order.kind === 'duplicate') {
      stores.updates.insert(record(DUPLICATE_RESULT, order.command, null));
      return { decision: null, order, command: order.command };
    }
    const decision = decideUpdate(job, { state: input.state, attemptNr: input.attemptNr });
    if (order.kind === 'violation') {
      // Not applied, but answered as the real server answers it (it has no order rules): its guards' command
      // (alreadydone, tobekilled) or the operator's command, silently otherwise. The violation is only counted and shown.
      const command = decision.kind === 'invalid' ? 'NULL' : decision.command;
      stores.updates.insert(record(REFUSED_RESULT, command, order.reason));
      return { decision: null, order, command };
    }
    if (job && decision.kind === 'apply') {
      const changes = {
        report: { ...job.report, ...input.report },
        // This update is accepted: the summary on the row moves on with it, in the same UPDATE.
        order: foldOrder(orderState, input.seqHeader, input.state),
        heartbeatAt: at,
        ...(decision.final !== null ? { finalReported: true, pilotFinalState: decision.final } : {}),
      };
      const stepReason = decision.state !== job.state ? `pilot update: ${decision.note}` : null;
      if (decision.final !== null) {
        // The row with the report applied, so finalising does not read it again; it writes the report and the end at once.
        const now: JobUpdateView = Object.assign({}, job, changes, { state: decision.state });
        finaliseJob(stores, now, decision.final, { from: job.state, changes, holdingReason: stepReason }, at, resourceTypes);
      } else if (stepReason !== null) {
        // Read in this transaction just above, so the conditional UPDATE always matches.
        stores.jobs.transition(job.pandaId, job.state, decision.state, at, stepReason, changes);
      } else {
        stores.jobs.update(job.pandaId, changes);
      }
    } else if (job && decision.kind !== 'invalid') {
      // Accepted but not applied (skipped, alreadydone, tobekilled): it still counts for the order rules, as its record does.
      stores.jobs.update(job.pandaId, { order: foldOrder(orderState, input.seqHeader, input.state) });
    }
    const command = decision.kind === 'invalid' ? 'NULL' : decision.command;
    stores.updates.insert(record(resultName(decision), command, null));
    return { decision, order, command };
  });
}
