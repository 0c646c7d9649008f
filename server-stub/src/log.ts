/** The stub's logger: pino, one JSON event per line on stderr (stdout is for the `listening` line). */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** A batch is handed on once it holds this many characters, so each write stays within a pipe's atomic 4 KB (for ASCII lines). */
const BATCH_CHARS = 3584;

/**
 * The lines logged in one turn of the event loop, handed to the destination as one write at the end of
 * the turn (or sooner, in ~3.5 KB pieces). Under load the stub logs a line per request and handles a
 * hundred or more requests a turn; a write per line (an fs.write through the thread pool each time the
 * previous one had ended, which on a pipe is at once) was several % of its CPU. Lines are not held back
 * any longer than the turn that logged them.
 */
class TurnBatch implements DestinationStream {
  private pending = '';
  private scheduled = false;

  constructor(private readonly dest: DestinationStream) {}

  write(line: string): void {
    if (this.pending.length + line.length > BATCH_CHARS) this.flush();
    this.pending += line;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.endOfTurn);
    }
  }

  /** Hands the batch to the destination now. */
  flush(): void {
    if (this.pending === '') return;
    const batch = this.pending;
    this.pending = '';
    this.dest.write(batch);
  }

  private readonly endOfTurn = (): void => {
    this.scheduled = false;
    this.flush();
  };
}

/**
 * A logger writing to stderr at `level` (default info, or PANDA_STUB_LOG_LEVEL).
 *
 * Asynchronous: under load the stub logs a line per request, and a write(2) per line on the event loop
 * cost about 4% of its time (and stalled it whenever the reader of stderr fell behind). Lines are
 * batched per turn (TurnBatch) and written in chunks of at most 4 KB (atomic on a pipe, so lines never
 * interleave), off the event loop; whatever is still buffered is written synchronously when the process
 * exits (also through process.exit after an error). Only a kill -9 can lose the last few milliseconds of
 * lines — never data: every reply waits for the database, not for the log.
 */
export function stderrLogger(level: string = process.env.PANDA_STUB_LOG_LEVEL ?? 'info'): Logger {
  const dest = pino.destination({ fd: 2, sync: false, maxWrite: 4096 });
  const batch = new TurnBatch(dest);
  process.once('exit', () => {
    try {
      batch.flush();
      dest.flushSync();
    } catch {
      // Nothing left to write with, at exit.
    }
  });
  return pino({ name: 'panda-stub', level }, batch);
}

/** A logger that drops everything, for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
