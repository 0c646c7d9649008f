export {
  parseProcStat,
  sessionProcesses,
  pidProcesses,
  withDetails,
  rollupReading,
  parseSmapsRollup,
  parseProcIo,
  totals,
  type ProcessSample,
  type ProcessDetail,
  type TreeTotals,
} from './process-tree.js';
export {
  discoverMemoryCgroup,
  canCreateChildren,
  parseProcCgroup,
  parseMountInfo,
  cgroupDir,
  type CgroupLocation,
  type CgroupVersion,
} from './cgroup-discovery.js';
export { readCgroupFigures, cgroupPids, parseBytes, parseOomKills, CGROUP_FILES, type CgroupFigures } from './cgroup-memory.js';
export { PayloadCgroup, type PayloadCgroupOptions } from './payload-cgroup.js';
export { readKernelLog, findOomKill, parseKmsgRecord, parseDmesgLine, kernelClockSec, type KernelRecord, type OomKillRecord } from './kernel-log.js';
export { detectOom, type OomEvidence, type OomFacts } from './oom-detection.js';
export { checkWatchdogs, NO_LIMITS, type WatchdogFacts, type WatchdogLimits } from './watchdog-rules.js';
export { MetricsAccumulator, CounterLedger, makeSample, updateFields, jobMetrics, type MetricsSummary, type MonitorSample } from './metrics-summary.js';
export { PayloadMonitor, MONITOR_OUTPUT, type PayloadMonitorOptions } from './payload-monitor.js';
export { newestMtimeMs, totalSize } from './job-dir-facts.js';
