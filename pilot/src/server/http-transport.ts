/**
 * The one place the pilot talks HTTP. Every call has a deadline, and the
 * failure says whether trying again could help (see errors/transport-errors.ts).
 * Site proxies (HTTPS_PROXY/HTTP_PROXY/NO_PROXY, proxy-env.ts, decided per
 * origin), CA bundles and directories (tls-material.ts) and the reply size cap
 * live here, so every request the pilot makes inherits them.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { HttpProxyAgent } from 'http-proxy-agent';
import type { HttpsProxyAgent } from 'https-proxy-agent';
import { ReplyTooLargeError, TransportError } from '../errors/index.js';
import { linkedSignal } from '../retry/index.js';
import { isLoopbackUrl } from './auth.js';
import { proxyFor, redactProxy, type ProxyVerdict } from './proxy-env.js';
import { loadTlsMaterial, type TlsMaterial } from './tls-material.js';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface TransportOptions {
  /** Base URL, e.g. https://panda.example.org:8443 (no trailing slash needed). */
  baseUrl: string;
  /** Per-request deadline (ms) for the whole exchange. */
  timeoutMs: number;
  /** CA bundle file (replaces Node's built-in roots). */
  caFile?: string | undefined;
  /** Hashed CA directory (`--capath`, `X509_CERT_DIR`). */
  caDir?: string | undefined;
  /** X.509 proxy (cert + key in one PEM file), sent as the client certificate. */
  proxyFile?: string | undefined;
  /** Returns `Authorization`/`Origin` headers; called per request so a rewritten token file is picked up. */
  authHeaders?: (() => Record<string, string>) | undefined;
  /** Where proxy variables are read; default process.env, so every transport honours the site proxy. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Reply body cap for in-memory replies, bytes (default 16 MB). */
  maxReplyBytes?: number | undefined;
  /** User-Agent of every request (default `panda-node-pilot`; the stub's Harvester names itself). */
  userAgent?: string | undefined;
}

/**
 * A request to any URL (storage, the panda cache, a transformation, a log
 * endpoint), through the same agents, CA and credentials as the server calls.
 */
export interface UrlRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE' | 'MKCOL';
  /** Absolute http(s) URL. */
  url: string;
  headers?: Record<string, string> | undefined;
  /** In memory, or streamed from a file of a known size (uploads). */
  body?: string | Buffer | { file: string; size: number } | undefined;
  /** Deadline for the whole exchange (ms); the transport's own when absent. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Send the pilot's token headers — only ever over https or to a loopback host. */
  withAuth?: boolean | undefined;
  /** Stream the reply body into this file instead of memory, refusing more than maxBytes. */
  toFile?: string | undefined;
  /** Largest reply body accepted (bytes); more aborts the exchange with a ReplyTooLargeError. Default 16 MB in memory. */
  maxBytes?: number | undefined;
}

export interface UrlReply extends HttpReply {
  /** Reply body bytes received (also when written to a file). */
  bytes: number;
}

/** Largest reply body the pilot holds in memory; a longer one is cut off and the request failed. */
export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** Tokens leave only over TLS or to this host: a plain-http third party never sees them. */
export function mayCarrySecrets(url: URL): boolean {
  return url.protocol === 'https:' || isLoopbackUrl(url);
}

interface Route {
  /** A promise: a proxy's agent comes from a module loaded on first use. */
  agent: Promise<HttpAgent>;
  verdict: ProxyVerdict;
}

interface ProxyAgents {
  HttpProxyAgent: typeof HttpProxyAgent;
  HttpsProxyAgent: typeof HttpsProxyAgent;
}
let proxyAgents: Promise<ProxyAgents> | undefined;
/**
 * The proxy agents (with agent-base and debug) are loaded with the first route through a proxy:
 * most nodes have none, and evaluating them cost every pilot start a few ms.
 */
function loadProxyAgents(): Promise<ProxyAgents> {
  proxyAgents ??= Promise.all([import('http-proxy-agent'), import('https-proxy-agent')]).then(([h, s]) => ({
    HttpProxyAgent: h.HttpProxyAgent,
    HttpsProxyAgent: s.HttpsProxyAgent,
  }));
  return proxyAgents;
}

const KEEP_ALIVE = { keepAlive: true, keepAliveMsecs: 4_000, maxSockets: 8 };

export class HttpTransport {
  /** One agent per origin: NO_PROXY may send storage direct and the server through squid. */
  private readonly routes = new Map<string, Route>();
  private tlsMaterial: TlsMaterial | undefined;
  private readonly maxReplyBytes: number;
  readonly baseUrl: string;
  /** How requests to the server leave: through which proxy, or direct and why. */
  readonly route: ProxyVerdict;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
    const base = new URL(this.baseUrl);
    // Bad CA files and proxy variables fail here, at start-up, not on the first job's update.
    if (base.protocol === 'https:') this.tls();
    this.route = this.routeFor(base).verdict;
  }

  /** CA and client certificate, read once. */
  private tls(): TlsMaterial {
    this.tlsMaterial ??= loadTlsMaterial({ caFile: this.options.caFile, caDir: this.options.caDir, proxyFile: this.options.proxyFile });
    return this.tlsMaterial;
  }

  // node:http rather than a client library: the pilot starts once per short job, and
  // loading a large HTTP client cost more start-up time than the rest of the pilot.
  private routeFor(url: URL): Route {
    const key = `${url.protocol}//${url.host}`;
    let route = this.routes.get(key);
    if (!route) {
      const secure = url.protocol === 'https:';
      const verdict = proxyFor(url, this.options.env ?? process.env);
      let agent: Promise<HttpAgent>;
      if (verdict.route === 'proxy') {
        // https: a CONNECT tunnel, TLS to the server inside it (the proxy sees no token);
        // http: absolute-URI requests, as squid expects them.
        const proxy = verdict.proxy;
        agent = loadProxyAgents().then((m) => (secure ? new m.HttpsProxyAgent(proxy, KEEP_ALIVE) : new m.HttpProxyAgent(proxy, KEEP_ALIVE)));
        // Awaited by each request (which reports a failure); this only keeps an unused route's from being unhandled.
        agent.catch(() => undefined);
      } else {
        agent = Promise.resolve(secure ? new HttpsAgent({ ...KEEP_ALIVE, ...this.tls() }) : new HttpAgent(KEEP_ALIVE));
      }
      route = { agent, verdict };
      this.routes.set(key, route);
    }
    return route;
  }

  /** "via proxy http://squid:3128 (HTTPS_PROXY)" or "direct", for messages. */
  describeRoute(verdict: ProxyVerdict = this.route): string {
    return verdict.route === 'proxy' ? `via proxy ${redactProxy(verdict.proxy)} (${verdict.variable})` : 'direct';
  }

  /** Request options for `url`: its agent, and the TLS material with each https request (a proxy tunnel upgrades with the request's options, not the agent's). */
  private async requestOptions(
    url: URL,
    method: string,
    headers: Record<string, string | number>,
    signal: AbortSignal,
  ): Promise<{ client: typeof httpRequest; options: RequestOptions & TlsMaterial; verdict: ProxyVerdict }> {
    const route = this.routeFor(url);
    const agent = await route.agent;
    const secure = url.protocol === 'https:';
    return {
      client: secure ? (httpsRequest as unknown as typeof httpRequest) : httpRequest,
      options: { method, headers, agent, signal, ...(secure ? this.tls() : {}) },
      verdict: route.verdict,
    };
  }

  /** The TransportError for a failed exchange: what, where, through which proxy. */
  private failure(err: unknown, what: string, verdict: ProxyVerdict, timedOut: boolean, timeoutMs: number): TransportError {
    const via = verdict.route === 'proxy' ? ` ${this.describeRoute(verdict)}` : '';
    if (timedOut) return new TransportError(`no reply to ${what}${via} within ${timeoutMs} ms`, 'timeout', { cause: err });
    const code = (err as { code?: string }).code ?? '';
    const message = (err as Error).message ?? '';
    const detail = message.includes(code) ? message || code : `${code} ${message}`.trim();
    return new TransportError(`${what}${via} failed: ${detail}`, /TIMEOUT/i.test(code) ? 'timeout' : 'network', { cause: err });
  }

  /**
   * Any method to any http(s) URL, with bodies streamed from and to files.
   * Failures are TransportError (no status) or ReplyTooLargeError; every
   * status is returned, the caller judges it.
   */
  async request(req: UrlRequest): Promise<UrlReply> {
    const url = new URL(req.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TransportError(`not an http(s) URL: ${req.url}`, 'network');
    const timeoutMs = req.timeoutMs ?? this.options.timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    // Not AbortSignal.any: on Node 20 each call left a WeakRef on req.signal (often the pilot's lifelong stop signal).
    const link = linkedSignal([req.signal, deadline]);
    const combined = link.signal;
    const headers: Record<string, string | number> = { 'User-Agent': 'panda-node-pilot' };
    if (req.withAuth && mayCarrySecrets(url)) Object.assign(headers, this.options.authHeaders?.());
    Object.assign(headers, req.headers);
    const body = req.body;
    if (body !== undefined) headers['Content-Length'] = typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.byteLength(body) : body.size;
    const maxBytes = req.maxBytes ?? this.maxReplyBytes;
    let setup;
    try {
      setup = await this.requestOptions(url, req.method, headers, combined);
    } catch (err) {
      link.unlink();
      throw new TransportError(`${req.method} ${req.url}: ${(err as Error).message}`, 'network', { cause: err });
    }
    const { client, options, verdict } = setup;
    try {
      return await new Promise<UrlReply>((resolve, reject) => {
        const onReply = (res: IncomingMessage) => {
          let bytes = 0;
          const chunks: Buffer[] = [];
          const sink = req.toFile && res.statusCode !== undefined && res.statusCode < 300 ? createWriteStream(req.toFile) : null;
          sink?.on('error', reject);
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (bytes > maxBytes) {
              res.destroy();
              reject(new ReplyTooLargeError(req.url, maxBytes));
              return;
            }
            // An error reply's text is kept in memory for the diagnostic, never written as the file.
            if (sink) {
              if (!sink.write(c)) {
                res.pause();
                sink.once('drain', () => res.resume());
              }
            } else chunks.push(c);
          });
          res.on('end', () => {
            const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), bytes });
            if (sink) sink.end(done);
            else done();
          });
          res.on('error', reject);
          res.on('aborted', () => reject(Object.assign(new Error('reply cut off'), { code: 'ECONNRESET' })));
        };
        const r = client(url, options, onReply);
        r.on('error', reject);
        if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) r.end(body);
        else {
          const source = createReadStream(body.file);
          source.on('error', (err) => {
            r.destroy(err);
            reject(err);
          });
          source.pipe(r);
        }
      });
    } catch (err) {
      if (err instanceof ReplyTooLargeError) throw err;
      if (req.signal?.aborted) throw err;
      throw this.failure(err, `${req.method} ${req.url}`, verdict, deadline.aborted, timeoutMs);
    } finally {
      link.unlink();
    }
  }

  /** A call to the PanDA server (path under baseUrl) with the token headers; the reply in memory, capped. */
  async send(
    method: 'GET' | 'POST',
    path: string,
    body: string | Buffer | undefined,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<HttpReply> {
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const link = linkedSignal([signal, deadline]);
    const combined = link.signal;
    const url = `${this.baseUrl}${path}`;
    const allHeaders: Record<string, string | number> = {
      'User-Agent': this.options.userAgent ?? 'panda-node-pilot',
      ...this.options.authHeaders?.(),
      ...headers,
    };
    if (body !== undefined) allHeaders['Content-Length'] = Buffer.byteLength(body);
    const { client, options, verdict } = await this.requestOptions(new URL(url), method, allHeaders, combined).catch((err: unknown) => {
      link.unlink();
      throw err;
    });
    const max = this.maxReplyBytes;
    try {
      return await new Promise<HttpReply>((resolve, reject) => {
        const req = client(url, options, (res) => {
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > max) {
            req.destroy(new ReplyTooLargeError(url, max));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // Cut as soon as it passes the cap: a runaway reply is never held in memory.
            if (size > max) {
              req.destroy(new ReplyTooLargeError(url, max));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
          res.on('aborted', () => reject(Object.assign(new Error('reply cut off'), { code: 'ECONNRESET' })));
        });
        req.on('error', reject);
        req.end(body);
      });
    } catch (err) {
      if (signal?.aborted && !deadline.aborted) throw err;
      // A server reply past the cap is a failed request like a reset: retried, never held.
      if (err instanceof ReplyTooLargeError) throw new TransportError(`${method} ${url}: ${err.message}`, 'network', { cause: err });
      throw this.failure(err, `${method} ${url}`, verdict, deadline.aborted && !signal?.aborted, this.options.timeoutMs);
    } finally {
      link.unlink();
    }
  }

  async close(): Promise<void> {
    for (const { agent } of this.routes.values()) (await agent.catch(() => null))?.destroy();
  }
}
