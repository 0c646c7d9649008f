/**
 * Both dialects onto one vocabulary: a getJob / acquire_jobs request becomes
 * a DispatchRequest, an updateJob / update_job becomes an UpdateInput whose
 * report uses the legacy camelCase names (snake_case leftovers camelised).
 */
import { LEGACY_PARAMS, v1UpdateJobName } from '../../../pilot/src/protocol/index.js';
import type { DispatchRequest } from '../model/dispatch-filter.js';
import type { PilotReport } from '../model/records.js';

/** `cpu_architecture_level` → `cpuArchitectureLevel`; camelCase names pass unchanged. */
export function camelCase(name: string): string {
  return name.includes('_') ? name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : name;
}

const LEGACY_BY_V1_UPDATE_NAME = new Map(LEGACY_PARAMS.updateJob.map((legacy) => [v1UpdateJobName(legacy), legacy]));

/** The legacy updateJob name of a v1 update_job parameter (undefined for v1-only names). */
export function legacyUpdateName(v1Name: string): string | undefined {
  return LEGACY_BY_V1_UPDATE_NAME.get(v1Name);
}

/** Parameters that identify the call rather than describe the job. */
const NOT_REPORTED = new Set(['jobId', 'state', 'attemptNr', 'token', 'timeout']);

/** Reported fields that are numbers; the legacy dialect sends them as text. */
const NUMERIC = new Set(
  `transExitCode pilotErrorCode exeErrorCode cpuConsumptionTime cpuConversionFactor nEvents nInputFiles coreCount
   meanCoreCount maxRSS maxVMEM maxSWAP maxPSS avgRSS avgVMEM avgSWAP avgPSS totRCHAR totWCHAR totRBYTES totWBYTES
   rateRCHAR rateWCHAR rateRBYTES rateWBYTES remainingSpace`.split(/\s+/),
);

/** A number from wire text, or undefined when it is not one. */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The job fields an update reports, keyed by legacy updateJob names (both
 * dialects are mapped onto those first). Numeric fields become numbers when
 * they parse; a legacy value that does not parse is kept as text, as the
 * legacy server would not refuse it either.
 */
export function reportFromLegacyNames(params: Record<string, unknown>): PilotReport {
  const report: PilotReport = {};
  for (const legacy in params) {
    const value = params[legacy];
    if (NOT_REPORTED.has(legacy) || value === undefined || value === null) continue;
    const name = camelCase(legacy);
    const n = NUMERIC.has(name) ? numberOf(value) : undefined;
    report[name] = n ?? (typeof value === 'number' ? value : String(value));
  }
  return report;
}

/** v1 update_job parameters renamed to their legacy names. */
export function v1UpdateToLegacyNames(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name in params) out[legacyUpdateName(name) ?? name] = params[name];
  return out;
}

/** Legacy getJob parameters → DispatchRequest. Non-numeric numbers count as not given. */
export function dispatchRequestFromLegacy(p: Record<string, string>): DispatchRequest {
  return {
    siteName: p.siteName ?? '',
    mem: numberOf(p.mem),
    diskSpace: numberOf(p.diskSpace),
    remainingTime: numberOf(p.remaining_time),
    resourceType: p.resourceType || undefined,
    prodSourceLabel: p.prodSourceLabel || undefined,
    taskId: numberOf(p.taskID),
    nJobs: Math.max(1, Math.trunc(numberOf(p.nJobs) ?? 1)),
  };
}

/** v1 acquire_jobs parameters (already type-checked) → DispatchRequest. */
export function dispatchRequestFromV1(p: Record<string, unknown>): DispatchRequest {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    siteName: String(p.site_name ?? ''),
    mem: numberOf(p.memory),
    diskSpace: numberOf(p.disk_space),
    remainingTime: numberOf(p.remaining_time),
    resourceType: str(p.resource_type),
    prodSourceLabel: str(p.prod_source_label),
    taskId: numberOf(p.task_id),
    nJobs: Math.max(1, Math.trunc(numberOf(p.n_jobs) ?? 1)),
  };
}
