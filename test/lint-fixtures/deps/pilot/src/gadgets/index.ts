// Bad on purpose: a folder with no rank in .dependency-cruiser.cjs.
export { serverName as gadget } from '../server/index.js';
