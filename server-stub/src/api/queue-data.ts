/**
 * Queue data the way panda-server's cache serves it:
 * `GET /cache/schedconfig/<queue>.all.json`, the schedconfig fields pilots
 * read (reference §11), so any pilot pointed at the stub can configure itself.
 */
import type { StubEngine } from '../engine/index.js';
import { jsonReply, textReply } from '../http/reply.js';
import type { Route } from '../http/types.js';

/** The route. An unknown queue is a 404, as a missing cache file is on the server. */
export function queueDataRoutes(engine: StubEngine): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/cache\/schedconfig\/([^/]+)\.all\.json$/,
      handler: (_req, m) => {
        const queue = decodeURIComponent(m[1] ?? '');
        const data = engine.queueData(queue);
        return data ? jsonReply(200, data) : textReply(404, `no queue data for ${queue}\n`);
      },
    },
  ];
}
