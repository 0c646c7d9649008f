#!/usr/bin/env node
// Added latency of a pilot request through a site Squid, against the same request direct:
// the real stub (dist/panda-stub.mjs, https with a throw-away CA, loopback only) and Debian's
// squid started here; the pilot's own HttpTransport (keep-alive, as in a pilot) sends N
// legacy getJob calls (no job for the site: the server's "no jobs" answer) direct, through
// squid as absolute-URI http, and through a CONNECT tunnel for https. Prints median, p90 and
// max per route and the median's ratio to direct over the same scheme. Bounded: N calls
// per route (--n, default 300). Needs `node build.mjs` first (npm run bench does it).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { importTs, startStub as serve } from './support.mjs';

const { values } = parseArgs({ options: { n: { type: 'string', default: '300' } } });
const n = Number(values.n);

if (spawnSync('squid', ['-v']).status !== 0 && spawnSync('/usr/sbin/squid', ['-v']).status !== 0) {
  console.log('squid not installed: skipped (.ci/run installs it)');
  process.exit(0);
}
const { HttpTransport, startSquid, makeTestPki } = await importTs('site-proxy', {
  contents: `export { HttpTransport } from './pilot/src/server/index.js';
export { startSquid } from './test/support/squid.js';
export { makeTestPki } from './test/support/test-pki.js';`,
});

const scratch = mkdtempSync(path.join(tmpdir(), 'bench-proxy-'));
const pki = makeTestPki(path.join(scratch, 'pki'));

const startStub = (name, tls) =>
  serve(path.join(scratch, name), ['--site-config', 'none', ...(tls ? ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey] : [])]);

/**
 * The routes' calls interleaved (one call of each route per round), so load on the
 * shared machine falls on all routes alike; after a warm-up of each (connections, JIT).
 */
async function measure(routes) {
  const body = 'siteName=BENCH_NONE&prodSourceLabel=managed';
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const clients = routes.map(({ url, env }) => new HttpTransport({ baseUrl: url, timeoutMs: 30_000, caFile: pki.caFile, env }));
  const call = async (http, what) => {
    const r = await http.send('POST', '/server/panda/getJob', body, headers).catch((e) => {
      throw new Error(`${what}: ${e.message}`);
    });
    if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status}`);
  };
  for (const [k, http] of clients.entries()) for (let i = 0; i < 20; i++) await call(http, `warm-up ${routes[k].name}`);
  const times = clients.map(() => []);
  for (let i = 0; i < n; i++) {
    for (const [k, http] of clients.entries()) {
      const t0 = performance.now();
      await call(http, `${routes[k].name} call ${i}`);
      times[k].push(performance.now() - t0);
    }
  }
  await Promise.all(clients.map((c) => c.close()));
  return times.map((t) => {
    t.sort((a, b) => a - b);
    const q = (p) => t[Math.min(t.length - 1, Math.floor(p * t.length))];
    return { median: q(0.5), p90: q(0.9), max: t.at(-1) };
  });
}

mkdirSync(path.join(scratch, 'squid'));
chmodSync(scratch, 0o755); // squid drops to its own user: it must reach its directory
const squid = await startSquid(path.join(scratch, 'squid'));
const plain = await startStub('plain', false);
const secure = await startStub('secure', true);
try {
  const [directHttp, viaHttp, directHttps, viaHttps] = await measure([
    { name: 'http direct', url: plain.url, env: {} },
    { name: 'http via squid', url: plain.url, env: { HTTP_PROXY: squid.url } },
    { name: 'https direct', url: secure.url, env: {} },
    { name: 'https via squid', url: secure.url, env: { HTTPS_PROXY: squid.url } },
  ]);
  const rows = [
    ['http direct', directHttp, 1],
    ['http via squid', viaHttp, viaHttp.median / directHttp.median],
    ['https direct', directHttps, 1],
    ['https via squid (CONNECT)', viaHttps, viaHttps.median / directHttps.median],
  ];
  console.log(`${n} legacy getJob calls per route, keep-alive, loopback (squid ${squid.url})`);
  console.log('| route | median ms | p90 ms | max ms | median vs direct | added median ms |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, m, ratio] of rows) {
    const base = name.startsWith('https') ? directHttps : directHttp;
    console.log(
      `| ${name} | ${m.median.toFixed(2)} | ${m.p90.toFixed(2)} | ${m.max.toFixed(1)} | ${ratio.toFixed(2)}× | ${(m.median - base.median).toFixed(2)} |`,
    );
  }
  // Squid logs a tunnel when it closes: give it a moment after the clients hung up.
  for (let t = 0; t < 50 && !squid.accessLog().includes('CONNECT'); t++) await new Promise((r) => setTimeout(r, 100));
  const log = squid.accessLog();
  if (!log.includes('CONNECT') || !log.includes('/server/panda/getJob')) throw new Error('squid did not see the proxied calls');
} catch (err) {
  console.error(
    squid
      .accessLog()
      .split('\n')
      .filter((l) => !l.includes('TCP_MISS/200') && !l.includes('TCP_TUNNEL/200'))
      .join('\n'),
  );
  throw err;
} finally {
  await squid.stop();
  plain.child.kill('SIGTERM');
  secure.child.kill('SIGTERM');
  rmSync(scratch, { recursive: true, force: true });
}
