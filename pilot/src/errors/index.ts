export { PilotError, truncateDiag } from './pilot-error.js';
export { ErrorCode } from '../protocol/index.js';
