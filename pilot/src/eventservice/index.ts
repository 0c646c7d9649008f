export {
  runEventService,
  esConcurrency,
  rangeMemoryMB,
  DEFAULT_ES_SETTINGS,
  type EsSettings,
  type EsRunInput,
  type EsRunResult,
  type PeakSink,
  type SuperviseRange,
} from './es-executor.js';
export type { RangeSupervisor } from './range-runner.js';
export { parseEventRange, rangeSlot, type EventRange } from './event-range.js';
export { decideEsOutcome, type EsFacts } from './es-outcome.js';
export { findMapSources, loadRubinEsMap, rangeCommand, rangeInput, fillTemplate, replaceToken, type RubinEsMap } from './rubin-map.js';
export { RangeReporter, coalesce } from './range-reporter.js';
export { RangeFetcher, batchSize } from './range-fetcher.js';
export { prefixLines, appendWorkerLog } from './worker-log.js';
