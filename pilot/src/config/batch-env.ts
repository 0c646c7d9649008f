/**
 * What the batch system tells a job about itself, read from the environment:
 * the batch job id and system name for updateJob (batchID, pilotID), and the
 * Harvester ids when Harvester started us.
 */
export interface BatchIdentity {
  batchSystem: 'SLURM' | 'CONDOR' | 'ARC' | 'PBS' | 'LSF' | 'local';
  batchId: string | null;
  harvesterId: string | null;
  workerId: string | null;
  /** Cores the batch system gave this job, when it says. */
  cores: number | null;
}

export function readBatchIdentity(env: NodeJS.ProcessEnv = process.env): BatchIdentity {
  // An empty variable is an unset one (wrappers and batch templates export empty defaults).
  const harvesterId = env.HARVESTER_ID || null;
  const workerId = env.HARVESTER_WORKER_ID || null;
  const intOrNull = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : null);
  if (env.SLURM_JOB_ID) {
    return { batchSystem: 'SLURM', batchId: env.SLURM_JOB_ID, harvesterId, workerId, cores: intOrNull(env.SLURM_CPUS_ON_NODE) };
  }
  if (env.GRID_GLOBAL_JOBID || env.GRID_GLOBAL_JOBURL) {
    return { batchSystem: 'ARC', batchId: env.GRID_GLOBAL_JOBID ?? env.GRID_GLOBAL_JOBURL ?? null, harvesterId, workerId, cores: intOrNull(env.RUNTIME_ENABLE_MULTICORE_SCRATCH) };
  }
  if (env._CONDOR_JOB_AD || env.CONDOR_JOBID) {
    return { batchSystem: 'CONDOR', batchId: env.CONDOR_JOBID ?? null, harvesterId, workerId, cores: intOrNull(env._CONDOR_NPROCS) };
  }
  if (env.PBS_JOBID) return { batchSystem: 'PBS', batchId: env.PBS_JOBID, harvesterId, workerId, cores: intOrNull(env.PBS_NP) };
  if (env.LSB_JOBID) return { batchSystem: 'LSF', batchId: env.LSB_JOBID, harvesterId, workerId, cores: intOrNull(env.LSB_DJOB_NUMPROC) };
  return { batchSystem: 'local', batchId: null, harvesterId, workerId, cores: null };
}
