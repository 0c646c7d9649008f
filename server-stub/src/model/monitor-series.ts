/**
 * The pilot's memory monitor series, as it ships it in the job's log
 * tarball: `memory_monitor_output.jsonl`, one prmon-like JSON object a line
 * (pilot/src/monitor/metrics-summary.ts: `Time` in epoch seconds, `rss`,
 * `pss`, `swap` in kB), one line per monitor interval — far more points than
 * the heartbeats carry. Pure: bytes in, points out.
 */
import { gunzipSync } from 'node:zlib';

/** The member the pilot writes (pilot/src/monitor MONITOR_OUTPUT). */
export const MONITOR_MEMBER = 'memory_monitor_output.jsonl';

/** One monitor sample on the job page's memory plot. */
export interface MonitorPoint {
  /** Epoch ms. */
  at: number;
  rssKb: number;
  pssKb: number | null;
}

/** Points of a monitor series; lines that are not a sample with a time and an RSS are skipped (a cut member ends mid-line). */
export function parseMonitorSeries(text: string): MonitorPoint[] {
  const out: MonitorPoint[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    const s = v as Record<string, unknown>;
    const time = Number(s.Time);
    const rss = Number(s.rss);
    if (!Number.isFinite(time) || time <= 0 || !Number.isFinite(rss) || rss < 0) continue;
    const pss = Number(s.pss);
    out.push({ at: time * 1000, rssKb: rss, pssKb: Number.isFinite(pss) && pss > 0 ? pss : null });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Why a tarball gave no series, for the page. */
export type TarMember = { ok: true; text: string; name: string } | { ok: false; reason: string };

const BLOCK = 512;

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.toString('utf8', 0, end < 0 ? raw.length : end);
}

/**
 * The first member of a .tgz whose name ends in `/${member}` (or is it): a
 * plain ustar walk, as the pilot's writer (pilot/src/run/tar-gz.ts) and GNU
 * tar lay it out. `maxInflated` bounds what gunzip may produce.
 */
export function tarGzMember(tgz: Buffer, member: string, maxInflated: number): TarMember {
  let tar: Buffer;
  try {
    tar = gunzipSync(tgz, { maxOutputLength: maxInflated });
  } catch (err) {
    return { ok: false, reason: `not a readable .tgz (or over ${maxInflated} bytes inflated): ${(err as Error).message}` };
  }
  let longName: string | null = null;
  for (let at = 0; at + BLOCK <= tar.length;) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) return { ok: false, reason: `bad size in the tar header at ${at}` };
    const type = String.fromCharCode(header[156] ?? 0);
    const body = tar.subarray(at + BLOCK, at + BLOCK + size);
    const next = at + BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      // GNU long name: the next header's name.
      longName = body.toString('utf8').replace(/\0.*$/s, '');
      at = next;
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = null;
    if ((type === '0' || type === '\0') && (name === member || name.endsWith(`/${member}`))) return { ok: true, text: body.toString('utf8'), name };
    at = next;
  }
  return { ok: false, reason: `no ${member} in the tarball` };
}
