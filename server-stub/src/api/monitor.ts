/** The monitor web page: `GET /` (overview), `/ui/tasks/ID` (a task's jobs), `/ui/jobs/ID` (one job). */
import type { StubEngine } from '../engine/index.js';
import type { Route, StubReply, StubRequest } from '../http/types.js';
import type { JobRecord } from '../model/records.js';
import { MONITOR_MEMBER, parseMonitorSeries, tarGzMember } from '../model/monitor-series.js';
import type { FileStore } from '../store/file-store.js';
import { esc, jobPage, logUrlOf, overviewPage, page, taskPage, type MonitorSeriesView } from './monitor-html.js';

/** Jobs listed on a task page at most: a page, not 11,461 rows. */
const TASK_PAGE_LIMIT = 500;
const DEFAULT_REFRESH_SEC = 5;

function html(status: number, body: string): StubReply {
  return { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body };
}

/** `?refresh=N` seconds (0 = off), default 5. */
function refreshOf(req: StubRequest): number {
  const n = Number(req.query.get('refresh') ?? DEFAULT_REFRESH_SEC);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 3600) : DEFAULT_REFRESH_SEC;
}

/** Log tarballs the page reads whole, and what gunzip may make of one (the pilot caps its tarball at 100 MB by default). */
const MAX_TARBALL_BYTES = 32 * 1024 * 1024;
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;
const SERIES_CACHE_SIZE = 64;

/**
 * The monitor series of a job whose log tarball is in this stub's storage (its surl names
 * `/storage/…`), read once per tarball version: the page refreshes every few seconds.
 */
function monitorSeriesReader(storage: FileStore): (job: JobRecord) => MonitorSeriesView {
  const cache = new Map<string, { size: number; mtimeMs: number; view: MonitorSeriesView }>();
  return (job) => {
    const surl = logUrlOf(job);
    if (!surl) return { kind: 'none', why: 'no log in storage yet (the series comes with the log tarball)' };
    let rel: string;
    try {
      const { pathname } = new URL(surl);
      if (!pathname.startsWith('/storage/')) return { kind: 'none', why: `the log is not in this stub's storage (${surl})` };
      rel = decodeURIComponent(pathname.slice('/storage/'.length));
    } catch {
      return { kind: 'none', why: `the log's surl does not parse (${surl})` };
    }
    const file = storage.readAll(rel, MAX_TARBALL_BYTES);
    if (!file.ok) return { kind: 'none', why: file.reason };
    const hit = cache.get(rel);
    if (hit && hit.size === file.size && hit.mtimeMs === file.mtimeMs) return hit.view;
    const member = tarGzMember(file.bytes, MONITOR_MEMBER, MAX_INFLATED_BYTES);
    let view: MonitorSeriesView;
    if (!member.ok) view = { kind: 'none', why: member.reason };
    else {
      const points = parseMonitorSeries(member.text);
      view =
        points.length > 0 ? { kind: 'series', points, source: `${member.name} in ${rel}` } : { kind: 'none', why: `${member.name} in ${rel} has no samples` };
    }
    if (cache.size >= SERIES_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(rel, { size: file.size, mtimeMs: file.mtimeMs, view });
    return view;
  };
}

function notFound(what: string): StubReply {
  return html(404, page('not found', `<h1>Not found</h1><p>${esc(what)}</p>`, 0));
}

/** The monitor's routes; with `storage`, a job page also plots the pilot's monitor series from the log tarball. */
export function monitorRoutes(engine: StubEngine, storage?: FileStore): Route[] {
  const seriesOf = storage ? monitorSeriesReader(storage) : undefined;
  return [
    {
      method: 'GET',
      pattern: /^\/$/,
      handler: (req) =>
        html(
          200,
          overviewPage({
            summary: engine.summary(),
            tasks: engine.tasks(),
            counts: engine.taskJobCounts(),
            workers: engine.workerReports(),
            refreshSec: refreshOf(req),
          }),
        ),
    },
    {
      method: 'GET',
      pattern: /^\/ui\/tasks\/(\d{1,15})$/,
      handler: (req, m) => {
        const task = engine.task(Number(m[1]));
        if (!task) return notFound(`no task ${Number(m[1])}`);
        const state = req.query.get('state') ?? undefined;
        const counts = engine.taskJobCounts().get(task.taskId) ?? {};
        return html(
          200,
          taskPage({ task, counts, state, jobs: engine.jobsPage(task.taskId, state, TASK_PAGE_LIMIT), limit: TASK_PAGE_LIMIT, refreshSec: refreshOf(req) }),
        );
      },
    },
    {
      method: 'GET',
      pattern: /^\/ui\/jobs\/(\d{1,15})$/,
      handler: (req, m) => {
        const details = engine.jobDetails(Number(m[1]));
        if (!details) return notFound(`no job ${Number(m[1])}`);
        return html(
          200,
          jobPage({
            details,
            attempts: engine.attemptsOf(details.job),
            task: engine.task(details.job.taskId),
            refreshSec: refreshOf(req),
            ...(seriesOf ? { monitor: seriesOf(details.job) } : {}),
          }),
        );
      },
    },
  ];
}
