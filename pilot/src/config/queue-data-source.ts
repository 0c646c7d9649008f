/**
 * Where a pilot gets its queue's data, in order: `--queuedata FILE|URL`
 * (pilot3's `--queuedata-url`), the release tree's snapshot
 * (`<release>/config/queuedata/<queue>.all.json`), the server's
 * `/cache/schedconfig/<queue>.all.json`. The I/O edge of config/: reading
 * and fetching are passed in, so tests use plain functions.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatIssue, type ConfigIssue } from './config-issues.js';
import { parseQueueData } from './queue-data.js';
import type { QueueConfig } from './queue-types.js';

/** An HTTP GET: status and body, or a thrown error when nothing came back. */
export type Fetch = (url: string) => Promise<{ status: number; body: string }>;

export interface QueueDataSources {
  /** `--queuedata`: a file path or an http(s) URL. Failing to use it is fatal. */
  queuedata?: string | undefined;
  /** A release tree (PANDA_PILOT_RELEASE, or the tree the bundle sits in). */
  releaseDir?: string | undefined;
  /** GET on an absolute URL (for `--queuedata URL`). */
  fetchUrl: Fetch;
  /** GET on a path of the PanDA server; undefined when there is no server to ask. */
  fetchServer?: Fetch | undefined;
  /**
   * Parses a whole site-config document (a site file holding many queues, a resource-type table).
   * Passed in and loaded only when a `--queuedata` file is one: it needs zod, which a pilot start
   * that reads one queue's data never loads.
   */
  parseDocument: DocumentParser;
}

/** What a site-config document holds, as far as picking one queue from it goes. */
export type DocumentOutcome =
  | { ok: true; doc: { kind: 'site'; queues: QueueConfig[] } | { kind: 'resource-types' } | { kind: 'queue'; queue: QueueConfig; ignoredFields: string[] } }
  | { ok: false; issues: ConfigIssue[] };
export type DocumentParser = (source: string, text: string) => Promise<DocumentOutcome>;

export interface LoadedQueueData {
  queue: QueueConfig;
  source: string;
  /** Fields the document had that the pilot does not use. */
  ignoredFields: string[];
}

/** Queue data could not be had or used: pilot3's exit 71 (cannot get it) or 72 (it is bad). */
export class QueueDataError extends Error {
  override readonly name = 'QueueDataError';
  constructor(
    message: string,
    readonly exitCode: 71 | 72,
  ) {
    super(message);
  }
}

/** The release-tree snapshot path of a queue's data. */
export function releaseQueueDataPath(releaseDir: string, queue: string): string {
  return path.join(releaseDir, 'config', 'queuedata', `${queue}.all.json`);
}

/** The server path of a queue's data, as panda-server's cache serves it. */
export function serverQueueDataPath(queue: string): string {
  return `/cache/schedconfig/${encodeURIComponent(queue)}.all.json`;
}

function badData(issues: readonly ConfigIssue[]): QueueDataError {
  return new QueueDataError(`bad queue data:\n${issues.map(formatIssue).join('\n')}`, 72);
}

/** Parses a document and picks `queueName` from it (a site file may hold many queues). */
export async function queueFromText(source: string, text: string, queueName: string, parseDocument: DocumentParser): Promise<LoadedQueueData> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badData([{ file: source, field: '(file)', problem: `not valid JSON: ${(err as Error).message}` }]);
  }
  // A site file or resource-type table (only ever a --queuedata file): site-config/ reads those.
  const whole = value !== null && typeof value === 'object' && ('queues' in value || 'facility' in value || 'resource_types' in value);
  const parsed = whole ? await parseDocument(source, text) : parseQueueData(source, value);
  if (!parsed.ok) throw badData(parsed.issues);
  const doc = 'doc' in parsed ? parsed.doc : { kind: 'queue' as const, queue: parsed.queue, ignoredFields: parsed.ignoredFields };
  if (doc.kind === 'resource-types') throw new QueueDataError(`${source}: is a resource-type table, not queue data`, 72);
  if (doc.kind === 'site') {
    const queue = doc.queues.find((q) => q.name === queueName);
    if (!queue) throw new QueueDataError(`${source}: has no queue ${queueName} (it has ${doc.queues.map((q) => q.name).join(', ')})`, 72);
    return { queue, source, ignoredFields: [] };
  }
  const names = [doc.queue.name, doc.queue.nickname, doc.queue.panda_resource];
  if (!names.includes(queueName)) throw new QueueDataError(`${source}: name: is queue ${doc.queue.name}, not ${queueName}`, 72);
  return { queue: doc.queue, source, ignoredFields: doc.ignoredFields };
}

async function fromExplicit(spec: string, queueName: string, fetchUrl: Fetch, parseDocument: DocumentParser): Promise<LoadedQueueData> {
  let text: string;
  if (/^https?:\/\//i.test(spec)) {
    let reply;
    try {
      reply = await fetchUrl(spec);
    } catch (err) {
      throw new QueueDataError(`cannot fetch queue data from ${spec}: ${(err as Error).message}`, 71);
    }
    if (reply.status !== 200) throw new QueueDataError(`cannot fetch queue data from ${spec}: HTTP ${reply.status}`, 71);
    text = reply.body;
  } else {
    const file = spec.startsWith('file://') ? new URL(spec).pathname : spec;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new QueueDataError(`cannot read queue data ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 71);
    }
  }
  return queueFromText(spec, text, queueName, parseDocument);
}

/**
 * The queue's data from the first source that has it, or null when none
 * does (a server without the queue in its cache: the pilot then runs on its
 * flags alone, as it did before queue data existed). An explicit
 * `--queuedata` that fails, or bad data from any source, throws.
 */
export async function loadQueueData(queueName: string, sources: QueueDataSources): Promise<LoadedQueueData | null> {
  if (sources.queuedata) return fromExplicit(sources.queuedata, queueName, sources.fetchUrl, sources.parseDocument);
  if (sources.releaseDir) {
    const file = releaseQueueDataPath(sources.releaseDir, queueName);
    if (existsSync(file)) return queueFromText(file, readFileSync(file, 'utf8'), queueName, sources.parseDocument);
  }
  if (sources.fetchServer) {
    const p = serverQueueDataPath(queueName);
    let reply;
    try {
      reply = await sources.fetchServer(p);
    } catch {
      // Unreachable server: getJob will meet the same problem and report it with the right code.
      return null;
    }
    // Some servers answer every path with 200 and their own JSON; that is "no queue data", not bad queue data.
    if (reply.status === 200 && looksLikeQueueData(reply.body)) return queueFromText(`server ${p}`, reply.body, queueName, sources.parseDocument);
  }
  return null;
}

/** Whether a reply is a queue document at all (a JSON object naming a queue), whatever its quality. */
export function looksLikeQueueData(text: string): boolean {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    return v !== null && typeof v === 'object' && ['name', 'nickname', 'panda_resource'].some((k) => typeof v[k] === 'string');
  } catch {
    return true; // broken JSON at the queue data path is bad queue data: let the parser say so
  }
}
