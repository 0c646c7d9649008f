/** The `status` command's table: plain text, fixed columns, one job per line. */
import type { JobRecord } from '../model/records.js';

const COLUMNS = ['PandaID', 'task', 'name', 'attempt', 'state', 'pilotErrorCode', 'diag'] as const;

/** A diagnostic cut to `max` characters on one line. */
export function shortDiag(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

function row(job: JobRecord): string[] {
  const r = job.report;
  const diag = String(r.pilotErrorDiag ?? r.exeErrorDiag ?? job.serverErrorDiag ?? '');
  return [
    String(job.pandaId),
    String(job.taskId),
    job.name,
    String(job.attemptNr),
    job.state,
    r.pilotErrorCode === undefined ? '' : String(r.pilotErrorCode),
    shortDiag(diag),
  ];
}

/** Formats jobs as an aligned table with a header line. */
export function formatJobTable(jobs: readonly JobRecord[]): string {
  const rows = [[...COLUMNS], ...jobs.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
