/** The pilot's home and per-job directories, laid out as pilot3 lays them out. */
import { mkdirSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

/** `<parent>/PanDA_Pilot3_<pid>_<epoch>`, created now. */
export function createPilotHome(parent: string, now = new Date()): string {
  const dir = path.join(path.resolve(parent), `PanDA_Pilot3_${process.pid}_${Math.floor(now.getTime() / 1000)}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new PilotError(ErrorCode.GENERALERROR, `cannot create pilot work dir ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return dir;
}

/** `<home>/PanDA_Pilot-<PandaID>`; a second attempt in the same home gets its own suffix. */
export function jobDirPath(home: string, pandaId: number, attemptNr: number): string {
  const base = path.join(home, `PanDA_Pilot-${pandaId}`);
  return attemptNr > 1 ? `${base}.${attemptNr}` : base;
}

/** Creates the job's dir (jobDirPath). */
export function createJobDir(home: string, pandaId: number, attemptNr: number): string {
  const dir = jobDirPath(home, pandaId, attemptNr);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new PilotError(ErrorCode.GENERALERROR, `cannot create job dir ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return dir;
}

/** Free MB on the file system holding `dir`. */
export function freeSpaceMB(dir: string): number {
  const st = statfsSync(dir);
  return Math.floor((Number(st.bavail) * Number(st.bsize)) / 1024 / 1024);
}
