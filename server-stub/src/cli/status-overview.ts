/** `panda-stub status --watch`: the monitor page's overview as terminal text. Pure. */
import type { TaskRecord } from '../model/records.js';

const ORDER = ['defined', 'activated', 'sent', 'starting', 'running', 'holding', 'transferring', 'finished', 'failed', 'cancelled', 'closed'];

/** What the overview needs: the summary's counts and the tasks with their jobs per state. */
export interface OverviewInput {
  jobs: Record<string, number>;
  updates: number;
  orderViolations: number;
  tasks: (TaskRecord & { jobs: Record<string, number> })[];
  at: Date;
}

/** A text progress bar: finished `#`, failed `x`, in flight `>`, waiting `.`. */
export function progressBar(counts: Record<string, number>, width = 30): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total === 0) return '.'.repeat(width);
  const done = counts.finished ?? 0;
  const bad = (counts.failed ?? 0) + (counts.cancelled ?? 0) + (counts.closed ?? 0);
  const flying = ['sent', 'starting', 'running', 'holding', 'transferring'].reduce((a, s) => a + (counts[s] ?? 0), 0);
  const cells = (n: number) => Math.round((n / total) * width);
  const a = cells(done);
  const b = Math.min(width - a, cells(bad));
  const c = Math.min(width - a - b, cells(flying));
  return '#'.repeat(a) + 'x'.repeat(b) + '>'.repeat(c) + '.'.repeat(width - a - b - c);
}

function statesLine(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort(([x], [y]) => ORDER.indexOf(x) - ORDER.indexOf(y))
    .map(([s, n]) => `${s} ${n}`)
    .join('  ');
}

export function formatOverview(o: OverviewInput): string {
  const total = Object.values(o.jobs).reduce((a, b) => a + b, 0);
  const lines = [
    `panda-stub at ${o.at.toISOString().slice(0, 19)}Z: ${total} jobs, ${o.updates} updates, ${o.orderViolations} order violations`,
    `jobs: ${statesLine(o.jobs) || 'none'}`,
    '',
    `${'task'.padEnd(6)} ${'name'.padEnd(24)} ${'status'.padEnd(9)} ${'progress'.padEnd(32)} jobs`,
  ];
  for (const t of o.tasks) {
    lines.push(`${String(t.taskId).padEnd(6)} ${t.name.slice(0, 24).padEnd(24)} ${t.status.padEnd(9)} [${progressBar(t.jobs)}] ${statesLine(t.jobs)}`);
  }
  if (o.tasks.length === 0) lines.push('(no tasks)');
  return lines.join('\n');
}
