/** The stub's logger: pino, one JSON event per line on stderr (stdout is for the `listening` line). */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** A logger writing to stderr at `level` (default info, or PANDA_STUB_LOG_LEVEL). */
export function stderrLogger(level: string = process.env.PANDA_STUB_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'panda-stub', level }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything, for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
