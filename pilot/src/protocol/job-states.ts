/** Job states on the server (docs/panda-protocol.md §3, §4) and the subset a pilot may send. */
export const SERVER_JOB_STATES = [
  'defined',
  'activated',
  'sent',
  'starting',
  'running',
  'holding',
  'transferring',
  'finished',
  'failed',
  'closed',
  'cancelled',
] as const;
export type ServerJobState = (typeof SERVER_JOB_STATES)[number];

export const PILOT_SENDABLE_STATES = ['starting', 'running', 'holding', 'transferring', 'finished', 'failed'] as const;
export type PilotJobState = (typeof PILOT_SENDABLE_STATES)[number];

/**
 * Rank for "a state never regresses": starting < running < holding/transferring
 * < finished/failed. Equal ranks may repeat (a heartbeat repeats `running`).
 */
export const PILOT_STATE_RANK: Readonly<Record<PilotJobState, number>> = {
  starting: 0,
  running: 1,
  holding: 2,
  transferring: 2,
  finished: 3,
  failed: 3,
};

export function isFinalPilotState(state: string): state is 'finished' | 'failed' {
  return state === 'finished' || state === 'failed';
}

export function isPilotJobState(state: string): state is PilotJobState {
  return (PILOT_SENDABLE_STATES as readonly string[]).includes(state);
}

/** Commands a server may put in an updateJob / event range reply. */
export type ServerCommand = 'NULL' | 'tobekilled' | 'alreadydone' | 'debug' | 'debugoff' | 'softkill';

/** Legacy StatusCode values (docs/panda-protocol.md §1). */
export const StatusCode = {
  OK: 0,
  TIMEOUT: 10,
  NO_JOBS: 20,
  FAILED: 30,
  INVALID: 50,
  WRONG_ROLE: 60,
  PERMISSION: 70,
  MISSING_KEY: 80,
  PROXY_ERROR: 90,
} as const;

/** `%Y-%m-%d %H:%M:%S` in UTC, the format startTime/endTime use. */
export function pandaTime(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19);
}
