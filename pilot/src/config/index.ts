export { readAllocation, readBatchIdentity, type Allocation, type AllocationFacts, type BatchIdentity } from './batch-env.js';
export { ConfigError, formatIssue, type ConfigIssue } from './config-issues.js';
export { parseConfigText, parseQueueData, type ConfigDocument, type ParseOutcome } from './config-documents.js';
export { explainDocument, explainQueue } from './explain.js';
export { QUEUE_STATUSES, type LooseQueueData, type PilotDefaults, type QueueConfig, type QueueStatus, type ResourceTypeRow } from './queue-schema.js';
export {
  loadQueueData,
  QueueDataError,
  releaseQueueDataPath,
  serverQueueDataPath,
  type Fetch,
  type LoadedQueueData,
  type QueueDataSources,
} from './queue-data-source.js';
export { applyQueue, QUEUE_EXIT, queueLimits, queueRefusal, type QueueLimits, type QueueTunables } from './queue-settings.js';
export { queueResourceType, resourceTypeFor, UNDEFINED_RESOURCE_TYPE } from './resource-types.js';
export { buildCatalog, EMPTY_CATALOG, toQueueData, type SiteCatalog } from './site-catalog.js';
export { findSiteConfigDir, loadSiteCatalog, readConfigPaths } from './site-config-files.js';
