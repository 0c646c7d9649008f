/**
 * Structured logs: one JSON event per line, to a file and to stderr (pretty
 * on a terminal). Secrets are redacted by key before anything is written.
 */
import { PassThrough } from 'node:stream';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

const REDACT_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'Authorization',
  '*.Authorization',
  'headers.authorization',
  'headers.Authorization',
  'password',
  '*.password',
  'proxy',
  '*.proxy',
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
  const level = (opts.level ?? 'info') as pino.Level;
  // Each stream is given the level: a multistream entry without one keeps only info and above, so -d logged no debug line.
  const streams: pino.StreamEntry[] = [];
  if (!opts.quiet) {
    const usePretty = opts.pretty ?? process.stderr.isTTY === true;
    streams.push({ level, stream: usePretty ? lazyPretty() : pino.destination({ fd: 2, sync: true }) });
  }
  // Synchronous: the job's lines must be on disk when its log tarball is made (and survive a crash).
  if (opts.file) streams.push({ level, stream: pino.destination({ dest: opts.file, append: true, sync: true, mkdir: false }) });
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.multistream(streams.length ? streams : [{ stream: pino.destination('/dev/null') }]),
  );
}

/**
 * pino-pretty (and its colour/date dependencies) is loaded only when a person
 * watches a terminal: evaluating it cost every batch pilot start-up time. Lines
 * written before it is loaded (a few microtasks later) wait in the pass-through.
 */
function lazyPretty(): NodeJS.WritableStream {
  const buffer = new PassThrough();
  void import('pino-pretty').then(
    ({ default: pretty }) => buffer.pipe(pretty({ destination: 2, colorize: true })),
    (err: unknown) => {
      process.stderr.write(`pino-pretty unavailable (${(err as Error).message}); logging JSON to stderr\n`);
      buffer.pipe(process.stderr);
    },
  );
  return buffer;
}

/** A child logger whose every line carries the job's id, as every job line must. */
export function jobLogger(log: Logger, pandaId: number, attemptNr: number): Logger {
  return log.child({ pandaId, attemptNr });
}
