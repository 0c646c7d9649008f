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
    return {
      batchSystem: 'ARC',
      batchId: env.GRID_GLOBAL_JOBID ?? env.GRID_GLOBAL_JOBURL ?? null,
      harvesterId,
      workerId,
      cores: intOrNull(env.RUNTIME_ENABLE_MULTICORE_SCRATCH),
    };
  }
  if (env._CONDOR_JOB_AD || env.CONDOR_JOBID) {
    return { batchSystem: 'CONDOR', batchId: env.CONDOR_JOBID ?? null, harvesterId, workerId, cores: intOrNull(env._CONDOR_NPROCS) };
  }
  if (env.PBS_JOBID) return { batchSystem: 'PBS', batchId: env.PBS_JOBID, harvesterId, workerId, cores: intOrNull(env.PBS_NP) };
  if (env.LSB_JOBID) return { batchSystem: 'LSF', batchId: env.LSB_JOBID, harvesterId, workerId, cores: intOrNull(env.LSB_DJOB_NUMPROC) };
  return { batchSystem: 'local', batchId: null, harvesterId, workerId, cores: null };
}

/** What this pilot may use on the node: cores and memory, and who said so. */
export interface Allocation {
  cores: number | null;
  memMB: number | null;
  /** Where each figure came from, for the start-up log. */
  source: { cores: string; memMB: string };
  /** Unix seconds when the batch job ends, when the batch system says. */
  endsAt: number | null;
}

/** What the allocation is read from besides the environment (tests pass their own). */
export interface AllocationFacts {
  /** A file's text, or null when unreadable (the HTCondor machine ad). */
  readFile: (file: string) => string | null;
  /** The memory limit (bytes) of the pilot's own cgroup, or null when unlimited/unknown. */
  cgroupMemoryBytes: () => number | null;
  /** CPUs the pilot may use (affinity and cgroup quota). */
  usableCpus: () => number;
  /** Unix seconds the Slurm job ends (squeue), or null. */
  slurmEndTime: (jobId: string) => number | null;
}

const firstInt = (v: string | undefined): number | null => {
  const m = v ? /^(\d+)/.exec(v.trim()) : null;
  return m ? Number(m[1]) : null;
};

/** `Name = value` from a ClassAd file (HTCondor's machine/job ad). */
function classAdInt(text: string | null, name: string): number | null {
  if (!text) return null;
  const m = new RegExp(`^${name}\\s*=\\s*(\\d+)\\s*$`, 'mi').exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * The pilot's allocation: the batch system's figures (Slurm, HTCondor; ARC
 * through the one underneath it), else the pilot's own cgroup memory limit
 * and usable CPUs. `--cores` and
 * `--mem` override (applied by the caller). Slurm memory is in MB
 * (`SLURM_MEM_PER_NODE`, or `SLURM_MEM_PER_CPU` × CPUs).
 */
export function readAllocation(env: NodeJS.ProcessEnv, facts: AllocationFacts): Allocation {
  let cores: number | null = null;
  let memMB: number | null = null;
  let coreSrc = 'none';
  let memSrc = 'none';
  let endsAt: number | null = null;
  if (env.SLURM_JOB_ID) {
    cores = firstInt(env.SLURM_CPUS_ON_NODE) ?? firstInt(env.SLURM_JOB_CPUS_PER_NODE);
    if (cores !== null) coreSrc = env.SLURM_CPUS_ON_NODE ? 'SLURM_CPUS_ON_NODE' : 'SLURM_JOB_CPUS_PER_NODE';
    const perNode = firstInt(env.SLURM_MEM_PER_NODE);
    const perCpu = firstInt(env.SLURM_MEM_PER_CPU);
    if (perNode !== null && perNode > 0) [memMB, memSrc] = [perNode, 'SLURM_MEM_PER_NODE'];
    else if (perCpu !== null && perCpu > 0 && cores !== null) [memMB, memSrc] = [perCpu * cores, 'SLURM_MEM_PER_CPU × CPUs'];
    endsAt = firstInt(env.SLURM_JOB_END_TIME) ?? facts.slurmEndTime(env.SLURM_JOB_ID);
  } else if (env._CONDOR_MACHINE_AD) {
    const ad = facts.readFile(env._CONDOR_MACHINE_AD);
    cores = classAdInt(ad, 'Cpus');
    memMB = classAdInt(ad, 'Memory');
    if (cores !== null) coreSrc = 'HTCondor machine ad Cpus';
    if (memMB !== null) memSrc = 'HTCondor machine ad Memory';
  }
  // ARC's job script exports neither the job's cores nor its memory: the xrsl's count and memory
  // (per core) went to the batch system underneath, whose own variables are read above (ARC on
  // Slurm, HTCondor). RUNTIME_ENABLE_MULTICORE_SCRATCH is a flag an RTE sets, not a count. Under
  // another batch system (or ARC's fork backend) what it enforces shows as the pilot's own cgroup.
  const arc = !env.SLURM_JOB_ID && !env._CONDOR_MACHINE_AD && Boolean(env.GRID_GLOBAL_JOBID || env.GRID_GLOBAL_JOBURL);
  const why = arc ? ' (ARC exports none)' : '';
  if (cores === null) {
    cores = facts.usableCpus();
    coreSrc = `usable CPUs${why}`;
  }
  if (memMB === null) {
    const bytes = facts.cgroupMemoryBytes();
    if (bytes !== null) [memMB, memSrc] = [Math.floor(bytes / 1024 / 1024), `cgroup memory limit${why}`];
    else if (arc) memSrc = 'none (ARC exports none, and no cgroup limit)';
  }
  return { cores, memMB, source: { cores: coreSrc, memMB: memSrc }, endsAt };
}
