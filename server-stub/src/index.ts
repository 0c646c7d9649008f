/**
 * The local PanDA-compatible server stub, embeddable: `startStub` opens the
 * database under `dataDir`, serves both pilot dialects and the management
 * API, and returns a handle whose `close()` stops it cleanly.
 */
import { legacyRoutes } from './api/legacy-pilot.js';
import { managementRoutes } from './api/management.js';
import { monitorRoutes } from './api/monitor.js';
import { queueDataRoutes } from './api/queue-data.js';
import { cacheRoutes, storageRoutes, storageListRoutes } from './api/storage.js';
import { transformationRoutes } from './api/transformations.js';
import { liveLogRoutes } from './api/live-logs.js';
import { LiveLogStore } from './store/live-log-store.js';
import { FileStore } from './store/file-store.js';
import path from 'node:path';
import { v1Routes } from './api/v1-pilot.js';
import { StubEngine, type EngineOptions } from './engine/index.js';
import { startHttpServer, type HttpLimits } from './http/server.js';
import { runWatchdog } from './engine/watchdog.js';
import { RequestCounter } from './http/request-counter.js';
import { silentLogger, type Logger } from './log.js';
import { REAL_SERVER_LIMITS, type WatchdogLimits } from './model/watchdog-rules.js';
import { openStores } from './store/index.js';
import type { ServerQuirk } from './model/server-quirks.js';
import { guardFileWrites, guardManagement, requireToken, writeManagementToken, type TokenAuthSettings } from './http/auth.js';
import { oidcTokenRoutes, type TokenIssuerSettings } from './api/oidc-token.js';

export { StubEngine } from './engine/index.js';
export { IMPLEMENTED_LEGACY_METHODS } from './api/legacy-pilot.js';
export type { EngineOptions, JobDetails, Summary } from './engine/index.js';
export { parseTaskFile, type SubmissionSpec, type TaskSpec, type JobSpec } from './model/task-file.js';
export type { JobRecord, TaskRecord, UpdateRecord, JobTransition } from './model/records.js';
export { ANY_SITE, brokerageRejection, candidateSites, memoryFits, queueAccepts, queueRejection, queuesFor, type BrokerJob } from './model/brokerage.js';
export { REAL_SERVER_LIMITS, type WatchdogLimits } from './model/watchdog-rules.js';
export type { TokenIssuerSettings } from './api/oidc-token.js';
export { MANAGEMENT_TOKEN_FILE, readManagementToken, MESSAGE_SSL, LEGACY_SC_PERMS, type TokenAuthSettings } from './http/auth.js';
export { DEFAULT_HTTP_LIMITS, type HttpLimits } from './http/server.js';
export { SERVER_QUIRKS, parseQuirks, type ServerQuirk } from './model/server-quirks.js';

/** Options of `startStub`. */
export interface StubOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Directory of the SQLite database; created if missing. */
  dataDir: string;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Logger; default silent. */
  log?: Logger;
  /** Engine hooks (order check, resource types, site configuration, clock). */
  engine?: EngineOptions;
  /** Largest file `/storage/` and `/cache/` accept, bytes; default 2 GiB. */
  maxFileBytes?: number | undefined;
  /** Runs the watchdog (sent → 102, lost heartbeat → 100) with these limits, sweeping every `intervalSec`. */
  watchdog?: { limits: WatchdogLimits; intervalSec: number } | undefined;
  /** HTTP limits (body sizes, concurrent requests, timeouts); default `DEFAULT_HTTP_LIMITS`. */
  http?: Partial<HttpLimits>;
  /** Real-server bugs to reproduce (docs/known-server-behaviours.md); none by default. */
  quirks?: ReadonlySet<ServerQuirk> | undefined;
  /** Serve https with this certificate and key (PEM contents). */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Verify pilots' bearer tokens like the real server (`--auth token`); absent: no auth. */
  tokenAuth?: TokenAuthSettings | undefined;
  /**
   * Guard the management API's writes (JSON only, Host check, and a token written to
   * the data dir unless `open`). Absent: unguarded, for tests that embed the stub;
   * `panda-stub serve` always guards.
   */
  management?: { open: boolean } | undefined;
  /** Serve an OIDC token endpoint (`POST /oidc/token`, refresh_token grant) minting tokens with this key. */
  tokenIssuer?: TokenIssuerSettings | undefined;
}

/** A running stub. */
export interface RunningStub {
  url: string;
  port: number;
  /** The bearer token management writes need (also in `<dataDir>/stub-token`); null when open or unguarded. */
  managementToken: string | null;
  /** Stops serving and closes the database; safe to call twice. */
  close(): Promise<void>;
}

/** Starts the stub. */
export async function startStub(options: StubOptions): Promise<RunningStub> {
  const log = options.log ?? silentLogger();
  const stores = openStores(options.dataDir);
  const engine = new StubEngine(stores, options.engine);
  const counter = new RequestCounter();
  const storage = new FileStore(path.join(options.dataDir, 'storage'), options.maxFileBytes ?? 2 * 1024 ** 3);
  const cache = new FileStore(path.join(options.dataDir, 'cache'), options.maxFileBytes ?? 2 * 1024 ** 3);
  const auth = options.tokenAuth;
  const managementToken = options.management && !options.management.open ? writeManagementToken(options.dataDir) : null;
  let hosts: string[] = [];
  const management = managementRoutes(engine, counter);
  const routes = [
    ...(auth ? requireToken(legacyRoutes(engine, options.quirks), 'legacy', auth) : legacyRoutes(engine, options.quirks)),
    ...(auth ? requireToken(v1Routes(engine, options.quirks), 'v1', auth) : v1Routes(engine, options.quirks)),
    ...(options.management ? guardManagement(management, { token: managementToken, hosts: () => hosts }) : management),
    ...queueDataRoutes(engine),
    ...(options.tokenIssuer ? oidcTokenRoutes(options.tokenIssuer) : []),
    ...storageListRoutes(storage),
    ...transformationRoutes(),
    ...monitorRoutes(engine, storage),
    ...liveLogRoutes(new LiveLogStore()),
  ];
  let server;
  try {
    server = await startHttpServer({
      routes,
      port: options.port,
      host: options.host ?? '127.0.0.1',
      log,
      onRequest: (p, agent) => counter.count(p, agent),
      durable: () => stores.durable(),
      streamRoutes: guardFileWrites([...storageRoutes(storage), ...cacheRoutes(cache)], { token: managementToken, pilotTokens: auth }),
      tls: options.tls,
      ...(options.http ? { limits: options.http } : {}),
    });
  } catch (err) {
    stores.close();
    throw err;
  }
  const listenHost = (options.host ?? '127.0.0.1').toLowerCase();
  hosts = [listenHost.includes(':') ? `[${listenHost}]` : listenHost, '127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${server.port}`);
  log.info(
    {
      url: server.url,
      dataDir: options.dataDir,
      tokenAuth: Boolean(auth),
      management: options.management ? (managementToken ? 'token' : 'open') : 'unguarded',
    },
    'panda-stub listening',
  );
  const stopWatchdog = new AbortController();
  const watchdogLimits = options.watchdog?.limits ?? REAL_SERVER_LIMITS;
  const watchdog = options.watchdog
    ? runWatchdog(() => engine.watchdogSweep(watchdogLimits), { intervalSec: options.watchdog.intervalSec, signal: stopWatchdog.signal, log })
    : Promise.resolve();
  let closing: Promise<void> | undefined;
  const running = server;
  return {
    url: running.url,
    port: running.port,
    managementToken,
    close: () =>
      (closing ??= (async () => {
        stopWatchdog.abort();
        await watchdog;
        await running.close();
        stores.close();
        log.info('panda-stub stopped');
      })()),
  };
}
