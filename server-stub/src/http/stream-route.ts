/**
 * Routes that stream their bodies (file storage, the cache, log pushes that
 * may be large): they see the raw request and response, skip the buffered
 * body read, and enforce their own size limits.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type StreamHandler = (req: IncomingMessage, res: ServerResponse, match: RegExpMatchArray) => Promise<void>;

export interface StreamRoute {
  /** Matched against the path without the query string. */
  pattern: RegExp;
  handler: StreamHandler;
}

/** The first stream route whose pattern matches, with its match. */
export function matchStreamRoute(routes: readonly StreamRoute[], path: string): { route: StreamRoute; match: RegExpMatchArray } | null {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match) return { route, match };
  }
  return null;
}
