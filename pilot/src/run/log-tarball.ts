/** The job's log tarball (`logFile`), made from the job dir as pilot3 makes it. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { create } from 'tar';
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

/** Writes `<jobDir>/<logFile>` holding everything else in the job dir under a `<jobName>` folder-less layout. */
export async function writeLogTarball(jobDir: string, logFile: string): Promise<string> {
  const target = path.join(jobDir, logFile);
  const entries = readdirSync(jobDir).filter((name) => name !== logFile);
  try {
    await create({ gzip: true, file: target, cwd: jobDir, portable: true }, entries);
  } catch (err) {
    throw new PilotError(ErrorCode.LOGFILECREATIONFAILURE, `cannot create log tarball ${logFile}: ${(err as Error).message}`, { cause: err });
  }
  return target;
}
