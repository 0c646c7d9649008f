export { readBatchIdentity, type BatchIdentity } from './batch-env.js';
