export { StubEngine, type EngineOptions, type JobDetails, type Summary } from './stub-engine.js';
export type { UpdateInput, UpdateOutcome } from './apply-update.js';
export type { KillResult } from './kill.js';
export type { SubmittedTask } from './submit.js';
export type { WorkerStatusRecord } from '../store/index.js';
