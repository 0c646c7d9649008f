// The server's own public face: transports, dialects and credentials. Error classes live in
// errors/ and the interfaces the dialects implement in protocol/: import them from there.
export {
  HttpTransport,
  mayCarrySecrets,
  DEFAULT_MAX_REPLY_BYTES,
  type TransportOptions,
  type HttpReply,
  type UrlRequest,
  type UrlReply,
} from './http-transport.js';
export { LegacyDialect, legacyUpdateParams } from './legacy-dialect.js';
export { V1Dialect, v1UpdateParams, type V1Envelope } from './v1-dialect.js';
export { selectDialect, detectV1, type ApiChoice } from './dialect-select.js';
export { parseCommand } from './panda-server.js';
export { tokenSourceFromEnv, authHeaders, authOrigin, isLoopbackUrl, tokenRouteProblem, type TokenSource } from './auth.js';
export { TokenRefresher, refreshSettingsFromEnv, refreshDelayMs, writeAtomically, type RefreshSettings } from './token-refresh.js';
export { proxyFor, noProxyMatch, redactProxy, type ProxyVerdict } from './proxy-env.js';
export { loadTlsMaterial, readCaDir, type TlsSettings } from './tls-material.js';
export { decodeRangeList, decodeRangeReportReply } from './event-range-calls.js';
export { classifyRefusal, CredentialsRefusedError, type Refusal } from './start-up-refusals.js';
