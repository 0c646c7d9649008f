/**
 * Batch-system signals become one abort of the pilot, with the PanDA code the
 * final updates carry (docs/panda-protocol.md §6) and the exit code the wrapper expects.
 */
import { SIGNAL_ERROR_CODE } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

/**
 * SIGUSR2 and SIGHUP have no PanDA code of its own (it gets KILLSIGNAL, 1200), but batch
 * systems and wrappers send it, and Node's default for it is to die without
 * a word, which would lose the final update.
 */
export const HANDLED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGXCPU', 'SIGBUS'];

export class PilotSignalError extends PilotError {
  constructor(readonly signal: NodeJS.Signals) {
    super(SIGNAL_ERROR_CODE[signal] ?? 1200, `pilot received ${signal}; payload stopped`);
  }
}

export interface SignalReactions {
  /** First signal (the pilot is also aborted, unless something stopped it already): the batch system's kill is coming. */
  onFirst: (signal: NodeJS.Signals) => void;
  /** Second signal: payloads are killed at once; the final updates still go to disk. */
  onSecond: (signal: NodeJS.Signals) => void;
  /** Third: for a person at a terminal who means it. */
  onForce: (signal: NodeJS.Signals) => void;
}

/** Installs the handlers; returns their removal. */
export function installSignalHandlers(controller: AbortController, react: SignalReactions): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  let count = 0;
  for (const signal of HANDLED_SIGNALS) {
    const handler = () => {
      count += 1;
      if (count === 1) {
        if (!controller.signal.aborted) controller.abort(new PilotSignalError(signal));
        react.onFirst(signal);
      } else if (count === 2) react.onSecond(signal);
      else react.onForce(signal);
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
