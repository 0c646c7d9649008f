export * from './param-names.js';
export * from './error-codes.js';
export * from './form-codec.js';
export * from './job-states.js';
export * from './seq-headers.js';
export * from './event-ranges.js';
export { Adler32 } from './adler32.js';
export * from './server-api.js';
export * from './harvester-files.js';
