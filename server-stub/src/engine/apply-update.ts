/**
 * One pilot update, end to end: the state machine's decision, the write, the
 * finalisation of a final report, and the record of the request itself —
 * all in one transaction, so the stored history always matches the replies.
 */
import { decideUpdate, type UpdateDecision } from '../model/job-state-machine.js';
import type { Dialect, PilotReport } from '../model/records.js';
import { acceptAnyOrder, type UpdateOrderCheck } from '../model/update-seq.js';
import type { ResourceTypeRow } from '../model/resource-types.js';
import type { Stores } from '../store/index.js';
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
  decision: UpdateDecision;
  /** The command for the reply; `NULL` when none. */
  command: string;
}

function resultName(d: UpdateDecision): string {
  if (d.kind === 'reject') return d.command;
  return d.kind === 'apply' ? 'applied' : d.kind === 'skip' ? 'skipped' : 'invalid';
}

/** Applies one update. `orderCheck` is where update-order rules plug in. */
export function applyUpdate(
  stores: Stores,
  input: UpdateInput,
  at: string,
  orderCheck: UpdateOrderCheck = acceptAnyOrder,
  resourceTypes?: readonly ResourceTypeRow[],
): UpdateOutcome {
  return stores.atomically(() => {
    const job = stores.jobs.get(input.pandaId);
    const decision = decideUpdate(job, { state: input.state, attemptNr: input.attemptNr });
    if (job && decision.kind === 'apply') {
      const changes = { report: { ...job.report, ...input.report }, heartbeatAt: at };
      if (decision.state !== job.state) {
        stores.jobs.transition(job.pandaId, job.state, decision.state, at, `pilot update: ${decision.note}`, changes);
      } else {
        stores.jobs.update(job.pandaId, changes);
      }
      if (decision.final !== null) {
        stores.jobs.update(job.pandaId, { finalReported: true, pilotFinalState: decision.final });
        finaliseJob(stores, job.pandaId, decision.final, at, resourceTypes);
      }
    }
    const command = decision.kind === 'invalid' ? 'NULL' : decision.command;
    const previous = stores.updates.last(input.pandaId);
    const verdict = orderCheck(
      previous && { seqHeader: previous.seqHeader, state: String(previous.params.state ?? previous.params.job_status ?? '') },
      { seqHeader: input.seqHeader, state: input.state },
    );
    stores.updates.insert({
      pandaId: input.pandaId,
      receivedAt: at,
      dialect: input.dialect,
      method: input.method,
      params: input.params,
      seqHeader: input.seqHeader,
      result: resultName(decision),
      command,
      orderViolation: verdict,
    });
    return { decision, command };
  });
}
