/**
 * A job description as the server sends it (legacy: every value a string,
 * "NULL" for none; v1: typed JSON), checked and turned into one typed shape.
 * A description we cannot trust is refused with a message that names the field.
 */
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

export interface JobDescription {
  pandaId: number;
  attemptNr: number;
  jobsetId: number | null;
  taskId: number | null;
  jobName: string;
  prodSourceLabel: string;
  transformation: string;
  jobPars: string;
  coreCount: number;
  /** MB, 0 when the job set none. */
  minRamCount: number;
  /** Seconds, 0 when the job set none. */
  maxWalltime: number;
  /** MB, 0 when the job set none. */
  maxDiskCount: number;
  resourceType: string | null;
  logFile: string | null;
  logGuid: string | null;
  outFiles: string[];
  inFiles: string[];
  eventService: boolean;
  debug: boolean;
  loopingCheck: boolean;
  /** The description exactly as received, for fields the typed view does not carry. */
  raw: Readonly<Record<string, unknown>>;
}

/** Thrown for a description that cannot be run; carries the PandaID when it was readable. */
export class MalformedJobError extends PilotError {
  constructor(
    diagnostic: string,
    readonly pandaId: number | null,
    readonly attemptNr: number | null,
  ) {
    super(ErrorCode.GENERALERROR, `malformed job description: ${diagnostic}`);
  }
}

function isNull(v: unknown): boolean {
  return v === undefined || v === null || v === '' || v === 'NULL' || v === 'None';
}

function readInt(raw: Record<string, unknown>, field: string, opts: { required?: boolean; min?: number; fallback?: number }): number | null {
  const v = raw[field];
  if (isNull(v)) {
    if (opts.required) throw new Error(`${field} is missing`);
    return opts.fallback ?? null;
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${field} must be an integer, got ${JSON.stringify(v).slice(0, 60)}`);
  if (opts.min !== undefined && n < opts.min) throw new Error(`${field} must be ≥ ${opts.min}, got ${n}`);
  return n;
}

function readString(raw: Record<string, unknown>, field: string, required = false): string | null {
  const v = raw[field];
  if (isNull(v)) {
    if (required) throw new Error(`${field} is missing`);
    return null;
  }
  if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`${field} must be a string, got ${typeof v}`);
  return String(v);
}

function readFlag(raw: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = raw[field];
  if (isNull(v)) return fallback;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new Error(`${field} must be True or False, got ${JSON.stringify(v).slice(0, 40)}`);
}

function isPlainFileName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

function list(v: string | null): string[] {
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s && s !== 'NULL')
    : [];
}

/**
 * Parses a raw getJob description. Throws MalformedJobError naming the first
 * bad field; the PandaID (when readable) lets the caller report the failure.
 */
export function parseJobDescription(input: unknown): JobDescription {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new MalformedJobError(`expected an object, got ${Array.isArray(input) ? 'an array' : typeof input}`, null, null);
  }
  const raw = input as Record<string, unknown>;
  let pandaId: number | null = null;
  let attemptNr: number | null = null;
  try {
    pandaId = readInt(raw, 'PandaID', { required: true, min: 1 });
  } catch (err) {
    throw new MalformedJobError((err as Error).message, null, null);
  }
  try {
    attemptNr = readInt(raw, 'attemptNr', { min: 0, fallback: 1 });
    const jobName = readString(raw, 'jobName') ?? `job.${pandaId}`;
    const transformation = readString(raw, 'transformation', true) as string;
    const jobPars = readString(raw, 'jobPars') ?? '';
    const logFile = readString(raw, 'logFile');
    // The log tarball is written inside the job dir: a name with a path in it could escape.
    if (logFile !== null && !isPlainFileName(logFile)) throw new Error(`logFile must be a plain file name, got ${JSON.stringify(logFile).slice(0, 80)}`);
    return {
      pandaId: pandaId as number,
      attemptNr: attemptNr as number,
      jobsetId: readInt(raw, 'jobsetID', { min: 0 }),
      taskId: readInt(raw, 'taskID', { min: 0 }),
      jobName,
      prodSourceLabel: readString(raw, 'prodSourceLabel') ?? 'managed',
      transformation,
      jobPars,
      coreCount: readInt(raw, 'coreCount', { min: 1, fallback: 1 }) as number,
      minRamCount: readInt(raw, 'minRamCount', { min: 0, fallback: 0 }) as number,
      maxWalltime: readInt(raw, 'maxWalltime', { min: 0, fallback: 0 }) as number,
      maxDiskCount: readInt(raw, 'maxDiskCount', { min: 0, fallback: 0 }) as number,
      resourceType: readString(raw, 'resource_type'),
      logFile,
      logGuid: readString(raw, 'logGUID'),
      outFiles: list(readString(raw, 'outFiles')),
      inFiles: list(readString(raw, 'inFiles')),
      eventService: readFlag(raw, 'eventService', false),
      debug: readFlag(raw, 'debug', false),
      loopingCheck: readFlag(raw, 'loopingCheck', true),
      raw,
    };
  } catch (err) {
    if (err instanceof MalformedJobError) throw err;
    throw new MalformedJobError((err as Error).message, pandaId, attemptNr);
  }
}
