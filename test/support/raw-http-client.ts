/**
 * A cheap HTTP/1.1 client for load generation: a fixed number of keep-alive
 * TCP connections, requests written as one pre-built string, replies parsed
 * only as far as status, Content-Length and Connection. node:http's client
 * (Agent, ClientRequest, IncomingMessage, header objects) cost the generator
 * about as much CPU per request as the stub spent answering it — on a 2-core
 * machine shared with the stub that halved what could be measured.
 *
 * Same queueing as a keep-alive Agent with maxSockets: requests wait in one
 * FIFO for a free connection; latency counts from the moment a request gets
 * a connected socket. Loopback only (the caller's URL); every request has a
 * reply timeout, so nothing waits for ever.
 */
import { connect, type Socket } from 'node:net';

export interface RawReply {
  status: number;
  text: string;
  /** ms from a connected socket taking the request to the whole reply read. */
  ms: number;
  /** performance.now() when the request was made, and ms it waited for a connection. */
  made: number;
  queuedMs: number;
}

interface Pending {
  wire: string;
  made: number;
  resolve: (r: RawReply) => void;
  reject: (err: Error) => void;
}

interface Conn {
  socket: Socket;
  connected: boolean;
  current: Pending | null;
  assigned: number;
  queuedMs: number;
  buf: Buffer;
  timer: NodeJS.Timeout | null;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class RawHttpClient {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private queue: Pending[] = [];
  private head = 0;
  private readonly idle: Conn[] = [];
  private live = 0;
  private closed = false;

  constructor(
    url: string,
    private readonly maxConnections: number,
    private readonly onConnect?: (ms: number) => void,
    private readonly timeoutMs = 60_000,
  ) {
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new Error(`raw client speaks plain http only, not ${u.protocol}`);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
  }

  /** POSTs `body` to `path` with `headers` (lower-case names; Content-Length is added). */
  post(path: string, body: string, headers: Record<string, string>): Promise<RawReply> {
    let wire = `POST ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
    for (const k in headers) wire += `${k}: ${headers[k]}\r\n`;
    wire += `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise<RawReply>((resolve, reject) => {
      if (this.closed) return reject(new Error('client closed'));
      this.queue.push({ wire, made: performance.now(), resolve, reject });
      this.pump();
    });
  }

  /** Closes every connection; requests still queued fail. */
  destroy(): void {
    this.closed = true;
    for (const c of this.idle) c.socket.destroy();
    this.idle.length = 0;
    for (let i = this.head; i < this.queue.length; i++) (this.queue[i] as Pending).reject(new Error('client closed'));
    this.queue = [];
    this.head = 0;
  }

  private pump(): void {
    while (this.head < this.queue.length) {
      const conn = this.idle.pop() ?? (this.live < this.maxConnections ? this.open() : undefined);
      if (!conn) return;
      const p = this.queue[this.head] as Pending;
      this.queue[this.head++] = undefined as unknown as Pending;
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.assign(conn, p);
    }
  }

  private assign(conn: Conn, p: Pending): void {
    conn.current = p;
    conn.assigned = performance.now();
    conn.queuedMs = conn.assigned - p.made;
    conn.timer = setTimeout(() => conn.socket.destroy(new Error('reply timeout')), this.timeoutMs);
    // Before the connection is up net buffers the write; latency then counts from the connect (as the Agent-based client did).
    conn.socket.write(p.wire);
  }

  private open(): Conn {
    this.live += 1;
    const started = performance.now();
    const socket = connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    const conn: Conn = { socket, connected: false, current: null, assigned: 0, queuedMs: 0, buf: Buffer.alloc(0), timer: null };
    socket.once('connect', () => {
      conn.connected = true;
      const now = performance.now();
      this.onConnect?.(now - started);
      if (conn.current) conn.assigned = now;
    });
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', () => {
      // 'close' follows and fails the request in flight.
    });
    socket.once('close', () => {
      this.live -= 1;
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      if (conn.timer) clearTimeout(conn.timer);
      const p = conn.current;
      conn.current = null;
      if (p) p.reject(new Error(conn.connected ? 'connection closed before the reply' : 'connection refused or reset'));
      if (!this.closed) this.pump();
    });
    return conn;
  }

  private onData(conn: Conn, chunk: Buffer): void {
    conn.buf = conn.buf.length === 0 ? chunk : Buffer.concat([conn.buf, chunk]);
    for (;;) {
      const p = conn.current;
      if (!p) return;
      const end = conn.buf.indexOf(HEADER_END);
      if (end < 0) return;
      const head = conn.buf.toString('latin1', 0, end);
      const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!lengthMatch) {
        // Every stub reply has a Content-Length; anything else is not a reply this client can frame.
        conn.socket.destroy(new Error(`reply without content-length: ${head.slice(0, 80)}`));
        return;
      }
      const bodyStart = end + 4;
      const bodyEnd = bodyStart + Number(lengthMatch[1]);
      if (conn.buf.length < bodyEnd) return;
      const reply: RawReply = {
        status: Number(head.slice(9, 12)),
        text: conn.buf.toString('utf8', bodyStart, bodyEnd),
        ms: performance.now() - conn.assigned,
        made: p.made,
        queuedMs: conn.queuedMs,
      };
      conn.buf = conn.buf.subarray(bodyEnd);
      conn.current = null;
      if (conn.timer) clearTimeout(conn.timer);
      conn.timer = null;
      const close = /\r\nconnection:\s*close/i.test(head);
      p.resolve(reply);
      if (close) {
        conn.socket.end();
        return;
      }
      if (this.closed) {
        conn.socket.destroy();
        return;
      }
      const next = this.head < this.queue.length ? (this.queue[this.head] as Pending) : undefined;
      if (next) {
        this.queue[this.head++] = undefined as unknown as Pending;
        this.assign(conn, next);
      } else {
        this.idle.push(conn);
        return;
      }
    }
  }
}

/** Sends `requests` identical POSTs over `concurrency` connections; resolves with requests/s. */
export async function hammer(url: string, requests: number, concurrency: number, path: string, body: string, headers: Record<string, string>): Promise<number> {
  const client = new RawHttpClient(url, concurrency);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) await client.post(path, body, headers);
    }),
  );
  const rate = requests / ((performance.now() - started) / 1000);
  client.destroy();
  return rate;
}
