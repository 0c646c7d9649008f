/**
 * The pilot process's exit codes (pilot3's table, which wrappers and
 * monitoring already read; documented in README.md), and the one pure
 * function that turns how the pilot stopped into one of them.
 */
import { ErrorCode, PilotError } from '../errors/index.js';
import { PilotSignalError } from './signals.js';

export const PilotExit = {
  OK: 0,
  OFFLINE: 64,
  GENERAL: 65,
  MKDIR: 66,
  NOFILE: 67,
  PROXY: 68,
  NOSPACE: 69,
  EXCEPTION: 70,
  QUEUEDATA: 71,
  QUEUEDATA_NOT_OK: 72,
  QUEUE_NOT_ACTIVE: 78,
  COMMUNICATION: 79,
  PROXY_TOO_SHORT: 80,
  MAX_TIME: 81,
  NO_JOBS: 82,
  QUEUE_OFFLINE: 83,
} as const;

/** Exit code for a pilot stopped by a signal: 128 + the signal's number, as shells report it. */
export const SIGNAL_EXIT: Readonly<Record<string, number>> = {
  SIGTERM: 143,
  SIGHUP: 129,
  SIGINT: 130,
  SIGQUIT: 131,
  SIGSEGV: 139,
  SIGXCPU: 152,
  SIGUSR1: 138,
  SIGUSR2: 140,
  SIGBUS: 135,
};

/** Why the pilot ended, as far as its exit code is concerned. */
export type PilotStop =
  /** A batch-system signal stopped it (first signal, or the forced third). */
  | { kind: 'signal'; signal: string }
  /** Its lifetime (-l, capped by the queue's maxtime) ran out: 1213. */
  | { kind: 'lifetime' }
  /** The job loop ended on its own (no more jobs, --max-jobs, softkill). */
  | { kind: 'loop-ended'; neverReached: boolean; communicationFailures: number }
  /** Something failed the pilot itself, with its PanDA code. */
  | { kind: 'error'; code: number };

/**
 * The pilot's exit code for how it stopped: 128+N for a signal, 81 at the end
 * of its lifetime, 79 when the server was never reached (or a communication
 * failure ended it), 70 for any other failure, else 0.
 */
export function pilotExitCode(stop: PilotStop): number {
  switch (stop.kind) {
    case 'signal':
      return SIGNAL_EXIT[stop.signal] ?? PilotExit.GENERAL;
    case 'lifetime':
      return PilotExit.MAX_TIME;
    case 'loop-ended':
      return stop.neverReached && stop.communicationFailures > 0 ? PilotExit.COMMUNICATION : PilotExit.OK;
    case 'error':
      if (stop.code === ErrorCode.MISSINGCREDENTIALS) return PilotExit.PROXY;
      return stop.code === ErrorCode.COMMUNICATIONFAILURE ? PilotExit.COMMUNICATION : PilotExit.EXCEPTION;
  }
}

/**
 * The stop, from the pilot's abort reason (a signal or its lifetime, or none)
 * and what the job loop saw. A signal wins over the lifetime, which wins over
 * the loop's own end.
 */
export function pilotStopOf(abortReason: unknown, loop: { neverReached: boolean; communicationFailures: number }): PilotStop {
  if (abortReason instanceof PilotSignalError) return { kind: 'signal', signal: abortReason.signal };
  if (abortReason instanceof PilotError && abortReason.code === ErrorCode.REACHEDMAXTIME) return { kind: 'lifetime' };
  return { kind: 'loop-ended', neverReached: loop.neverReached, communicationFailures: loop.communicationFailures };
}
