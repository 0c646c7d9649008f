/**
 * How far a task has got, from the latest attempt of each of its jobs, and
 * what that means for tasks waiting on it. Pure, so the rules are testable:
 * a task is done when every job's latest attempt finished; it is doomed as
 * soon as one job failed for good (a failed latest attempt was not retried).
 */
import type { ServerJobState } from '../../../pilot/src/protocol/index.js';
import type { TaskStatus } from './records.js';

const FINAL: readonly ServerJobState[] = ['finished', 'failed', 'cancelled', 'closed'];
const UNSUCCESSFUL: readonly ServerJobState[] = ['failed', 'cancelled', 'closed'];

/** True for states a job never leaves. */
export function isFinalJobState(state: ServerJobState): boolean {
  return FINAL.includes(state);
}

/** 'done' (all latest attempts finished), 'doomed' (one failed for good) or 'pending'. */
export function taskOutcome(latestStates: readonly ServerJobState[]): 'done' | 'doomed' | 'pending' {
  if (latestStates.some((s) => UNSUCCESSFUL.includes(s))) return 'doomed';
  if (latestStates.length > 0 && latestStates.every((s) => s === 'finished')) return 'done';
  return 'pending';
}

/** The status shown for a task. `hasUnmetDependencies` keeps a task 'waiting' while its jobs are defined. */
export function taskStatus(latestStates: readonly ServerJobState[], hasUnmetDependencies: boolean): TaskStatus {
  if (latestStates.length > 0 && latestStates.every(isFinalJobState)) {
    if (latestStates.every((s) => s === 'finished')) return 'done';
    if (latestStates.every((s) => s === 'cancelled')) return 'cancelled';
    return 'failed';
  }
  if (hasUnmetDependencies && latestStates.every((s) => s === 'defined')) return 'waiting';
  return 'running';
}

/** For a task waiting on others: release its jobs, keep waiting, or cancel them. */
export function dependencyVerdict(dependencyOutcomes: readonly ('done' | 'doomed' | 'pending')[]): 'release' | 'wait' | 'cancel' {
  if (dependencyOutcomes.includes('doomed')) return 'cancel';
  if (dependencyOutcomes.every((o) => o === 'done')) return 'release';
  return 'wait';
}
