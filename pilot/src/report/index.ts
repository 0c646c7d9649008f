export {
  OrderedUpdateChannel,
  SEQ_HEADER,
  type FinalOutcome,
  type JobUpdateSender,
  type QueuedUpdate,
  type SendUpdate,
  type UpdateChannelOptions,
  type UpdateKind,
} from './ordered-update-channel.js';
export { NaiveUpdateSender } from './naive-update-sender.js';
export { BulkHeartbeatBatcher, type BulkHeartbeatOptions, type SendBulk } from './bulk-heartbeats.js';
export { HeartbeatSchedule, type HeartbeatScheduleOptions } from './heartbeat-schedule.js';
export { runHeartbeats, type HeartbeatLoopOptions } from './heartbeat-loop.js';
export {
  FINAL_UPDATE_FILE,
  RANGE_REPORTS_FILE,
  findFinalUpdates,
  markFinalUpdateAcked,
  parseFinalUpdate,
  parseRangeReports,
  writeFinalUpdate,
  writeFinalUpdateInFlight,
  dropFinalUpdateInFlight,
  writeRangeReports,
  type FinalUpdateRecord,
  type RangeReportsRecord,
} from './final-update-file.js';
export { recoverFinalUpdates, type RecoveryServer, type RecoverDeps, type RecoverySummary, type RecoveryResult } from './recover.js';
