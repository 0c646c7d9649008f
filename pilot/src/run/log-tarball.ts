/**
 * The job's log tarball (`logFile`): the files a person needs to understand
 * the job, each capped with a visible mark where it was cut, and the whole
 * tarball capped too. What went in (and what was cut) is listed in
 * `log-manifest.json` inside it.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import { writeTarGz } from './tar-gz.js';

export interface LogTarballLimits {
  /** Largest stored size of one member (bytes); a longer file keeps its head and tail. */
  memberMaxBytes: number;
  /** Largest total of stored members (bytes); members past it are cut further or left out. */
  totalMaxBytes: number;
}

export const DEFAULT_LOG_LIMITS: LogTarballLimits = { memberMaxBytes: 20 * 1024 * 1024, totalMaxBytes: 100 * 1024 * 1024 };

/** What the tarball is made of. */
export interface LogTarballInput {
  jobDir: string;
  logFile: string;
  pandaId: number;
  /** The pilot's JSON-lines log; only this job's lines go in. */
  pilotLogFile: string | null;
  /**
   * Byte offset in it where this job's lines may begin (its size when the job
   * was received): the log only grows, and reading it whole for every job made
   * a long-lived pilot slower and bigger with each job.
   */
  pilotLogFrom: number;
  /** The job description, already stripped of secrets. */
  jobDescription: Readonly<Record<string, unknown>>;
  limits?: LogTarballLimits | undefined;
}

export interface ManifestEntry {
  name: string;
  bytes: number;
  stored: number;
  truncated: boolean;
  omitted?: true;
}

/** Keys whose values never leave the pilot in a log (tokens, passwords, proxies). */
const SECRET_KEY = /token|secret|passw|credential|proxy|authoriz|cookie|private.?key/i;

/** A copy of a job description with secret-looking fields replaced. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redactSecrets(v);
  return out;
}

/** The mark left where a member was cut, so a reader knows bytes are missing there. */
export function truncationMark(cut: number, original: number, cap: number): string {
  return `\n[panda-pilot: ${cut} bytes cut here; the file had ${original} bytes, the log tarball keeps at most ${cap} per file]\n`;
}

/** Event-range IDs are five integers joined by dashes (checked on receipt): their directories hold range logs. */
const RANGE_DIR = /^\d+(-\d+){4}$/;

/** Members in priority order: when the total cap bites, the later ones are cut first. */
function candidateFiles(jobDir: string): string[] {
  const names = ['payload.stderr', 'payload.stdout', 'jobReport.json', 'memory_monitor_output.jsonl'];
  const out = names.filter((n) => existsSync(path.join(jobDir, n)));
  for (const entry of readdirSync(jobDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !RANGE_DIR.test(entry.name)) continue;
    for (const f of ['payload.stderr', 'payload.stdout']) if (existsSync(path.join(jobDir, entry.name, f))) out.push(`${entry.name}/${f}`);
  }
  return out;
}

function readRange(file: string, start: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, start + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Places `source` at `target`, at most `cap` bytes of it: head, mark, tail. */
function placeCapped(source: string, target: string, cap: number): { bytes: number; stored: number; truncated: boolean } {
  const bytes = statSync(source).size;
  mkdirSync(path.dirname(target), { recursive: true });
  if (bytes === 0) {
    // An empty file is made, never linked: a link saves nothing there.
    writeFileSync(target, '');
    return { bytes, stored: 0, truncated: false };
  }
  if (bytes <= cap) {
    // A hard link costs no copy; another file system (or no link permission) falls back to a copy.
    try {
      linkSync(source, target);
    } catch {
      copyFileSync(source, target);
    }
    return { bytes, stored: bytes, truncated: false };
  }
  const room = Math.max(0, cap - 200);
  const head = Math.floor(room / 2);
  const tail = room - head;
  const mark = Buffer.from(truncationMark(bytes - head - tail, bytes, cap));
  const fd = openSync(target, 'w');
  try {
    writeSync(fd, readRange(source, 0, head));
    writeSync(fd, mark);
    writeSync(fd, readRange(source, bytes - tail, tail));
  } finally {
    closeSync(fd);
  }
  return { bytes, stored: head + mark.length + tail, truncated: true };
}

/** This job's lines of the pilot log (JSON lines carrying `"pandaId":<id>`). */
function jobLogLines(pilotLogFile: string, pandaId: number, from: number): string {
  let text: string;
  try {
    const fd = openSync(pilotLogFile, 'r');
    try {
      const size = fstatSync(fd).size;
      // A log shorter than the offset was replaced: read it all rather than nothing.
      const start = from <= size ? from : 0;
      const buf = Buffer.alloc(size - start);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) break;
        got += n;
      }
      text = buf.toString('utf8', 0, got);
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
  const needle = `"pandaId":${pandaId},`;
  const needleEnd = `"pandaId":${pandaId}}`;
  return text
    .split('\n')
    .filter((line) => line.includes(needle) || line.includes(needleEnd))
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * Writes `<jobDir>/<logFile>`; throws PilotError 1320 when it cannot. The
 * members are staged in a scratch folder (hard links where they fit) so the
 * caps never touch the job's own files.
 */
export async function writeLogTarball(input: LogTarballInput): Promise<{ file: string; manifest: ManifestEntry[] }> {
  const { jobDir, logFile } = input;
  const limits = input.limits ?? DEFAULT_LOG_LIMITS;
  const target = path.join(jobDir, logFile);
  const stage = path.join(jobDir, '.log-tarball');
  const top = logFile.replace(/\.(tgz|tar\.gz)$/, '') || 'log';
  const root = path.join(stage, top);
  try {
    // Left by a pilot killed mid-tarball; usually absent, and a stat is cheaper than a recursive removal.
    if (existsSync(stage)) rmSync(stage, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    const manifest: ManifestEntry[] = [];
    let budget = limits.totalMaxBytes;
    const put = (name: string, source: string) => {
      if (budget <= 256) {
        manifest.push({ name, bytes: statSync(source).size, stored: 0, truncated: true, omitted: true });
        return;
      }
      const placed = placeCapped(source, path.join(root, name), Math.min(limits.memberMaxBytes, budget));
      budget -= placed.stored;
      manifest.push({ name, ...placed });
    };
    const generated = (name: string, text: string) => {
      const file = path.join(stage, `.${name}`);
      writeFileSync(file, text);
      put(name, file);
    };
    generated('job-description.json', `${JSON.stringify(redactSecrets(input.jobDescription), null, 1)}\n`);
    if (input.pilotLogFile) generated('pilotlog.jsonl', jobLogLines(input.pilotLogFile, input.pandaId, input.pilotLogFrom));
    for (const name of candidateFiles(jobDir)) put(name, path.join(jobDir, name));
    writeFileSync(path.join(root, 'log-manifest.json'), `${JSON.stringify({ limits, members: manifest }, null, 1)}\n`);
    // Our own writer, not the tar package: tar throws uncaught on some trees, which would end the pilot (tar-gz.ts).
    await writeTarGz(stage, top, target);
    return { file: target, manifest };
  } catch (err) {
    throw new PilotError(ErrorCode.LOGFILECREATIONFAILURE, `cannot create log tarball ${logFile}: ${(err as Error).message}`, { cause: err });
  } finally {
    // Off the event loop (other jobs' dispatch and heartbeats go on meanwhile); a leftover is removed next time.
    await rm(stage, { recursive: true, force: true }).catch(() => undefined);
  }
}
