/**
 * Live logs (`--use-realtime-logging`): a job's payload stdout and the
 * JSON-lines files named in `REALTIME_LOGFILES` go to a Loki push endpoint
 * while the job runs.
 */
export { LokiShipper, lokiPushBody, DEFAULT_SHIPPER, type ShipperSettings, type ShipperStats } from './loki-shipper.js';
export { FileTail, followFiles } from './file-tail.js';
