/**
 * What the server does with one pilot update, as a pure decision. The guards
 * are the real PanDA server's (docs/panda-protocol.md §4, `updateJobStatus`): they are the
 * only ordering protection a production server has, so the stub applies
 * exactly these and nothing cleverer, letting a pilot's ordering bugs show.
 */
import { isFinalPilotState, isPilotJobState, type ServerJobState } from '../../../pilot/src/protocol/index.js';

/** The part of a job the guards look at. */
export interface GuardedJob {
  state: ServerJobState;
  attemptNr: number;
  commandToPilot: string | null;
  finalReported: boolean;
}

/** The part of an update the guards look at. */
export interface IncomingUpdate {
  state: string;
  /** Absent when the pilot did not send one: then the server does not check it. */
  attemptNr?: number | undefined;
}

/** The outcome of one update. `command` is what the reply carries. */
export type UpdateDecision =
  /** Write the new state (and the reported fields), refresh the heartbeat. */
  | { kind: 'apply'; state: ServerJobState; final: 'finished' | 'failed' | null; command: string; note: string }
  /** Accept the call but change nothing; the heartbeat is not refreshed either. */
  | { kind: 'skip'; command: string; note: string }
  /** Refuse with a command that tells the pilot to stop. */
  | { kind: 'reject'; command: 'tobekilled' | 'alreadydone'; note: string }
  /** The state is not one a pilot may send. */
  | { kind: 'invalid'; note: string };

/** Jobs the pilot cannot own: the real server keeps them in other tables, so an update finds no row. */
const NOT_DISPATCHED: readonly ServerJobState[] = ['defined', 'activated', 'cancelled', 'closed'];

/**
 * Decides what an update does to a job. `job` is undefined when no job has
 * that PandaID.
 *
 * The stub finalises a pilot's final report at once (holding → finished or
 * failed) where a real server waits for post-processing. A finished job is
 * therefore treated as the real server treats one still holding after its
 * final report: later heartbeats are skipped and a second final is
 * `alreadydone`.
 */
export function decideUpdate(job: GuardedJob | undefined, update: IncomingUpdate): UpdateDecision {
  if (!isPilotJobState(update.state)) {
    return { kind: 'invalid', note: `invalid state=${update.state} for updateJob` };
  }
  if (job === undefined) return { kind: 'reject', command: 'tobekilled', note: 'no such job' };
  if (update.attemptNr !== undefined && update.attemptNr !== job.attemptNr) {
    return {
      kind: 'reject',
      command: 'tobekilled',
      note: `attemptNr ${update.attemptNr} does not match the job's ${job.attemptNr}`,
    };
  }
  if (NOT_DISPATCHED.includes(job.state)) {
    return { kind: 'reject', command: 'tobekilled', note: `job is ${job.state}, not dispatched to a pilot` };
  }
  // A command set by an operator rides on every reply that is not a refusal.
  const command = job.commandToPilot ?? 'NULL';
  const final = isFinalPilotState(update.state) ? update.state : null;

  if (job.state === 'failed') {
    return { kind: 'reject', command: 'alreadydone', note: `job already failed; ${update.state} ignored` };
  }
  if (final !== null) {
    if (job.finalReported) {
      return { kind: 'reject', command: 'alreadydone', note: `second final report (${final}) ignored` };
    }
    return { kind: 'apply', state: 'holding', final, command, note: `final ${final} stored as holding` };
  }
  if (job.state === 'finished') {
    return { kind: 'skip', command, note: `job already finished; ${update.state} ignored` };
  }
  if ((job.state === 'holding' || job.state === 'transferring') && (update.state === 'running' || update.state === 'starting')) {
    return { kind: 'skip', command, note: `${job.state} → ${update.state} skipped to avoid inconsistency` };
  }
  if (job.state === 'holding' && (update.state === 'holding' || update.state === 'transferring')) {
    // The real server never resets holding, nor moves holding → transferring.
    return { kind: 'skip', command, note: `${job.state} → ${update.state} skipped` };
  }
  if (job.state === 'running' && update.state === 'starting') {
    return { kind: 'apply', state: 'running', final: null, command, note: 'starting after running coerced to running' };
  }
  return { kind: 'apply', state: update.state as ServerJobState, final: null, command, note: `${job.state} → ${update.state}` };
}

/** The state a job ends in once the stub finalises a pilot's final report. A kill wins over the pilot's word. */
export function finalStateAfterHolding(pilotFinal: 'finished' | 'failed', killed: boolean): 'finished' | 'failed' {
  return killed ? 'failed' : pilotFinal;
}
