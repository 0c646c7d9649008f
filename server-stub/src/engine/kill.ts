/** The operator's kill: cancel what never ran, tell a running pilot to stop. */
import type { Stores } from '../store/index.js';
import { SERVER_KILL_CODE, SERVER_KILL_DIAG, refreshTaskStatus, resolveDependants } from './job-end.js';

/** What a kill did. */
export interface KillResult {
  pandaId: number;
  /** cancelled: never dispatched, ended now; tobekilled / softkill: the pilot is told on its next reply; none: nothing to do. */
  action: 'cancelled' | 'tobekilled' | 'softkill' | 'none';
  state: string;
  reason: string;
}

/** Kills a job; undefined when there is no such job. */
export function killJob(stores: Stores, pandaId: number, at: string): KillResult | undefined {
  return stores.atomically(() => {
    const job = stores.jobs.get(pandaId);
    if (!job) return undefined;
    if (job.state === 'defined' || job.state === 'activated') {
      stores.jobs.transition(pandaId, job.state, 'cancelled', at, SERVER_KILL_DIAG, {
        serverErrorCode: SERVER_KILL_CODE,
        serverErrorDiag: SERVER_KILL_DIAG,
        commandToPilot: 'tobekilled',
      });
      refreshTaskStatus(stores, job.taskId);
      resolveDependants(stores, job.taskId, at);
      return { pandaId, action: 'cancelled', state: 'cancelled', reason: 'never dispatched: cancelled' };
    }
    if (job.finalReported || ['finished', 'failed', 'cancelled', 'closed'].includes(job.state)) {
      return { pandaId, action: 'none', state: job.state, reason: `job already ${job.state}` };
    }
    if (job.commandToPilot === 'tobekilled') {
      return { pandaId, action: 'tobekilled', state: job.state, reason: 'kill already requested' };
    }
    stores.jobs.update(pandaId, { commandToPilot: 'tobekilled', serverErrorDiag: SERVER_KILL_DIAG });
    stores.jobs.addHistory({ pandaId, at, from: job.state, to: job.state, reason: 'kill requested: next update replies tobekilled' });
    return { pandaId, action: 'tobekilled', state: job.state, reason: 'the pilot is told on its next update' };
  });
}

/**
 * Preemption: the pilot is told `softkill` on its next job or range reply,
 * gets no more ranges, finishes what runs and reports. Unlike a kill the job
 * ends by what it did, and a retry inherits the ranges it did not run.
 */
export function softkillJob(stores: Stores, pandaId: number, at: string): KillResult | undefined {
  return stores.atomically(() => {
    const job = stores.jobs.get(pandaId);
    if (!job) return undefined;
    if (!['sent', 'starting', 'running'].includes(job.state) || job.finalReported) {
      return { pandaId, action: 'none', state: job.state, reason: `only a dispatched, running job can be soft-killed; job is ${job.state}` };
    }
    if (job.commandToPilot) return { pandaId, action: 'none', state: job.state, reason: `already told ${job.commandToPilot}` };
    stores.jobs.update(pandaId, { commandToPilot: 'softkill' });
    stores.jobs.addHistory({ pandaId, at, from: job.state, to: job.state, reason: 'softkill requested: next reply says softkill' });
    return { pandaId, action: 'softkill', state: job.state, reason: 'the pilot is told on its next job or range reply' };
  });
}
