/** The request and reply shapes every handler works with: plain data, no sockets. */
import type { IncomingHttpHeaders } from 'node:http';

/** A request with its body fully read. */
export interface StubRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Whether it came over TLS: URLs the stub hands out to itself use the same scheme; the real server refuses credentials over plain http. */
  secure?: boolean;
}

/** A reply ready to write. */
export interface StubReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A handler for one route; `match` is the route pattern's match. */
export type Handler = (req: StubRequest, match: RegExpMatchArray) => StubReply | Promise<StubReply>;

/** One route: method (or '*'), a path pattern anchored at both ends, a handler. */
export interface Route {
  method: 'GET' | 'POST' | '*';
  pattern: RegExp;
  handler: Handler;
}

/** Thrown by body decoding for a request that cannot be understood; becomes a clear error reply. */
export class BadRequestError extends Error {
  override readonly name: string = 'BadRequestError';
}

/** A body over the limit, before or after decompression; becomes a 413. */
export class PayloadTooLargeError extends BadRequestError {
  override readonly name = 'PayloadTooLargeError';
}

/** The first value of a header, or undefined. */
export function header(req: StubRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
