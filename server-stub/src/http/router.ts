/** Matches a request to a route; 404 / 405 replies for the rest. */
import { textReply } from './reply.js';
import type { Route, StubReply, StubRequest } from './types.js';

/** Runs the first route whose pattern matches the path and whose method fits; a synchronous handler's reply comes back as it is. */
export function route(routes: readonly Route[], req: StubRequest): StubReply | Promise<StubReply> {
  let pathMatched = false;
  for (const r of routes) {
    const match = r.pattern.exec(req.path);
    if (!match) continue;
    pathMatched = true;
    if (r.method !== '*' && r.method !== req.method) continue;
    return r.handler(req, match);
  }
  return pathMatched ? textReply(405, `method ${req.method} not allowed on ${req.path}`) : textReply(404, `no such path: ${req.path}`);
}
