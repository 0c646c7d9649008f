/**
 * What a command in an update reply does to the job whose update it
 * answered. Replies come back on that job's own channel, so a command can
 * only ever reach the job it was meant for; this decides what it does there,
 * given where the job stands.
 */

/** Where a job run stands (job-runner's RunState). Only a job still `preparing` or `running` can be killed. */
export type JobPhase = 'preparing' | 'running' | 'reporting' | 'done';

export type CommandAction =
  /** Stop the payload's whole process group; the job reports 1144 (PANDAKILL). */
  | { kind: 'kill' }
  /** A kill for a job that has finished its work: log it, change nothing. */
  | { kind: 'stale-kill' }
  | { kind: 'debug'; on: boolean }
  /** The pilot asks for no new job and stops after the current ones. */
  | { kind: 'softkill' }
  /** The server has this job's end; the channel sends nothing more. */
  | { kind: 'alreadydone' }
  | { kind: 'none' };

/** The action for `command` (the part before any comma) in `phase`. */
export function commandAction(command: string, phase: JobPhase): CommandAction {
  switch (command) {
    case 'tobekilled':
      return phase === 'reporting' || phase === 'done' ? { kind: 'stale-kill' } : { kind: 'kill' };
    case 'debug':
      return { kind: 'debug', on: true };
    case 'debugoff':
      return { kind: 'debug', on: false };
    case 'softkill':
      return { kind: 'softkill' };
    case 'alreadydone':
      return { kind: 'alreadydone' };
    default:
      return { kind: 'none' };
  }
}
