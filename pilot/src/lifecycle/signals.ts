/**
 * Batch-system signals become one abort of the pilot, with the PanDA code the
 * final updates carry (reference §6) and the exit code the wrapper expects.
 */
import { SIGNAL_ERROR_CODE } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

/**
 * SIGUSR2 has no PanDA code of its own (it gets KILLSIGNAL, 1200), but batch
 * systems and wrappers send it, and Node's default for it is to die without
 * a word, which would lose the final update.
 */
export const HANDLED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGXCPU', 'SIGBUS'];

export class PilotSignalError extends PilotError {
  constructor(readonly signal: NodeJS.Signals) {
    super(SIGNAL_ERROR_CODE[signal] ?? 1200, `pilot received ${signal}; payload stopped`);
  }
}

/**
 * Installs handlers that abort `controller` on the first signal. A second
 * SIGINT forces an exit, for a person at a terminal who means it.
 */
export function installSignalHandlers(controller: AbortController, onForce: (signal: NodeJS.Signals) => void): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const signal of HANDLED_SIGNALS) {
    const handler = () => {
      if (controller.signal.aborted) {
        if (signal === 'SIGINT') onForce(signal);
        return;
      }
      controller.abort(new PilotSignalError(signal));
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
