/**
 * The one place the pilot talks HTTP. Every call has a deadline, and the
 * failure says whether trying again could help (see errors/transport-errors.ts).
 */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { TransportError } from '../errors/index.js';

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
  /** CA bundle file or directory handling is left to Node when absent. */
  caFile?: string | undefined;
  /** X.509 proxy (cert + key in one PEM file), sent as the client certificate. */
  proxyFile?: string | undefined;
  /** Returns `Authorization`/`Origin` headers; called per request so a rewritten token file is picked up. */
  authHeaders?: (() => Record<string, string>) | undefined;
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

/** The reply body was larger than the caller allows (a download cap, a runaway reply). */
export class ReplyTooLargeError extends Error {
  override readonly name = 'ReplyTooLargeError';
  constructor(
    readonly url: string,
    readonly maxBytes: number,
  ) {
    super(`reply from ${url} is larger than ${maxBytes} bytes`);
  }
}

const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** Tokens leave only over TLS or to this host: a plain-http third party never sees them. */
export function mayCarrySecrets(url: URL): boolean {
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.startsWith('127.');
}

export class HttpTransport {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly client: typeof httpRequest;
  /** Agents for URLs of the other scheme than baseUrl's (made on first use). */
  private readonly otherAgents = new Map<string, HttpAgent | HttpsAgent>();
  readonly baseUrl: string;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const secure = new URL(this.baseUrl).protocol === 'https:';
    // node:http rather than a client library: the pilot starts once per short job, and
    // loading a large HTTP client cost more start-up time than the rest of the pilot.
    this.agent = this.makeAgent(secure);
    this.client = secure ? (httpsRequest as unknown as typeof httpRequest) : httpRequest;
  }

  private makeAgent(secure: boolean): HttpAgent | HttpsAgent {
    if (!secure) return new HttpAgent({ keepAlive: true, keepAliveMsecs: 4_000, maxSockets: 8 });
    const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    if (this.options.caFile) tls.ca = readFileSync(this.options.caFile);
    if (this.options.proxyFile) {
      const pem = readFileSync(this.options.proxyFile);
      tls.cert = pem;
      tls.key = pem;
    }
    return new HttpsAgent({ keepAlive: true, keepAliveMsecs: 4_000, maxSockets: 8, ...tls });
  }

  private agentFor(url: URL): HttpAgent | HttpsAgent {
    if (url.protocol === new URL(this.baseUrl).protocol) return this.agent;
    let agent = this.otherAgents.get(url.protocol);
    if (!agent) {
      agent = this.makeAgent(url.protocol === 'https:');
      this.otherAgents.set(url.protocol, agent);
    }
    return agent;
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
    const combined = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline;
    const headers: Record<string, string | number> = { 'User-Agent': 'panda-node-pilot' };
    if (req.withAuth && mayCarrySecrets(url)) Object.assign(headers, this.options.authHeaders?.());
    Object.assign(headers, req.headers);
    const body = req.body;
    if (body !== undefined) headers['Content-Length'] = typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.byteLength(body) : body.size;
    const maxBytes = req.maxBytes ?? DEFAULT_MAX_REPLY_BYTES;
    const client = url.protocol === 'https:' ? (httpsRequest as unknown as typeof httpRequest) : httpRequest;
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
        const r = client(url, { method: req.method, headers, agent: this.agentFor(url), signal: combined }, onReply);
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
      if (deadline.aborted && !req.signal?.aborted) {
        throw new TransportError(`no reply from ${req.url} within ${timeoutMs} ms`, 'timeout', { cause: err });
      }
      if (req.signal?.aborted) throw err;
      const code = (err as { code?: string }).code ?? '';
      const kind = /TIMEOUT/i.test(code) ? 'timeout' : 'network';
      throw new TransportError(`${req.method} ${req.url} failed: ${code || (err as Error).message}`, kind, { cause: err });
    }
  }

  async send(
    method: 'GET' | 'POST',
    path: string,
    body: string | Buffer | undefined,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<HttpReply> {
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const url = `${this.baseUrl}${path}`;
    const allHeaders: Record<string, string | number> = { 'User-Agent': 'panda-node-pilot', ...this.options.authHeaders?.(), ...headers };
    if (body !== undefined) allHeaders['Content-Length'] = Buffer.byteLength(body);
    try {
      return await new Promise<HttpReply>((resolve, reject) => {
        const req = this.client(url, { method, headers: allHeaders, agent: this.agent, signal: combined }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
          res.on('aborted', () => reject(Object.assign(new Error('reply cut off'), { code: 'ECONNRESET' })));
        });
        req.on('error', reject);
        req.end(body);
      });
    } catch (err) {
      if (deadline.aborted && !signal?.aborted) {
        throw new TransportError(`no reply from ${url} within ${this.options.timeoutMs} ms`, 'timeout', { cause: err });
      }
      if (signal?.aborted) throw err;
      const code = (err as { code?: string }).code ?? '';
      const kind = /TIMEOUT/i.test(code) ? 'timeout' : 'network';
      throw new TransportError(`${method} ${url} failed: ${code || (err as Error).message}`, kind, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.agent.destroy();
    for (const agent of this.otherAgents.values()) agent.destroy();
  }
}
