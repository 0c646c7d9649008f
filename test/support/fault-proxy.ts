/**
 * A fault-injecting HTTP proxy for tests, on loopback between pilots and the
 * stub. Per request, with a seeded RNG, it may: drop (close without reply,
 * nothing forwarded), reset (TCP RST, nothing forwarded), answer 500/503/429
 * itself, lose the reply (forward, then close instead of answering), or
 * delay (hold the request past the client's timeout, then forward it anyway:
 * it lands after the pilot gave up on it). In server-down windows it refuses
 * connections. Bounded: faults only within `activeMs` of the start and at
 * most `maxFaults`; after that it forwards everything untouched.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind = 'drop' | 'reset' | 'http500' | 'http503' | 'http429' | 'lost-reply' | 'delay' | 'down';
type RequestFault = Exclude<FaultKind, 'down'>;

/** Faults that never let the request reach the server (safe where a late arrival would lose work, e.g. getJob). */
const NOT_FORWARDED: readonly RequestFault[] = ['drop', 'reset', 'http500', 'http503', 'http429'];

export interface FaultProxyOptions {
  /** The server, e.g. http://127.0.0.1:PORT. */
  target: string;
  seed: number;
  /** Chance that a faultable request gets a fault. */
  rate: number;
  /** Faults happen only during this long after start (ms)… */
  activeMs: number;
  /**
   * …or longer, until this many were injected (at most 3 × activeMs): on a loaded machine the
   * clients make fewer requests in the same time, and a fault test with too few faults proves nothing.
   */
  minFaults?: number;
  maxFaults: number;
  /** How long a delayed request is held before it is forwarded (make it longer than the client timeout). */
  delayMs: number;
  /** Requests that may get any fault (default: job updates, single and bulk, both dialects). */
  faultPath?: RegExp;
  /** Requests that may get only faults that do not forward (default: getJob / acquire_jobs). */
  safeFaultPath?: RegExp;
  /** Relative weights of the request faults (default: all 1). */
  weights?: Partial<Record<RequestFault, number>>;
  /** Windows (ms after start) during which the proxy refuses connections. */
  downWindows?: readonly { atMs: number; forMs: number }[];
}

export interface FaultProxy {
  url: string;
  /** Faults injected, by kind (`down`: windows entered). */
  readonly counts: Record<FaultKind, number>;
  readonly stats: { requests: number; forwarded: number; late: number };
  /** Resolves when no delayed request is still waiting to be forwarded. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** mulberry32: small, seedable, good enough to spread faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UPDATE_PATHS = /^\/(server\/panda\/(updateJob|updateJobsInBulk)|api\/(v1|latest)\/pilot\/(update_job|update_jobs_bulk))$/;
const GETJOB_PATHS = /^\/(server\/panda\/getJob|api\/(v1|latest)\/pilot\/acquire_jobs)$/;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(opts.seed);
  const target = new URL(opts.target);
  const agent = new Agent({ keepAlive: true });
  const counts: Record<FaultKind, number> = { drop: 0, reset: 0, http500: 0, http503: 0, http429: 0, 'lost-reply': 0, delay: 0, down: 0 };
  const stats = { requests: 0, forwarded: 0, late: 0 };
  const faultPath = opts.faultPath ?? UPDATE_PATHS;
  const safePath = opts.safeFaultPath ?? GETJOB_PATHS;
  const weights: Record<RequestFault, number> = { drop: 1, reset: 1, http500: 1, http503: 1, http429: 1, 'lost-reply': 1, delay: 1, ...opts.weights };
  const started = Date.now();
  const sockets = new Map<Socket, { busy: boolean }>();
  const pending = new Set<Promise<unknown>>();
  const timers: NodeJS.Timeout[] = [];
  let down = false;
  let stopped = false;
  let injected = 0;

  const pick = (allowed: readonly RequestFault[]): RequestFault => {
    const total = allowed.reduce((s, k) => s + weights[k], 0);
    let r = random() * total;
    for (const k of allowed) if ((r -= weights[k]) < 0) return k;
    return allowed[allowed.length - 1]!;
  };

  const choose = (path: string): RequestFault | null => {
    const elapsed = Date.now() - started;
    const windowOver = elapsed > opts.activeMs && (injected >= (opts.minFaults ?? 0) || elapsed > 3 * opts.activeMs);
    if (windowOver || injected >= opts.maxFaults) return null;
    const any = faultPath.test(path);
    if (!any && !safePath.test(path)) return null;
    if (random() >= opts.rate) return null;
    const allowed = (any ? Object.keys(weights) : NOT_FORWARDED) as RequestFault[];
    const kind = pick(allowed.filter((k) => weights[k] > 0));
    injected += 1;
    counts[kind] += 1;
    return kind;
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host };
      delete headers.connection;
      const out = httpRequest(
        {
          hostname: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...headers, 'content-length': String(body.length) },
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            stats.forwarded += 1;
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && k !== 'connection' && k !== 'keep-alive') h[k] = v;
            resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const state = sockets.get(socket);
    if (state) state.busy = true;
    stats.requests += 1;
    const body = await readBody(req);
    if (down) return void socket.destroy();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const fault = choose(path);
    try {
      switch (fault) {
        case 'drop':
          return void socket.destroy();
        case 'reset':
          return void socket.resetAndDestroy();
        case 'http500':
        case 'http503':
        case 'http429': {
          const status = Number(fault.slice(4));
          res.writeHead(status, { 'content-type': 'text/plain', ...(status === 429 ? { 'retry-after': '1' } : {}) });
          return void res.end(`injected ${status}\n`);
        }
        case 'delay': {
          // The client gives up first; the request still reaches the server, late.
          const late = new Promise((r) => setTimeout(r, opts.delayMs))
            .then(() => forward(req, body))
            .then(() => (stats.late += 1))
            .catch(() => undefined)
            .finally(() => socket.destroy());
          pending.add(late);
          void late.finally(() => pending.delete(late));
          return;
        }
        default: {
          const reply = await forward(req, body);
          if (fault === 'lost-reply') return void socket.destroy();
          // Going down meanwhile: this answer still goes out whole, then the connection closes.
          res.writeHead(reply.status, down ? { ...reply.headers, connection: 'close' } : reply.headers);
          res.end(reply.body);
        }
      }
    } catch {
      socket.destroy();
    } finally {
      if (state) state.busy = false;
      if (down && !res.writableEnded) socket.destroy();
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 4_000;
  server.on('connection', (s: Socket) => {
    sockets.set(s, { busy: false });
    s.on('close', () => sockets.delete(s));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;

  for (const w of opts.downWindows ?? []) {
    if (w.atMs > opts.activeMs) continue;
    timers.push(
      setTimeout(() => {
        if (stopped) return;
        down = true;
        counts.down += 1;
        server.close();
        // Idle connections go now; a request being answered finishes, then its connection goes too.
        for (const [s, st] of sockets) if (!st.busy) s.destroy();
        timers.push(
          setTimeout(() => {
            down = false;
            if (!stopped) void listen(port).catch(() => undefined);
          }, w.forMs),
        );
      }, w.atMs),
    );
  }

  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    stats,
    settled: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    stop: async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled([...pending]);
      for (const s of sockets.keys()) s.destroy();
      await new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
      agent.destroy();
    },
  };
}
