export { parseProcStat, sessionProcesses, totals, type ProcessSample, type TreeTotals } from './process-tree.js';
