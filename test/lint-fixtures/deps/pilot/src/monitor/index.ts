// Bad on purpose: monitor/ (rank 4) may import server/ (rank 3) — allowed — but see job/.
export { serverName } from '../server/index.js';
