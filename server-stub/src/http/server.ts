/**
 * The node:http edge: read the body, route, write the reply, log one line
 * per request. Everything between is plain functions over StubRequest.
 *
 * Hardened: nothing a client sends may stop the stub. A path that does not
 * parse, a body over the limit (before or after gzip), too many requests at
 * once or a client that never finishes its request each get a 4xx/5xx, and
 * a handler's exception is a 500 — never an unhandled rejection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { inflateBounded, MAX_INFLATED_BYTES } from './body-limits.js';
import { textReply } from './reply.js';
import { route } from './router.js';
import { BadRequestError, PayloadTooLargeError, type Route, type StubReply } from './types.js';
import { matchStreamRoute, type StreamRoute } from './stream-route.js';

/** Large enough for a pilot's stdout / pilotLog / metadata excerpts, small enough to refuse nonsense. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Requests in progress at once; more get 503 with Retry-After (a pilot retries). */
export const MAX_CONCURRENT_REQUESTS = 4096;

/** Limits of one server; the defaults above unless a test or the CLI chooses others. */
export interface HttpLimits {
  maxBodyBytes: number;
  maxInflatedBytes: number;
  maxConcurrent: number;
  /** Whole request (headers and body) must arrive within this, ms. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxBodyBytes: MAX_BODY_BYTES,
  maxInflatedBytes: MAX_INFLATED_BYTES,
  maxConcurrent: MAX_CONCURRENT_REQUESTS,
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 20_000,
};

/** A running HTTP server. `close()` is idempotent. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Reads the whole body and calls `done` once: with the body, or with why it could not be read (too large,
 * a socket error, a client gone before the body ended). A callback, not a promise: per request, the
 * promise, its resolvers and the await were measurable under load.
 */
function readBody(req: IncomingMessage, limit: number, done: (err: Error | null, body: Buffer) => void): void {
  const declared = Number(req.headers['content-length']);
  // Refuse before reading a byte when the client says it will send too much.
  if (Number.isFinite(declared) && declared > limit) {
    done(new PayloadTooLargeError(`body of ${declared} bytes is larger than ${limit}`), EMPTY);
    return;
  }
  // One chunk (a pilot's body fits a packet) is kept as it came; only several are joined.
  let first: Buffer | null = null;
  let chunks: Buffer[] | null = null;
  let size = 0;
  let settled = false;
  const settle = (err: Error | null, body: Buffer): void => {
    if (settled) return;
    settled = true;
    first = null;
    chunks = null;
    done(err, body);
  };
  req.on('data', (chunk: Buffer) => {
    if (settled) return;
    size += chunk.length;
    if (size > limit) {
      settle(new PayloadTooLargeError(`body larger than ${limit} bytes`), EMPTY);
      return;
    }
    if (first === null) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  req.on('end', () => settle(null, chunks ? Buffer.concat(chunks, size) : (first ?? EMPTY)));
  req.on('error', (err) => settle(err, EMPTY));
  // A client gone before its body ended: without this the request would hold its slot under the cap for ever.
  // Every request closes, most long after their body ended: the error (and its stack trace) only for the others.
  req.on('close', () => {
    if (!settled) settle(new BadRequestError('the client closed the connection before the body ended'), EMPTY);
  });
}

const EMPTY = Buffer.alloc(0);

const PLAIN_PATH = /^\/[A-Za-z0-9_\-/]*$/;

/** The path and query of a request target; null when it does not parse (e.g. `//` as authority, `%zz`). */
export function parseTarget(raw: string | undefined): { path: string; query: URLSearchParams } | null {
  const target = raw ?? '/';
  if (!target.startsWith('/')) return null;
  // Every pilot call has a plain path (no dot segment, escape or fragment): what URL would make of it is the path
  // itself, without the cost of a URL per request.
  const q = target.indexOf('?');
  const plain = q < 0 ? target : target.slice(0, q);
  if (PLAIN_PATH.test(plain) && !target.includes('#')) return { path: plain, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
  try {
    // Not `new URL(target, base)`: a target starting with `//` would be read as a host.
    const url = new URL(`http://stub.invalid${target}`);
    decodeURIComponent(url.pathname);
    return { path: url.pathname, query: url.searchParams };
  } catch {
    return null;
  }
}

/** Header values that need no cleaning (nearly all): printable ASCII, not too long. */
const SAFE_HEADER_VALUE = /^[\x20-\x7e]{0,512}$/;

/** A header value safe to write (latin-1 printable, bounded): reasons carry arbitrary client text. */
function safeHeaderValue(value: string): string {
  if (SAFE_HEADER_VALUE.test(value)) return value;
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}

function errorReply(err: unknown, log: Logger, path: string): StubReply {
  if (err instanceof PayloadTooLargeError) return textReply(413, `ERROR : ${err.message}`);
  if (err instanceof BadRequestError) return textReply(400, `ERROR : ${err.message}`);
  log.error({ err, path }, 'handler failed');
  return textReply(500, `ERROR : ${err instanceof Error ? err.message : String(err)}`);
}

function write(res: ServerResponse, reply: StubReply, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  // A flat [name, value, …] list: node takes it as it is, where an object's keys are walked and copied first.
  const headers: (string | number)[] = ['content-length', Buffer.byteLength(reply.body)];
  for (const name in reply.headers) headers.push(name, safeHeaderValue(reply.headers[name] as string));
  if (close) headers.push('connection', 'close');
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

/** Too many requests in progress: 503 with a hint to come back in a second (buffered and streaming routes alike). */
function busyReply(limits: HttpLimits): StubReply {
  return {
    ...textReply(503, `ERROR : more than ${limits.maxConcurrent} requests in progress; retry later`),
    headers: { 'content-type': 'text/plain', 'retry-after': '1' },
  };
}

/** What every request's handling shares: the log, the limits, the in-flight count and the server's hooks. */
interface ServerContext {
  log: Logger;
  limits: HttpLimits;
  state: { inFlight: number };
  onRequest?: ((path: string, userAgent: string) => void) | undefined;
  durable?: (() => Promise<void>) | undefined;
}

/**
 * One buffered request: body, route, the durable wait, reply, log line. Callbacks rather than an async
 * function: three awaits and their promises per request were measurable under load. Every step that could
 * throw is caught here and becomes an error reply; none may escape into node's event emitters.
 */
function handle(ctx: ServerContext, routes: readonly Route[], req: IncomingMessage, res: ServerResponse): void {
  const { log, limits, state, onRequest, durable } = ctx;
  const started = Date.now();
  const target = parseTarget(req.url);
  const path = target?.path ?? String(req.url).slice(0, 200);
  // An unread body left on a kept-alive socket would be parsed as the next request: these close instead.
  if (state.inFlight >= limits.maxConcurrent) return respond(ctx, req, res, busyReply(limits), true, path, started);
  if (target === null) return respond(ctx, req, res, textReply(400, `ERROR : request target does not parse: ${path}`), true, path, started);
  state.inFlight += 1;
  let answered = false;
  const answer = (reply: StubReply, closeAfter: boolean): void => {
    if (answered) return;
    answered = true;
    state.inFlight -= 1;
    respond(ctx, req, res, reply, closeAfter, path, started);
  };
  const fail = (err: unknown): void => answer(errorReply(err, log, path), err instanceof PayloadTooLargeError);
  // The last line behind a promise: a bug in answering must not become an unhandled rejection (it would stop the stub).
  const lastResort = (err: unknown): void => {
    log.error({ err, path }, 'request handling failed');
    res.destroy();
  };
  // The reply promises its writes are on disk: it waits for the group commit that holds them.
  const whenDurable = (reply: StubReply): void => {
    if (!durable) return answer(reply, false);
    try {
      durable()
        .then(() => answer(reply, false), fail)
        .catch(lastResort);
    } catch (err) {
      fail(err);
    }
  };
  try {
    onRequest?.(target.path, req.headers['user-agent'] ?? '');
  } catch (err) {
    return fail(err);
  }
  readBody(req, limits.maxBodyBytes, (err, raw) => {
    if (err) return fail(err);
    try {
      const routed = route(routes, {
        method: req.method ?? 'GET',
        path: target.path,
        query: target.query,
        headers: req.headers,
        body: inflateBounded(raw, limits.maxInflatedBytes),
        secure: (req.socket as { encrypted?: boolean }).encrypted === true,
      });
      if (routed instanceof Promise) routed.then(whenDurable, fail).catch(lastResort);
      else whenDurable(routed);
    } catch (e) {
      fail(e);
    }
  });
}

/** Writes the reply and logs the request's line; a reply that cannot be written drops the socket. */
function respond(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, reply: StubReply, closeAfter: boolean, path: string, started: number): void {
  try {
    write(res, reply, closeAfter);
  } catch (err) {
    ctx.log.error({ err, path }, 'reply could not be written');
    res.destroy();
  }
  ctx.log.info({ method: req.method, path, status: reply.status, ms: Date.now() - started }, 'request');
}

/** A streaming route's request: it reads and writes the sockets itself, under the same concurrency cap. */
async function handleStream(
  ctx: ServerContext,
  r: StreamRoute,
  match: RegExpMatchArray,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { log, limits, state, onRequest } = ctx;
  const started = Date.now();
  if (state.inFlight >= limits.maxConcurrent) {
    write(res, busyReply(limits), true);
    return;
  }
  state.inFlight += 1;
  onRequest?.(path, req.headers['user-agent'] ?? '');
  try {
    await r.handler(req, res, match);
  } catch (err) {
    log.error({ err, path }, 'stream handler failed');
    if (!res.headersSent) write(res, textReply(500, `ERROR : ${err instanceof Error ? err.message : String(err)}`), true);
    else res.destroy();
  } finally {
    state.inFlight -= 1;
  }
  log.info({ method: req.method, path, status: res.statusCode, ms: Date.now() - started }, 'request');
}

/** Listens on host:port (0 = any free port) and serves `routes`. */
export function startHttpServer(options: {
  routes: readonly Route[];
  port: number;
  host: string;
  log: Logger;
  /** Told the path of every request received (the request counter). */
  onRequest?: (path: string, userAgent: string) => void;
  limits?: Partial<HttpLimits>;
  /** Routes that stream their bodies (storage, cache) with their own size limits; tried before the buffered ones. */
  streamRoutes?: readonly StreamRoute[];
  /** Resolves when everything the handlers wrote is committed; replies wait for it. */
  durable?: () => Promise<void>;
  /** Serve https with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer } | undefined;
}): Promise<RunningServer> {
  const { routes, log } = options;
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const ctx: ServerContext = { log, limits, state: { inFlight: 0 }, onRequest: options.onRequest, durable: options.durable };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const target = options.streamRoutes?.length ? parseTarget(req.url) : null;
    const found = target ? matchStreamRoute(options.streamRoutes ?? [], target.path) : null;
    if (target && found) {
      handleStream(ctx, found.route, found.match, target.path, req, res).catch((err: unknown) => {
        log.error({ err }, 'request handling failed');
        res.destroy();
      });
      return;
    }
    try {
      handle(ctx, routes, req, res);
    } catch (err) {
      // handle() catches everything it can; this is the last line so a bug here cannot stop the stub.
      log.error({ err }, 'request handling failed');
      res.destroy();
    }
  };
  const serverOptions = { requestTimeout: limits.requestTimeoutMs, headersTimeout: limits.headersTimeoutMs };
  const server: Server = options.tls
    ? createTlsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, onRequest)
    : createServer(serverOptions, onRequest);
  // Pilots keep connections alive between heartbeats; do not hold shutdown for them.
  // Longer than a pilot's pause between calls under load, so a client rarely reuses a socket the server is closing.
  server.keepAliveTimeout = 30_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed request lines, bad headers, timeouts: node's parser refused them. Answer 400/408 and drop the socket.
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(`HTTP/1.1 ${status} Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: thousands of pilots connecting at once must not lose SYNs (a lost one costs 1 s, 3 s, 7 s… of retransmits).
    server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error({ err }, 'http server error'));
      const { port } = server.address() as AddressInfo;
      const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
      let closing: Promise<void> | undefined;
      resolve({
        url: `${options.tls ? 'https' : 'http'}://${hostForUrl}:${port}`,
        port,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          })),
      });
    });
  });
}
