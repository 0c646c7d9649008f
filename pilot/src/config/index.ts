// What a pilot's run path needs: nothing here loads zod (site-config/ does, for `config check`, the stub and the release builder).
export { readAllocation, readBatchIdentity, type Allocation, type AllocationFacts, type BatchIdentity } from './batch-env.js';
export { closestName, ConfigError, describeValue, fieldPath, formatIssue, type ConfigIssue } from './config-issues.js';
export { crossFieldIssues, parseQueueData, withNames, type QueueDataOutcome } from './queue-data.js';
export {
  QUEUE_FIELDS,
  QUEUE_STATES,
  QUEUE_STATUSES,
  QUEUE_TYPES,
  QUEUE_WORKFLOWS,
  type LooseQueueData,
  type PilotDefaults,
  type QueueConfig,
  type QueueStatus,
  type ResourceTypeRow,
} from './queue-types.js';
export {
  loadQueueData,
  QueueDataError,
  releaseQueueDataPath,
  serverQueueDataPath,
  type DocumentOutcome,
  type DocumentParser,
  type Fetch,
  type LoadedQueueData,
  type QueueDataSources,
} from './queue-data-source.js';
export { applyQueue, QUEUE_EXIT, queueLimits, queueRefusal, type QueueLimits, type QueueTunables } from './queue-settings.js';
export { queueResourceType, resourceTypeFor, UNDEFINED_RESOURCE_TYPE } from './resource-types.js';
