export { buildPayloadCommand, transformationName } from './payload-command.js';
export { createPilotHome, createJobDir, freeSpaceMB } from './work-dir.js';
export { PayloadProcess, signalFromStatus, parseBashTimes, type PayloadExit, type PayloadStart } from './payload-process.js';
export { writeLogTarball } from './log-tarball.js';
export { adler32File } from './adler32.js';
