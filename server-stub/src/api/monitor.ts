/** The monitor web page: `GET /` (overview), `/ui/tasks/ID` (a task's jobs), `/ui/jobs/ID` (one job). */
import type { StubEngine } from '../engine/index.js';
import type { Route, StubReply, StubRequest } from '../http/types.js';
import { esc, jobPage, overviewPage, page, taskPage } from './monitor-html.js';

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

function notFound(what: string): StubReply {
  return html(404, page('not found', `<h1>Not found</h1><p>${esc(what)}</p>`, 0));
}

export function monitorRoutes(engine: StubEngine): Route[] {
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
        return html(200, jobPage({ details, attempts: engine.attemptsOf(details.job), task: engine.task(details.job.taskId), refreshSec: refreshOf(req) }));
      },
    },
  ];
}
