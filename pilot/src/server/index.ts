export { HttpTransport, TransportError, type TransportOptions, type HttpReply } from './http-transport.js';
export { HttpStatusError, isRetryable, backoffDelay, realSleep, DEFAULT_BACKOFF, type BackoffOptions, type Sleep } from './retry-policy.js';
export { LegacyDialect, ProtocolError } from './legacy-dialect.js';
export { V1Dialect, type V1Envelope } from './v1-dialect.js';
export { selectDialect, detectV1, type ApiChoice } from './dialect-select.js';
export type { PandaServer, JobRequest, JobUpdate, UpdateReply, SendOptions } from './panda-server.js';
export { parseCommand } from './panda-server.js';
export { tokenSourceFromEnv, authHeaders, type TokenSource } from './auth.js';
export { updateWorkerStatus, type WorkerStatus, type WorkerStatusReport } from './worker-status.js';
