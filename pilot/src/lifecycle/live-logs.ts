/**
 * A job's live logs: its payload stdout and the JSON-lines files named in
 * `REALTIME_LOGFILES` (or `--realtime-logfiles`), followed while it runs and
 * pushed to the log server, labelled with PandaID, task, queue and stream.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { JobDescription } from '../job/index.js';
import { followFiles, LokiShipper, DEFAULT_SHIPPER, type ShipperSettings } from '../realtime/index.js';
import type { HttpTransport } from '../server/index.js';

export interface RealtimeSettings {
  http: HttpTransport;
  /** The log server's base URL (`--realtime-logging-server`). */
  serverUrl: string;
  queue: string;
  /** File names (in the job dir) whose lines are sent besides stdout. */
  logFiles: readonly string[];
  shipper?: ShipperSettings | undefined;
  /** How often the files are looked at (ms). */
  followMs?: number | undefined;
}

/** `a.json, b.jsonl` → plain names inside the job dir; anything reaching outside is left out. */
export function realtimeFiles(spec: string | undefined, jobDir: string): { file: string; stream: string }[] {
  const out: { file: string; stream: string }[] = [];
  for (const name of (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const file = path.resolve(jobDir, name);
    if (path.relative(jobDir, file).startsWith('..') || path.isAbsolute(path.relative(jobDir, file))) continue;
    out.push({ file, stream: path.basename(name) });
  }
  return out;
}

export function startLiveLogs(settings: RealtimeSettings, job: JobDescription, jobDir: string, stdoutPath: string, log: Logger): { stop: () => Promise<void> } {
  const labels = { PandaID: String(job.pandaId), TaskID: job.taskId === null ? '' : String(job.taskId), queue: settings.queue, job: job.jobName };
  const shipper = new LokiShipper(settings.http, settings.serverUrl, labels, log, settings.shipper ?? DEFAULT_SHIPPER);
  const files = [{ file: stdoutPath, stream: 'stdout' }, ...realtimeFiles(settings.logFiles.join(','), jobDir)];
  const done = new AbortController();
  const following = followFiles(files, (stream, line) => void shipper.push(stream, line), done.signal, settings.followMs ?? 500);
  log.info({ event: 'realtime_start', url: settings.serverUrl, streams: files.map((f) => f.stream) }, 'live logs on');
  return {
    stop: async () => {
      done.abort();
      await following;
      const stats = await shipper.close();
      log.info({ event: 'realtime_end', ...stats }, `live logs: ${stats.sent} lines sent, ${stats.dropped} dropped`);
    },
  };
}
