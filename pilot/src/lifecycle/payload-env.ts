/** The environment a payload sees, as pilot3 sets it up for Rubin jobs. */
import type { JobDescription } from '../job/index.js';

export interface PayloadEnvInput {
  job: JobDescription;
  base: NodeJS.ProcessEnv;
  serverUrl: string;
  siteName: string;
  jobDir: string;
  cores: number;
}

/** Variables the pilot keeps for itself and a payload has no business seeing. */
const PILOT_PRIVATE = [/^PANDA_PILOT_INTERNAL_/];

export function payloadEnv({ job, base, serverUrl, siteName, jobDir, cores }: PayloadEnvInput): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!PILOT_PRIVATE.some((re) => re.test(k))) env[k] = v;
  return {
    ...env,
    PANDA_SERVER_URL: serverUrl,
    PandaID: String(job.pandaId),
    PanDA_TaskID: job.taskId === null ? '' : String(job.taskId),
    PANDA_RESOURCE: siteName,
    PANDA_JOBSETID: job.jobsetId === null ? '' : String(job.jobsetId),
    PANDA_ATTEMPT_NR: String(job.attemptNr),
    ATHENA_PROC_NUMBER: String(cores),
    ATHENA_CORE_NUMBER: String(cores),
    RUBIN_ES_CORES: base.RUBIN_ES_CORES ?? String(cores),
    PILOT_JOB_DIR: jobDir,
    HOME: base.HOME ?? jobDir,
  };
}
