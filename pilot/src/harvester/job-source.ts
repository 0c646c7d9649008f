/**
 * Where a pushed job comes from: `HPCJobs.json` in the access point
 * (`{"<PandaID>": {job}}`, one or more jobs) or `pandaJobData.out` (the
 * urlencoded getJob reply) in the data dir, the launch dir or its parent, as
 * pilot3 looks for them. The file is taken away (copied into the pilot's
 * home, then removed), so a next job is a new file.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { decodeForm, ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import { ACCESS_FILES } from './access-files.js';
import type { AccessPoint } from './harvester-mode.js';

/** The job(s) one file held, as raw descriptions (validated later, exactly as a pulled job). */
export interface PushedJobs {
  file: string;
  jobs: Record<string, unknown>[];
}

/** Paths the pilot looks at, in order. */
export function jobFileCandidates(ap: AccessPoint): string[] {
  return [...ap.jobDataDirs.map((d) => path.join(d, ACCESS_FILES.jobData)), path.join(ap.dir, ACCESS_FILES.jobs)];
}

/** Parses a job file's text; a file that is not what Harvester writes is a PilotError naming it. */
export function parseJobFile(file: string, text: string): Record<string, unknown>[] {
  if (path.basename(file) === ACCESS_FILES.jobData) {
    const job: Record<string, unknown> = decodeForm(text.trim());
    if (!job.PandaID) throw new PilotError(ErrorCode.GENERALERROR, `${file}: no PandaID in the urlencoded job`);
    return [job];
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PilotError(ErrorCode.GENERALERROR, `${file}: not JSON (${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new PilotError(ErrorCode.GENERALERROR, `${file}: must be {"<PandaID>": {job}}`);
  const jobs: Record<string, unknown>[] = [];
  for (const [id, job] of Object.entries(value)) {
    if (!job || typeof job !== 'object' || Array.isArray(job)) throw new PilotError(ErrorCode.GENERALERROR, `${file}: the entry for ${id} is not a job object`);
    // The key is the PandaID (pilot3 keeps it as `jobid`); the description may repeat it.
    jobs.push({ PandaID: id, ...(job as Record<string, unknown>) });
  }
  return jobs;
}

/** Takes the first job file found: parsed, copied into `keepDir`, removed from where Harvester left it. Null when there is none. */
export function takeJobFile(ap: AccessPoint, keepDir: string, seq: number): PushedJobs | null {
  for (const file of jobFileCandidates(ap)) {
    if (!existsSync(file)) continue;
    const jobs = parseJobFile(file, readFileSync(file, 'utf8'));
    copyFileSync(file, path.join(keepDir, `${path.basename(file)}.${seq}`));
    rmSync(file, { force: true });
    return { file, jobs };
  }
  return null;
}
