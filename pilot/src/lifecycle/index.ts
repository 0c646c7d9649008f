export { runJob, type JobOutcome } from './job-runner.js';
export { runPilotLoop, type PilotLoopOptions, type PilotLoopResult } from './pilot-loop.js';
export { PilotExit, SIGNAL_EXIT, pilotExitCode, pilotStopOf, type PilotStop } from './exit-codes.js';
export type { JobContext, JobFileSettings, PilotIdentity } from './job-context.js';
export { payloadEnv, withoutCredentials, CREDENTIAL_VARIABLES, type CredentialKind } from './payload-env.js';
export { installSignalHandlers, PilotSignalError, HANDLED_SIGNALS } from './signals.js';
export { PayloadGuard, memoryPlan, watchdogLimits, DEFAULT_MONITOR_SETTINGS, type MonitorSettings, type MemoryPlan } from './payload-guard.js';
export { preparePayload, defaultPreparation, type PreparationSettings } from './payload-preparation.js';
