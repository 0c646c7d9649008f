export { parseSubmitMode, transportMode, type HarvesterFlags, type AccessPoint, type TransportMode } from './harvester-mode.js';
export { ACCESS_FILES, READ_SUFFIX, writeFileAtomic, writeJsonAtomic, touch } from './access-files.js';
export { HarvesterPushServer, type PushServerOptions, type StageOutEntry } from './push-server.js';
export { jobFileCandidates, parseJobFile, takeJobFile, type PushedJobs } from './job-source.js';
