/**
 * Queue data the way panda-server's cache serves it:
 * `GET /cache/schedconfig/<queue>.all.json`, the schedconfig fields pilots
 * read (docs/panda-protocol.md §11), so any pilot pointed at the stub can configure itself.
 */
import type { StubEngine } from '../engine/index.js';
import { jsonReply, textReply } from '../http/reply.js';
import { header, type Route, type StubRequest } from '../http/types.js';

/**
 * The stub is its own storage endpoint: a queue that names no log
 * destination gets one on this server (`/storage/logs`), addressed by the
 * host the pilot itself used, so its logs land where `curl` can fetch them.
 */
export function withStubStorage(data: Record<string, unknown>, req: StubRequest): Record<string, unknown> {
  const host = header(req, 'host');
  if (!host || !/^[A-Za-z0-9.:[\]-]+$/.test(host)) return data;
  const copytools = (data.copytools ?? {}) as Record<string, Record<string, unknown>>;
  if (Object.values(copytools).some((t) => typeof t?.log_destination === 'string')) return data;
  return { ...data, copytools: { ...copytools, 'stub-webdav': { log_destination: `${req.secure ? 'https' : 'http'}://${host}/storage/logs` } } };
}

/** The route. An unknown queue is a 404, as a missing cache file is on the server. */
export function queueDataRoutes(engine: StubEngine): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/cache\/schedconfig\/([^/]+)\.all\.json$/,
      handler: (req, m) => {
        const queue = decodeURIComponent(m[1] ?? '');
        const data = engine.queueData(queue);
        return data ? jsonReply(200, withStubStorage(data, req)) : textReply(404, `no queue data for ${queue}\n`);
      },
    },
  ];
}
