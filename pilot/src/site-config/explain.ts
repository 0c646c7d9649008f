/**
 * Plain-language summaries of validated configuration, for
 * `panda-pilot config check`: what a broker and a pilot will do with it.
 */
import type { ConfigDocument } from './config-documents.js';
import type { QueueConfig, ResourceTypeRow } from '../config/index.js';
import { queueResourceType, UNDEFINED_RESOURCE_TYPE } from '../config/index.js';

const STATUS_MEANING: Record<QueueConfig['status'], string> = {
  online: 'takes brokered jobs',
  brokeroff: 'takes only jobs submitted to it by name',
  offline: 'takes no jobs; pilots exit 83',
  test: 'takes only jobs submitted to it by name or labelled test',
};

function range(min: number | null, max: number | null, unit: string): string {
  if (min === null && max === null) return 'any';
  if (max === null) return `≥ ${min}${unit}`;
  if (min === null) return `≤ ${max}${unit}`;
  return `${min}–${max}${unit}`;
}

/** One line per queue: memory range, cores, time, status and the resource type its pilots ask for. */
export function explainQueue(q: QueueConfig, table: readonly ResourceTypeRow[]): string {
  const memory =
    q.maxrss > 0 ? `${q.minrss > 0 ? `${q.minrss} < ` : ''}job memory ≤ ${q.maxrss} MB` : q.minrss > 0 ? `job memory > ${q.minrss} MB` : 'any job memory';
  const time = q.maxtime > 0 ? `pilot walltime ≤ ${q.maxtime} s` : 'no walltime limit';
  const cores = q.corecount > 0 ? `${q.corecount} core${q.corecount > 1 ? 's' : ''}/slot` : 'any core count';
  const rt = queueResourceType(q, table);
  const rtText = rt ? `asks for resource type ${rt}` : 'asks for any resource type';
  const push = q.workflow?.startsWith('push') ? '; push: Harvester hands the jobs to its pilots through files' : '';
  return `${q.name} (${q.site}, ${q.cloud || '-'}, ${q.tier || '-'}): ${q.status}, ${STATUS_MEANING[q.status]}; ${memory}; ${cores}; ${time}; ${rtText}${push}`;
}

/** One line per resource type, in match order. */
export function explainResourceTypes(rows: readonly ResourceTypeRow[]): string[] {
  return [
    ...rows.map((r, i) => `${i + 1}. ${r.name}: cores ${range(r.mincore, r.maxcore, '')}, memory per core ${range(r.minrampercore, r.maxrampercore, ' MB')}`),
    `   otherwise ${UNDEFINED_RESOURCE_TYPE} (first matching row wins)`,
  ];
}

/** The summary of one document. */
export function explainDocument(doc: ConfigDocument, table: readonly ResourceTypeRow[]): string[] {
  switch (doc.kind) {
    case 'resource-types':
      return [`${doc.file}: resource-type table, ${doc.rows.length} rows`, ...explainResourceTypes(doc.rows).map((l) => `  ${l}`)];
    case 'site':
      return [`${doc.file}: ${doc.facility}, ${doc.queues.length} queue(s)`, ...doc.queues.map((q) => `  ${explainQueue(q, table)}`)];
    default: {
      const ignored = doc.ignoredFields.length ? [`  ignored fields: ${doc.ignoredFields.join(', ')}`] : [];
      return [`${doc.file}: queue data`, `  ${explainQueue(doc.queue, table)}`, ...ignored];
    }
  }
}
