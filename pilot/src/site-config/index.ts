// Site-config documents checked with zod: `config check`, the stub and the release builder use them; a pilot start does not.
export { parseConfigText, parseConfigTextOrThrow, type ConfigDocument, type ParseOutcome } from './config-documents.js';
export { explainDocument, explainQueue } from './explain.js';
export { buildCatalog, EMPTY_CATALOG, toQueueData, type SiteCatalog } from './site-catalog.js';
export { findSiteConfigDir, loadSiteCatalog, readConfigPaths } from './site-config-files.js';
