/**
 * Which site configuration `panda-stub serve` brokers with: `--site-config DIR`,
 * `--site-config none` for none (jobs go only to the queue they name), or by
 * default the nearest `site-config/` above the bundle or the working directory.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findSiteConfigDir, loadSiteCatalog, type SiteCatalog } from '../../../pilot/src/site-config/index.js';
import type { Logger } from '../log.js';

/** Loads the catalog the option names; a ConfigError (naming file and field) propagates. */
export function resolveSiteCatalog(option: string | undefined, log: Logger, cwd = process.cwd(), bundleUrl = import.meta.url): SiteCatalog | undefined {
  if (option === 'none') return undefined;
  const starts = bundleUrl.startsWith('file:') ? [path.dirname(fileURLToPath(bundleUrl)), cwd] : [cwd];
  const dir = option ?? findSiteConfigDir(starts);
  if (!dir) {
    log.warn({ searched: starts }, 'no site-config directory found: jobs go only to the queue they name');
    return undefined;
  }
  const catalog = loadSiteCatalog(dir);
  log.info({ siteConfig: dir, queues: catalog.queues.size, resourceTypes: catalog.resourceTypes.length }, 'site configuration loaded');
  return catalog;
}
