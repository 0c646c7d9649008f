/** The stub's logger: pino, one JSON event per line on stderr (stdout is for the `listening` line). */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * A logger writing to stderr at `level` (default info, or PANDA_STUB_LOG_LEVEL).
 *
 * Asynchronous: under load the stub logs a line per request, and a write(2) per line on the event loop
 * cost about 4% of its time (and stalled it whenever the reader of stderr fell behind). Lines are
 * buffered and written in chunks of at most 4 KB (atomic on a pipe, so lines never interleave), off the
 * event loop; whatever is still buffered is written synchronously when the process exits (also through
 * process.exit after an error). Only a kill -9 can lose the last few milliseconds of lines — never
 * data: every reply waits for the database, not for the log.
 */
export function stderrLogger(level: string = process.env.PANDA_STUB_LOG_LEVEL ?? 'info'): Logger {
  const dest = pino.destination({ fd: 2, sync: false, maxWrite: 4096 });
  process.once('exit', () => {
    try {
      dest.flushSync();
    } catch {
      // Nothing left to write with, at exit.
    }
  });
  return pino({ name: 'panda-stub', level }, dest);
}

/** A logger that drops everything, for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
