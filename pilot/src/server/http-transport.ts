/**
 * The one place the pilot talks HTTP. Every call has a deadline, and the
 * failure says whether trying again could help (see errors/transport-errors.ts).
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
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

export class HttpTransport {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly client: typeof httpRequest;
  readonly baseUrl: string;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const secure = new URL(this.baseUrl).protocol === 'https:';
    // node:http rather than a client library: the pilot starts once per short job, and
    // loading a large HTTP client cost more start-up time than the rest of the pilot.
    if (secure) {
      const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
      if (options.caFile) tls.ca = readFileSync(options.caFile);
      if (options.proxyFile) {
        const pem = readFileSync(options.proxyFile);
        tls.cert = pem;
        tls.key = pem;
      }
      this.agent = new HttpsAgent({ keepAlive: true, keepAliveMsecs: 4_000, maxSockets: 8, ...tls });
      this.client = httpsRequest as unknown as typeof httpRequest;
    } else {
      this.agent = new HttpAgent({ keepAlive: true, keepAliveMsecs: 4_000, maxSockets: 8 });
      this.client = httpRequest;
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
  }
}
