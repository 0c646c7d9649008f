/**
 * How a payload's end becomes the final update's state and codes. Plain
 * decisions, no I/O: the runner gathers the facts, this says what they mean.
 * It sits below lifecycle/ and eventservice/ because a job and an event
 * range end the same way (a verdict), and neither may import the other.
 */
import { constants as osConstants } from 'node:os';
import { ErrorCode } from '../protocol/index.js';
import { PilotError, truncateDiag } from '../errors/index.js';
import type { OomEvidence } from '../monitor/index.js';
import type { PayloadExit } from '../run/index.js';

export interface PayloadVerdict {
  state: 'finished' | 'failed';
  transExitCode: number;
  pilotErrorCode: number;
  pilotErrorDiag: string;
  exeErrorCode: number;
  exeErrorDiag: string;
}

export interface VerdictFacts {
  exit: PayloadExit;
  /** Why the pilot stopped the payload, when it did (server kill, signal, watchdog). */
  stopReason: PilotError | null;
  /** Last lines of payload.stderr, for the diagnostic. */
  stderrTail: string;
  /** Evidence that the kernel killed the payload for memory (kernel log, cgroup OOM counter or limit). */
  oom?: OomEvidence | null;
}

/** This platform's number for a signal (0 when unknown). */
export const signalNumber = (s: NodeJS.Signals): number => osConstants.signals[s] ?? 0;

/** The status the shell would report: the exit code, or 128+N for a signal. */
export function shellStatus(exit: PayloadExit, signalNumber: (s: NodeJS.Signals) => number): number {
  if (exit.exitCode !== null) return exit.exitCode;
  return exit.signal ? 128 + signalNumber(exit.signal) : -1;
}

export function judgePayload(facts: VerdictFacts, signalNumber: (s: NodeJS.Signals) => number): PayloadVerdict {
  const status = shellStatus(facts.exit, signalNumber);
  const lastLine = facts.stderrTail.trim().split('\n').filter(Boolean).pop() ?? '';
  if (facts.stopReason) {
    return {
      state: 'failed',
      transExitCode: status,
      pilotErrorCode: facts.stopReason.code,
      pilotErrorDiag: truncateDiag(facts.stopReason.diagnostic),
      exeErrorCode: status,
      exeErrorDiag: truncateDiag(lastLine),
    };
  }
  if (status === 0) {
    return { state: 'finished', transExitCode: 0, pilotErrorCode: 0, pilotErrorDiag: '', exeErrorCode: 0, exeErrorDiag: '' };
  }
  if (facts.oom) {
    // 1212 only on evidence: the kernel's record or the cgroup's counter, never on exit 137 alone.
    return {
      state: 'failed',
      transExitCode: status,
      pilotErrorCode: ErrorCode.PAYLOADOUTOFMEMORY,
      // The kernel's words lead ("Memory cgroup out of memory: Killed process …"): keep the head.
      pilotErrorDiag: facts.oom.diagnostic.slice(0, 250),
      exeErrorCode: status,
      exeErrorDiag: truncateDiag(lastLine),
    };
  }
  const how = facts.exit.signal ? `was killed by ${facts.exit.signal} (status ${status})` : `exited with status ${status}`;
  return {
    state: 'failed',
    transExitCode: status,
    pilotErrorCode: ErrorCode.PAYLOADEXECUTIONFAILURE,
    pilotErrorDiag: truncateDiag(`payload ${how}${lastLine ? `: ${lastLine}` : ''}`),
    exeErrorCode: status,
    exeErrorDiag: truncateDiag(lastLine),
  };
}
