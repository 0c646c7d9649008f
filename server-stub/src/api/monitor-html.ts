/**
 * The monitor's pages as pure functions: records in, HTML out. Plain HTML and
 * inline SVG, no script: the tables work without JavaScript and a
 * `<meta refresh>` keeps the page live. Every value from a pilot is escaped.
 */
import type { JobDetails, Summary } from '../engine/index.js';
import type { JobRecord, TaskRecord, UpdateRecord } from '../model/records.js';
import type { WorkerStatusRecord } from '../engine/index.js';
import type { MonitorPoint } from '../model/monitor-series.js';

/** The pilot's monitor series from the job's log tarball, or why there is none. */
export type MonitorSeriesView = { kind: 'series'; points: MonitorPoint[]; source: string } | { kind: 'none'; why: string };

const STATE_ORDER = ['defined', 'activated', 'sent', 'starting', 'running', 'holding', 'transferring', 'finished', 'failed', 'cancelled', 'closed'];
const STATE_COLOUR: Record<string, string> = {
  defined: '#9e9e9e',
  activated: '#90caf9',
  sent: '#4fc3f7',
  starting: '#4dd0e1',
  running: '#29b6f6',
  holding: '#ffb74d',
  transferring: '#ffd54f',
  finished: '#66bb6a',
  failed: '#e53935',
  cancelled: '#8d6e63',
  closed: '#bdbdbd',
};

/** Escapes text for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const CSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:1.2em 2em;color:#1a1a1a;background:#fafafa}
h1{font-size:1.5em;margin:.2em 0} h2{font-size:1.15em;margin:1.4em 0 .4em}
a{color:#0b57d0} table{border-collapse:collapse;background:#fff;margin:.3em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top} th{background:#f0f0f0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.state{display:inline-block;padding:0 .45em;border-radius:.3em;color:#fff;font-weight:600}
tr.violation td{background:#fff3e0} .violation-mark{color:#e65100;font-weight:700}
.error{font-size:1.2em;color:#b71c1c;font-weight:700} .muted{color:#666} nav a{margin-right:1em}
`;

/** A whole page; `refreshSec` 0 turns the self-refresh off. */
export function page(title: string, body: string, refreshSec: number): string {
  const refresh = refreshSec > 0 ? `<meta http-equiv="refresh" content="${refreshSec}">` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh}<title>${esc(title)}</title><style>${CSS}</style></head>
<body><nav><a href="/">panda-stub</a><a href="/stub/summary">summary JSON</a></nav>${body}
<p class="muted">${refreshSec > 0 ? `Refreshes every ${refreshSec} s (<a href="?refresh=0">stop</a>).` : 'Not refreshing.'}</p></body></html>`;
}

function stateBadge(state: string): string {
  return `<span class="state" style="background:${STATE_COLOUR[state] ?? '#607d8b'}" data-state="${esc(state)}">${esc(state)}</span>`;
}

function sortedStates(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort(([a], [b]) => STATE_ORDER.indexOf(a) - STATE_ORDER.indexOf(b));
}

/** A stacked bar of jobs by state, as SVG with a title per segment. */
export function stateBar(counts: Record<string, number>, width = 320, height = 16): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total === 0)
    return `<svg width="${width}" height="${height}" role="img" aria-label="no jobs"><rect width="${width}" height="${height}" fill="#eee"/></svg>`;
  let x = 0;
  const parts = sortedStates(counts).map(([state, n]) => {
    const w = (n / total) * width;
    const rect = `<rect x="${x.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="${height}" fill="${STATE_COLOUR[state] ?? '#607d8b'}"><title>${esc(state)}: ${n}</title></rect>`;
    x += w;
    return rect;
  });
  const label = sortedStates(counts)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  return `<svg width="${width}" height="${height}" role="img" aria-label="${esc(label)}">${parts.join('')}</svg>`;
}

/** The code a person looks for first: the server's, else the pilot's, the payload's, the transformation's. */
export function errorOf(job: JobRecord): { code: number; diag: string; source: string } | null {
  const r = job.report;
  const candidates: [unknown, unknown, string][] = [
    [job.serverErrorCode, job.serverErrorDiag, 'server'],
    [r.pilotErrorCode, r.pilotErrorDiag, 'pilot'],
    [r.exeErrorCode, r.exeErrorDiag, 'payload'],
    [r.transExitCode, '', 'transformation exit'],
  ];
  for (const [code, diag, source] of candidates) {
    const n = Number(code);
    if (code !== null && code !== undefined && code !== '' && Number.isFinite(n) && n !== 0) return { code: n, diag: String(diag ?? ''), source };
  }
  return null;
}

function taskJobLink(taskId: number, state: string, n: number): string {
  return `<a href="/ui/tasks/${taskId}?state=${encodeURIComponent(state)}">${n}</a>`;
}

/** `GET /`: tasks and their progress, jobs by state, workers. */
export function overviewPage(input: {
  summary: Summary;
  tasks: TaskRecord[];
  counts: Map<number, Record<string, number>>;
  workers: WorkerStatusRecord[];
  refreshSec: number;
}): string {
  const { summary, tasks, counts, workers } = input;
  const totalJobs = Object.values(summary.jobs).reduce((a, b) => a + b, 0);
  const states = STATE_ORDER.filter((s) => tasks.some((t) => (counts.get(t.taskId)?.[s] ?? 0) > 0));
  const taskRows = tasks
    .map((t) => {
      const c = counts.get(t.taskId) ?? {};
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      const cells = states.map((s) => `<td class="n">${c[s] ? taskJobLink(t.taskId, s, c[s]) : ''}</td>`).join('');
      return `<tr data-task="${t.taskId}"><td><a href="/ui/tasks/${t.taskId}">${t.taskId}</a></td><td><a href="/ui/tasks/${t.taskId}">${esc(t.name)}</a></td><td>${esc(t.status)}</td><td>${stateBar(c)}</td>${cells}<td class="n">${total}</td></tr>`;
    })
    .join('\n');
  const workerRows = workers
    .slice(-50)
    .reverse()
    .map(
      (w) =>
        `<tr><td>${esc(w.receivedAt)}</td><td>${esc(w.harvesterId)}</td><td>${esc(w.workerId)}</td><td>${esc(w.status)}</td><td>${esc(w.nodeId ?? '')}</td><td>${esc(w.site ?? '')}</td></tr>`,
    )
    .join('\n');
  const body = `<h1>panda-stub</h1>
<p>${totalJobs} jobs · ${summary.updates.total} updates · <span class="${summary.order_violations ? 'violation-mark' : ''}">${summary.order_violations} order violations</span></p>
<h2>Jobs by state</h2>
${stateBar(summary.jobs, 640, 24)}
<table><tr>${sortedStates(summary.jobs)
    .map(([s]) => `<th>${stateBadge(s)}</th>`)
    .join('')}</tr><tr>${sortedStates(summary.jobs)
    .map(([, n]) => `<td class="n">${n}</td>`)
    .join('')}</tr></table>
<h2>Tasks</h2>
${tasks.length === 0 ? '<p>No tasks yet: <code>panda-stub submit FILE --url …</code></p>' : `<table id="tasks"><tr><th>task</th><th>name</th><th>status</th><th>progress</th>${states.map((s) => `<th>${esc(s)}</th>`).join('')}<th>jobs</th></tr>\n${taskRows}</table>`}
<h2>Workers</h2>
${workers.length === 0 ? '<p class="muted">No worker reports.</p>' : `<table id="workers"><tr><th>at</th><th>harvester</th><th>worker</th><th>status</th><th>node</th><th>site</th></tr>\n${workerRows}</table>`}`;
  return page('panda-stub', body, input.refreshSec);
}

function memoryOf(job: JobRecord): string {
  const rss = Number(job.report.maxRSS);
  return Number.isFinite(rss) && rss > 0 ? `${(rss / 1024).toFixed(0)} MB` : '';
}

/** `GET /ui/tasks/ID`: the task's jobs (a page of them), filterable by state. */
export function taskPage(input: {
  task: TaskRecord;
  counts: Record<string, number>;
  state: string | undefined;
  jobs: JobRecord[];
  limit: number;
  refreshSec: number;
}): string {
  const { task, counts, state, jobs } = input;
  const filters = [
    `<a href="/ui/tasks/${task.taskId}">all</a>`,
    ...sortedStates(counts).map(([s, n]) => `<a href="/ui/tasks/${task.taskId}?state=${encodeURIComponent(s)}">${esc(s)} (${n})</a>`),
  ].join(' ');
  const rows = jobs
    .map((j) => {
      const err = errorOf(j);
      return `<tr data-panda-id="${j.pandaId}"><td><a href="/ui/jobs/${j.pandaId}">${j.pandaId}</a></td><td>${esc(j.name)}</td><td class="n">${j.attemptNr}</td><td>${stateBadge(j.state)}</td><td class="n">${err ? err.code : ''}</td><td>${esc(err?.diag ?? '')}</td><td class="n">${memoryOf(j)}</td><td>${esc(j.dispatchNode ?? '')}</td><td>${esc(j.heartbeatAt ?? '')}</td></tr>`;
    })
    .join('\n');
  const shown = jobs.length >= input.limit ? `<p class="muted">First ${input.limit} shown.</p>` : '';
  const showing = state === undefined ? 'all jobs' : `jobs ${esc(state)}`;
  const body = `<h1>Task ${task.taskId}: ${esc(task.name)}</h1>
<p>${esc(task.status)} · site ${esc(task.site)} · ${task.cores} core(s), ${task.memoryMB} MB · up to ${task.maxAttempts} attempt(s)</p>
${stateBar(counts, 640, 24)}
<p>Showing ${showing}. Show: ${filters}</p>
<table id="jobs"><tr><th>PandaID</th><th>name</th><th>attempt</th><th>state</th><th>error code</th><th>diagnostic</th><th>max RSS</th><th>node</th><th>last heartbeat</th></tr>
${rows}</table>${shown}`;
  return page(`task ${task.taskId}`, body, input.refreshSec);
}

/** Memory figures an update carried (kB, as pilots report them), whichever dialect. */
export function memoryPoint(u: UpdateRecord): { at: number; rssKb: number; pssKb: number | null } | null {
  const rss = Number(u.params.maxRSS ?? u.params.max_rss);
  if (!Number.isFinite(rss) || rss <= 0) return null;
  const pss = Number(u.params.maxPSS ?? u.params.max_pss);
  return { at: Date.parse(u.receivedAt), rssKb: rss, pssKb: Number.isFinite(pss) && pss > 0 ? pss : null };
}

/**
 * Memory over time as an SVG line plot: the heartbeats' RSS and PSS (points), the pilot's own monitor
 * series from the log tarball when it arrived (lines, one sample per monitor interval), and the job's
 * memory request as a line — on one time axis.
 */
export function memoryPlot(updates: readonly UpdateRecord[], requestMb: number, monitor: readonly MonitorPoint[] = [], width = 640, height = 200): string {
  // Only updates the stub applied: a refused (out-of-order) or duplicate report is not the job's memory.
  const points = updates
    .filter((u) => u.orderViolation === null && u.result !== 'duplicate')
    .map(memoryPoint)
    .filter((p): p is NonNullable<typeof p> => p !== null);
  if (points.length === 0 && monitor.length === 0) return '<p class="muted">No memory figures in the heartbeats yet.</p>';
  const pad = { l: 60, r: 10, t: 10, b: 30 };
  const times = [...points.map((p) => p.at), ...monitor.map((p) => p.at)];
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1000);
  const maxMb = Math.max(requestMb, ...points.map((p) => p.rssKb / 1024), ...monitor.map((p) => p.rssKb / 1024)) * 1.1;
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (mb: number) => height - pad.b - (mb / maxMb) * (height - pad.t - pad.b);
  const line = (get: (p: (typeof points)[number]) => number | null, colour: string, name: string) => {
    const pts = points.filter((p) => get(p) !== null);
    if (pts.length === 0) return '';
    const d = pts.map((p) => `${x(p.at).toFixed(1)},${y(get(p)! / 1024).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${d}"><title>${name}</title></polyline>${pts.map((p) => `<circle cx="${x(p.at).toFixed(1)}" cy="${y(get(p)! / 1024).toFixed(1)}" r="3" fill="${colour}"><title>${name} ${(get(p)! / 1024).toFixed(0)} MB at ${new Date(p.at).toISOString()}</title></circle>`).join('')}`;
  };
  // The monitor's series: hundreds of samples, so lines without a marker per point.
  const series = (get: (p: MonitorPoint) => number | null, colour: string, name: string) => {
    const pts = monitor.filter((p) => get(p) !== null);
    if (pts.length === 0) return '';
    const d = pts.map((p) => `${x(p.at).toFixed(1)},${y(get(p)! / 1024).toFixed(1)}`).join(' ');
    return `<polyline class="monitor-series" fill="none" stroke="${colour}" stroke-width="1.5" points="${d}"><title>${name} (pilot monitor, ${pts.length} samples)</title></polyline>`;
  };
  const req = `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(requestMb).toFixed(1)}" y2="${y(requestMb).toFixed(1)}" stroke="#e53935" stroke-dasharray="6 4"><title>requested ${requestMb} MB</title></line>`;
  const axes = `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#444"/><line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#444"/>
<text x="${pad.l - 6}" y="${y(0)}" text-anchor="end" font-size="12">0</text><text x="${pad.l - 6}" y="${y(maxMb / 1.1) + 4}" text-anchor="end" font-size="12">${(maxMb / 1.1).toFixed(0)} MB</text>
<text x="${pad.l}" y="${height - 8}" font-size="12">${esc(new Date(t0).toISOString().slice(11, 19))}</text><text x="${width - pad.r}" y="${height - 8}" font-size="12" text-anchor="end">${esc(new Date(t1).toISOString().slice(11, 19))} UTC</text>`;
  return `<svg id="memory-plot" width="${width}" height="${height}" role="img" aria-label="memory over time: RSS (blue), PSS (green), monitor RSS (orange), monitor PSS (purple), request (red dashed)">${axes}${req}${series((p) => p.rssKb, '#fb8c00', 'RSS')}${series((p) => p.pssKb, '#8e24aa', 'PSS')}${line((p) => p.rssKb, '#1e88e5', 'RSS')}${line((p) => p.pssKb, '#43a047', 'PSS')}</svg>
<p class="muted">Heartbeats: RSS blue, PSS green (points). ${monitor.length > 0 ? 'Pilot monitor from the log: RSS orange, PSS purple (lines). ' : ''}The attempt's memory request red (dashed).</p>`;
}

/** The job's log as the pilot reported it: the surl of its log file in the output report, if it got to storage. */
export function logUrlOf(job: JobRecord): string | null {
  const xml = job.report.xml ?? job.report.jobOutputReport;
  if (typeof xml !== 'string') return null;
  try {
    const entries = Object.entries(JSON.parse(xml) as Record<string, { surl?: unknown }>);
    const log = entries.find(([lfn]) => /\.log(\.tgz)?$/.test(lfn)) ?? entries[0];
    const surl = log?.[1]?.surl;
    return typeof surl === 'string' && /^https?:\/\//.test(surl) ? surl : null;
  } catch {
    return null;
  }
}

function updateState(u: UpdateRecord): string {
  return String(u.params.state ?? u.params.job_status ?? '');
}

/** `GET /ui/jobs/ID`: one job, its error, attempts, memory, update timeline and history. */
/** The line under the plot that says where the monitor series came from, or why there is none. */
function monitorNote(view: MonitorSeriesView | undefined): string {
  if (!view) return '';
  if (view.kind === 'none') return `<p id="monitor-series" class="muted">Monitor series: ${esc(view.why)}</p>`;
  return `<p id="monitor-series">Monitor series: ${view.points.length} samples from ${esc(view.source)}</p>`;
}

export function jobPage(input: {
  details: JobDetails;
  attempts: JobRecord[];
  task: TaskRecord | undefined;
  refreshSec: number;
  /** The pilot's monitor series from the log tarball; undefined when the stub has no storage to look in. */
  monitor?: MonitorSeriesView;
}): string {
  const { details, attempts, task } = input;
  const { job, history, updates } = details;
  const err = errorOf(job);
  const logUrl = logUrlOf(job);
  const errorBlock = err
    ? `<p class="error" id="error-code">Error ${err.code} <span class="muted">(${esc(err.source)})</span></p><p id="error-diag">${esc(err.diag)}</p>`
    : `<p id="error-code" class="muted">No error code.</p>`;
  const attemptRows = attempts
    .map((a) => {
      const e = errorOf(a);
      const self = a.pandaId === job.pandaId ? ' (this one)' : '';
      return `<tr><td class="n">${a.attemptNr}</td><td><a href="/ui/jobs/${a.pandaId}">${a.pandaId}</a>${self}</td><td>${stateBadge(a.state)}</td><td class="n">${a.minRamCount} MB</td><td class="n">${memoryOf(a)}</td><td class="n">${e ? e.code : ''}</td><td>${esc(e?.diag ?? '')}</td></tr>`;
    })
    .join('\n');
  const updateRows = updates
    .map((u) => {
      const mark = u.orderViolation ? `<span class="violation-mark">⚠ order violation:</span> ${esc(u.orderViolation)}` : '';
      return `<tr${u.orderViolation ? ' class="violation"' : ''}><td>${esc(u.receivedAt)}</td><td>${esc(u.dialect)}</td><td>${esc(u.method)}</td><td>${esc(updateState(u))}</td><td>${esc(u.seqHeader ?? '')}</td><td>${esc(u.result)}</td><td>${esc(u.command)}</td><td>${mark}</td></tr>`;
    })
    .join('\n');
  const historyRows = history
    .map((h) => `<tr><td>${esc(h.at)}</td><td>${esc(h.from ?? '')}</td><td>${esc(h.to)}</td><td>${esc(h.reason)}</td></tr>`)
    .join('\n');
  const body = `<h1>Job ${job.pandaId} ${stateBadge(job.state)}</h1>
<p>${task ? `task <a href="/ui/tasks/${task.taskId}">${task.taskId} ${esc(task.name)}</a> · ` : ''}${esc(job.name)} · attempt ${job.attemptNr} · site ${esc(job.site)} · node ${esc(job.dispatchNode ?? '—')} · <a href="/stub/jobs/${job.pandaId}">JSON</a></p>
${errorBlock}
<p>Log: ${logUrl ? `<a id="log-link" href="${esc(logUrl)}">${esc(logUrl)}</a>` : '<span class="muted">not in storage (no surl in the output report)</span>'}</p>
<h2>Attempts</h2>
<table id="attempts"><tr><th>attempt</th><th>PandaID</th><th>state</th><th>memory given</th><th>max RSS</th><th>error code</th><th>diagnostic</th></tr>
${attemptRows}</table>
<h2>Memory</h2>
${memoryPlot(updates, job.minRamCount, input.monitor?.kind === 'series' ? input.monitor.points : [])}
${monitorNote(input.monitor)}
<h2>Updates (${updates.length}, ${details.order_violations} order violations)</h2>
<table id="updates"><tr><th>received</th><th>dialect</th><th>method</th><th>state</th><th>sequence</th><th>result</th><th>command</th><th>order</th></tr>
${updateRows}</table>
<h2>History</h2>
<table id="history"><tr><th>at</th><th>from</th><th>to</th><th>reason</th></tr>
${historyRows}</table>`;
  return page(`job ${job.pandaId}`, body, input.refreshSec);
}
