/**
 * All queues and the resource-type table of a site configuration, merged
 * from its documents, and the queue data a server serves for each queue.
 */
import type { ConfigIssue } from '../config/index.js';
import type { ConfigDocument } from './config-documents.js';
import type { QueueConfig, ResourceTypeRow } from '../config/index.js';
import { queueResourceType } from '../config/index.js';

/** Queues by name, the resource-type table, and where they came from. */
export interface SiteCatalog {
  queues: ReadonlyMap<string, QueueConfig>;
  resourceTypes: readonly ResourceTypeRow[];
  /** Files the catalog was built from. */
  files: readonly string[];
}

/** An empty catalog: a stub without site configuration brokers by exact queue name only. */
export const EMPTY_CATALOG: SiteCatalog = { queues: new Map(), resourceTypes: [], files: [] };

/** Merges documents; a queue defined twice or two resource-type tables are problems. */
export function buildCatalog(docs: readonly ConfigDocument[]): { catalog: SiteCatalog; issues: ConfigIssue[] } {
  const queues = new Map<string, QueueConfig>();
  const origin = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  let resourceTypes: ResourceTypeRow[] = [];
  let rtFile: string | undefined;
  for (const doc of docs) {
    if (doc.kind === 'resource-types') {
      if (rtFile) issues.push({ file: doc.file, field: 'resource_types', problem: `a second resource-type table (the first is in ${rtFile})` });
      rtFile = doc.file;
      resourceTypes = doc.rows;
      continue;
    }
    for (const q of doc.kind === 'site' ? doc.queues : [doc.queue]) {
      const first = origin.get(q.name);
      if (first) issues.push({ file: doc.file, field: 'name', problem: `queue "${q.name}" is already defined in ${first}` });
      else {
        queues.set(q.name, q);
        origin.set(q.name, doc.file);
      }
    }
  }
  return { catalog: { queues, resourceTypes, files: docs.map((d) => d.file) }, issues };
}

/**
 * A queue as `/cache/schedconfig/<queue>.all.json` serves it: schedconfig
 * names, naming fields filled, `resource_type` computed when the memory
 * range implies one, no site-config-only fields (comment).
 */
export function toQueueData(queue: QueueConfig, resourceTypes: readonly ResourceTypeRow[]): Record<string, unknown> {
  const { comment: _comment, ...rest } = queue;
  const resource_type = queueResourceType(queue, resourceTypes);
  return { ...rest, ...(resource_type ? { resource_type } : {}) };
}
