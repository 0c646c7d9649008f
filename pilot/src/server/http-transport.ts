/**
 * The one place the pilot talks HTTP. Every call has a deadline, and the
 * failure says whether trying again could help (see retry-policy.ts).
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';

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

/** A transport-level failure: no HTTP status came back (timeout, reset, refused). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'network',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class HttpTransport {
  private readonly dispatcher: Dispatcher;
  readonly baseUrl: string;

  constructor(private readonly options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const tls: Record<string, string | Buffer> = {};
    if (options.caFile) tls.ca = readFileSync(options.caFile);
    if (options.proxyFile) {
      const pem = readFileSync(options.proxyFile);
      tls.cert = pem;
      tls.key = pem;
    }
    this.dispatcher = new Agent({
      connect: { ...tls, timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4_000,
    });
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
    try {
      const res = await request(`${this.baseUrl}${path}`, {
        method,
        body,
        headers: { 'User-Agent': 'panda-node-pilot', ...this.options.authHeaders?.(), ...headers },
        dispatcher: this.dispatcher,
        signal: combined,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, body: text };
    } catch (err) {
      if (deadline.aborted && !signal?.aborted) {
        throw new TransportError(`no reply from ${this.baseUrl}${path} within ${this.options.timeoutMs} ms`, 'timeout', { cause: err });
      }
      if (signal?.aborted) throw err;
      const code = (err as { code?: string }).code ?? '';
      const kind = /TIMEOUT/i.test(code) ? 'timeout' : 'network';
      throw new TransportError(`${method} ${this.baseUrl}${path} failed: ${code || (err as Error).message}`, kind, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
