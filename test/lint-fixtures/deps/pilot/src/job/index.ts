// Bad on purpose: job/ (rank 2) importing monitor/ (rank 4) is a forbidden direction.
export { serverName as name } from '../monitor/index.js';
export { a } from './a.js';
