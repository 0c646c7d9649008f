/**
 * The stub as a live-log server: `POST /loki/api/v1/push` in Grafana Loki's
 * JSON form (what a pilot with `--use-realtime-logging` sends), and
 * `GET /stub/jobs/<PandaID>/logs` to read a job's lines back.
 */
import { jsonReply, textReply } from '../http/reply.js';
import type { Route, StubReply, StubRequest } from '../http/types.js';
import type { LiveLine, LiveLogStore } from '../store/live-log-store.js';

/** Loki's push body → lines by PandaID; an error text for a body Loki would refuse. */
export function parseLokiPush(body: unknown): { ok: true; byJob: Map<string, LiveLine[]> } | { ok: false; error: string } {
  const streams = (body as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) return { ok: false, error: 'body must be {"streams": [...]}' };
  const byJob = new Map<string, LiveLine[]>();
  for (const [i, s] of streams.entries()) {
    const labels = (s as { stream?: unknown }).stream;
    const values = (s as { values?: unknown }).values;
    if (typeof labels !== 'object' || labels === null || !Array.isArray(values))
      return { ok: false, error: `streams[${i}] needs "stream" labels and "values"` };
    const l = labels as Record<string, unknown>;
    const pandaId = typeof l.PandaID === 'string' ? l.PandaID : '';
    const stream = typeof l.stream === 'string' ? l.stream : '';
    for (const [j, v] of values.entries()) {
      if (!Array.isArray(v) || typeof v[0] !== 'string' || !/^\d{1,19}$/.test(v[0]) || typeof v[1] !== 'string')
        return { ok: false, error: `streams[${i}].values[${j}] must be ["<ns timestamp>", "<line>"]` };
      let lines = byJob.get(pandaId);
      if (!lines) byJob.set(pandaId, (lines = []));
      lines.push({ ns: v[0], stream, line: v[1] });
    }
  }
  return { ok: true, byJob };
}

function push(store: LiveLogStore, req: StubRequest): StubReply {
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    return textReply(400, `error parsing push body: ${(err as Error).message}\n`);
  }
  const parsed = parseLokiPush(body);
  if (!parsed.ok) return textReply(400, `${parsed.error}\n`);
  for (const [pandaId, lines] of parsed.byJob) store.add(pandaId, lines);
  return { status: 204, headers: {}, body: '' };
}

export function liveLogRoutes(store: LiveLogStore): Route[] {
  return [
    { method: 'POST', pattern: /^\/loki\/api\/v1\/push$/, handler: (req) => push(store, req) },
    { method: 'GET', pattern: /^\/stub\/jobs\/(\d+)\/logs$/, handler: (_req, m) => jsonReply(200, store.get(m[1] ?? '')) },
  ];
}
