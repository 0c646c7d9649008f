/**
 * Structured logs: one JSON event per line, to a file and to stderr (pretty
 * on a terminal). Secrets are redacted by key before anything is written.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

const REDACT_PATHS = [
  'token', '*.token', 'authorization', '*.authorization', 'Authorization', '*.Authorization',
  'headers.authorization', 'headers.Authorization', 'password', '*.password', 'proxy', '*.proxy',
];

export interface LoggerOptions {
  level?: string;
  /** Also write JSON lines here. */
  file?: string | undefined;
  /** Pretty-print to stderr; defaults to whether stderr is a terminal. */
  pretty?: boolean;
  /** Silence stderr output (tests). */
  quiet?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const streams: pino.StreamEntry[] = [];
  if (!opts.quiet) {
    const usePretty = opts.pretty ?? process.stderr.isTTY === true;
    streams.push({ stream: usePretty ? pretty({ destination: 2, colorize: true }) : pino.destination({ fd: 2, sync: true }) });
  }
  // Synchronous: the job's lines must be on disk when its log tarball is made (and survive a crash).
  if (opts.file) streams.push({ stream: pino.destination({ dest: opts.file, append: true, sync: true, mkdir: false }) });
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.multistream(streams.length ? streams : [{ stream: pino.destination('/dev/null') }]),
  );
}

/** A child logger whose every line carries the job's id, as every job line must. */
export function jobLogger(log: Logger, pandaId: number, attemptNr: number): Logger {
  return log.child({ pandaId, attemptNr });
}
