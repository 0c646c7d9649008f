export {
  chooseLogDestination,
  parseDestination,
  destinationUrl,
  DestinationError,
  type LogDestination,
  type DestinationFacts,
  type DestinationSource,
} from './destination.js';
export { stageOut, digestAdler32, DEFAULT_STAGEOUT, type StagedFile, type StageOutSettings, type StageOutResult } from './stage-out.js';
export { downloadFile, DownloadError, DEFAULT_DOWNLOAD, type DownloadSettings, type Downloaded } from './download.js';
