/**
 * The node:http edge: read the body, route, write the reply, log one line
 * per request. Everything between is plain functions over StubRequest.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { textReply } from './reply.js';
import { route } from './router.js';
import { BadRequestError, type Route, type StubReply, type StubRequest } from './types.js';

/** Large enough for a pilot's stdout / pilotLog / metadata excerpts, small enough to refuse nonsense. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** A running HTTP server. `close()` is idempotent. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequestError(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(routes: readonly Route[], log: Logger, req: IncomingMessage, res: ServerResponse, onRequest?: (path: string) => void): Promise<void> {
  const started = Date.now();
  const url = new URL(req.url ?? '/', 'http://stub.invalid');
  onRequest?.(url.pathname);
  let reply: StubReply;
  try {
    const stubReq: StubRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: await readBody(req),
    };
    reply = await route(routes, stubReq);
  } catch (err) {
    if (err instanceof BadRequestError) {
      reply = textReply(400, `ERROR : ${err.message}`);
    } else {
      log.error({ err, path: url.pathname }, 'handler failed');
      reply = textReply(500, `ERROR : ${(err as Error).message}`);
    }
  }
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
  log.info({ method: req.method, path: url.pathname, status: reply.status, ms: Date.now() - started }, 'request');
}

/** Listens on host:port (0 = any free port) and serves `routes`. */
export function startHttpServer(options: {
  routes: readonly Route[];
  port: number;
  host: string;
  log: Logger;
  /** Told the path of every request received (the request counter). */
  onRequest?: (path: string) => void;
}): Promise<RunningServer> {
  const { routes, log } = options;
  const server: Server = createServer((req, res) => {
    void handle(routes, log, req, res, options.onRequest);
  });
  // Pilots keep connections alive between heartbeats; do not hold shutdown for them.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${hostForUrl}:${port}`,
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
