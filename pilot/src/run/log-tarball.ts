/**
 * The job's log tarball (`logFile`): the files a person needs to understand
 * the job, each capped with a visible mark where it was cut, and the whole
 * tarball capped too. What went in (and what was cut) is listed in
 * `log-manifest.json` inside it.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import { writeTarGzMembers, type TarMember, type TarPart } from './tar-gz.js';

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

/** `source` as a member of at most `cap` bytes: whole, or its head, a mark and its tail. */
function cappedParts(source: string, cap: number): { parts: TarPart[]; bytes: number; stored: number; truncated: boolean; mtime: number } {
  const st = statSync(source);
  const bytes = st.size;
  const mtime = Math.floor(st.mtimeMs / 1000);
  if (bytes <= cap) return { parts: bytes > 0 ? [{ file: source, start: 0, length: bytes }] : [], bytes, stored: bytes, truncated: false, mtime };
  const room = Math.max(0, cap - 200);
  const head = Math.floor(room / 2);
  const tail = room - head;
  const mark = Buffer.from(truncationMark(bytes - head - tail, bytes, cap));
  return {
    parts: [{ file: source, start: 0, length: head }, mark, { file: source, start: bytes - tail, length: tail }],
    bytes,
    stored: head + mark.length + tail,
    truncated: true,
    mtime,
  };
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
 * tarball is streamed straight from the job's files (capped members read as
 * head, mark and tail), so the caps never touch the job's own files and no
 * scratch copy is made; gzip runs on the thread pool.
 */
export async function writeLogTarball(
  input: LogTarballInput,
): Promise<{ file: string; manifest: ManifestEntry[]; written: { bytes: number; adler32: string } | null }> {
  const { jobDir, logFile } = input;
  const limits = input.limits ?? DEFAULT_LOG_LIMITS;
  const target = path.join(jobDir, logFile);
  const top = logFile.replace(/\.(tgz|tar\.gz)$/, '') || 'log';
  try {
    const now = Math.floor(Date.now() / 1000);
    const manifest: ManifestEntry[] = [];
    const members: TarMember[] = [];
    let budget = limits.totalMaxBytes;
    const put = (name: string, capped: (cap: number) => ReturnType<typeof cappedParts>, size: () => number) => {
      if (budget <= 256) {
        manifest.push({ name, bytes: size(), stored: 0, truncated: true, omitted: true });
        return;
      }
      const { parts, mtime, ...entry } = capped(Math.min(limits.memberMaxBytes, budget));
      budget -= entry.stored;
      manifest.push({ name, ...entry });
      members.push({ name, parts, size: entry.stored, mtimeSec: mtime });
    };
    const generated = (name: string, text: string) => {
      const buf = Buffer.from(text);
      put(
        name,
        (cap) => bufferParts(buf, cap, now),
        () => buf.length,
      );
    };
    generated('job-description.json', `${JSON.stringify(redactSecrets(input.jobDescription), null, 1)}\n`);
    if (input.pilotLogFile) generated('pilotlog.jsonl', jobLogLines(input.pilotLogFile, input.pandaId, input.pilotLogFrom));
    for (const name of candidateFiles(jobDir)) {
      const source = path.join(jobDir, name);
      put(
        name,
        (cap) => cappedParts(source, cap),
        () => statSync(source).size,
      );
    }
    const list = Buffer.from(`${JSON.stringify({ limits, members: manifest }, null, 1)}\n`);
    members.push({ name: 'log-manifest.json', parts: [list], size: list.length, mtimeSec: now });
    // Our own writer, not the tar package: tar throws uncaught on some trees, which would end the pilot (tar-gz.ts).
    const written = await writeTarGzMembers(top, members, target, now);
    return { file: target, manifest, written };
  } catch (err) {
    throw new PilotError(ErrorCode.LOGFILECREATIONFAILURE, `cannot create log tarball ${logFile}: ${(err as Error).message}`, { cause: err });
  }
}

/** Text made here, capped as a file would be. */
function bufferParts(buf: Buffer, cap: number, mtime: number): ReturnType<typeof cappedParts> {
  const bytes = buf.length;
  if (bytes <= cap) return { parts: [buf], bytes, stored: bytes, truncated: false, mtime };
  const room = Math.max(0, cap - 200);
  const head = Math.floor(room / 2);
  const tail = room - head;
  const mark = Buffer.from(truncationMark(bytes - head - tail, bytes, cap));
  return { parts: [buf.subarray(0, head), mark, buf.subarray(bytes - tail)], bytes, stored: head + mark.length + tail, truncated: true, mtime };
}
