export { buildPayloadCommand, transformationName } from './payload-command.js';
export { createPilotHome, createJobDir, jobDirPath, freeSpaceMB } from './work-dir.js';
export { PayloadProcess, PayloadStartError, signalFromStatus, parseBashTimes, type PayloadExit, type PayloadStart } from './payload-process.js';
export { spareReady } from './spare-launchers.js';
export { killLeftoverPayloads, pilotHomeAlive, PAYLOAD_RECORDS_DIR } from './payload-records.js';
export {
  writeLogTarball,
  redactSecrets,
  truncationMark,
  DEFAULT_LOG_LIMITS,
  type LogTarballLimits,
  type LogTarballInput,
  type ManifestEntry,
} from './log-tarball.js';
export { adler32File } from './adler32.js';
export { extractSandbox, entryRefusal, dropArchive, DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from './sandbox.js';
export { parsePrunJob, isPrunTransformation, shellWords, type PrunJob } from './sandbox-spec.js';
export { planTransformation, hostAllowed, type TransformationPlan, type PlanFacts } from './transformation-plan.js';
