export { PilotError, truncateDiag } from './pilot-error.js';
export { TransportError, HttpStatusError, ProtocolError, ReplyTooLargeError, isRetryable } from './transport-errors.js';
export { ErrorCode } from '../protocol/index.js';
