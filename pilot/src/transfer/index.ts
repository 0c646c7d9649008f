export { chooseLogDestination, parseDestination, destinationUrl, DestinationError, type LogDestination, type DestinationFacts, type DestinationSource } from './destination.js';
export { stageOut, digestAdler32, DEFAULT_STAGEOUT, type StagedFile, type StageOutSettings, type StageOutResult } from './stage-out.js';
