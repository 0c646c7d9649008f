/**
 * The bundled pilot on a site network: through a real Squid (plain http as
 * absolute-URI requests, https as a CONNECT tunnel with a test CA), NO_PROXY
 * honoured, a proxy that is down reported clearly and retried, https
 * verified against --cacert and a hashed --capath, a token refused over
 * plain http, and a payload that does not see the pilot's credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import path from 'node:path';
import { startStub, type RunningStub } from '../../server-stub/src/index.js';
import { runPilotProcess, scratchDir } from '../support/processes.js';
import { squidMissing, startSquid, type RunningSquid } from '../support/squid.js';
import { makeClientProxy, makeTestPki, type TestPki } from '../support/test-pki.js';

const noSquid = squidMissing();
if (noSquid) process.stderr.write(`site-proxy tests skipped: ${noSquid}\n`);

/** The environment of a pilot on a worker node: no proxy variables but those given. */
function nodeEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/_proxy$/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** The test CA, trusted by the test's own management calls to an https stub. */
let testCa: Buffer | undefined;

/** JSON to the stub's management API (over https with the test CA). */
function stubCall(stub: RunningStub, method: 'GET' | 'POST', p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = data === undefined ? {} : { 'content-type': 'application/json' };
  const token = (stub as { managementToken?: string }).managementToken;
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const send = stub.url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(`${stub.url}${p}`, { method, headers, ca: testCa }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function submit(stub: RunningStub, site: string, command: string): Promise<number> {
  const r = await stubCall(stub, 'POST', '/stub/tasks', { name: `net_${site}`, site, maxAttempts: 1, jobs: [{ name: 'j', command }] });
  if (r.status !== 201) throw new Error(`submit: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.tasks[0].pandaIds[0] as number;
}

async function jobState(stub: RunningStub, id: number): Promise<string> {
  return (await stubCall(stub, 'GET', `/stub/jobs/${id}`)).json.job.state as string;
}

/** Pilot flags for one short job; `extra` flags replace the defaults of the same name. */
function pilotArgs(site: string, url: string, extra: string[] = []): string[] {
  const defaults: [string, string | null][] = [
    ['--getjob-wait', '0'],
    ['--heartbeat', '1'],
    ['--max-jobs', '1'],
  ];
  const base = ['-q', site, '--url', url, '-a', scratchDir('net-pilot'), '--quiet'];
  for (const [flag, value] of defaults) if (!extra.includes(flag)) base.push(flag, value!);
  return [...base, ...extra];
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(noSquid !== null)('pilot through a site proxy (real squid)', () => {
  let squid: RunningSquid;
  let plain: RunningStub;
  let secure: RunningStub;
  let pki: TestPki;

  beforeAll(async () => {
    const dir = scratchDir('squid');
    pki = makeTestPki(path.join(scratchDir('pki'), 'pki'));
    testCa = readFileSync(pki.caFile);
    squid = await startSquid(dir);
    plain = await startStub({ port: 0, dataDir: scratchDir('net-stub') });
    secure = await startStub({ port: 0, dataDir: scratchDir('net-stub-tls'), tls: { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) } });
  }, 60_000);
  afterAll(async () => {
    await squid?.stop();
    await plain?.close();
    await secure?.close();
  });

  it('http: every request goes to squid as an absolute URI and the job finishes', async () => {
    const id = await submit(plain, 'NET_HTTP', 'echo via squid');
    const run = await runPilotProcess(pilotArgs('NET_HTTP', plain.url), { env: nodeEnv({ HTTP_PROXY: squid.url }), timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(await jobState(plain, id)).toBe('finished');
    const log = squid.accessLog();
    expect(log).toMatch(new RegExp(`POST ${plain.url}/(server/panda/getJob|api/v1/pilot/acquire_jobs) `));
    expect(log).toMatch(new RegExp(`POST ${plain.url}/(server/panda/updateJob|api/v1/pilot/update_job) `));
  });

  it('https: a CONNECT tunnel through squid, the server verified against the test CA', async () => {
    const id = await submit(secure, 'NET_HTTPS', 'echo via tunnel');
    const run = await runPilotProcess(pilotArgs('NET_HTTPS', secure.url, ['--cacert', pki.caFile]), {
      env: nodeEnv({ https_proxy: squid.url }),
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await jobState(secure, id)).toBe('finished');
    // Squid sees only the tunnel, never a path (or a token) inside it.
    expect(squid.accessLog()).toMatch(new RegExp(`CONNECT 127\\.0\\.0\\.1:${secure.port}`));
    expect(squid.accessLog()).not.toMatch(new RegExp(`https://127\\.0\\.0\\.1:${secure.port}/server`));
  });

  it('NO_PROXY: an exempted server is reached directly', async () => {
    const before = squid.accessLog().length;
    const id = await submit(plain, 'NET_NOPROXY', 'echo direct');
    const run = await runPilotProcess(pilotArgs('NET_NOPROXY', plain.url), {
      env: nodeEnv({ HTTP_PROXY: squid.url, NO_PROXY: 'example.org,127.0.0.0/8' }),
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await jobState(plain, id)).toBe('finished');
    expect(squid.accessLog().slice(before)).not.toContain(`:${plain.port}/`);
  });

  it('proxy down: the error names the proxy, getJob is retried, the pilot ends with 79', async () => {
    const port = await closedPort();
    const run = await runPilotProcess(
      pilotArgs('NET_DOWN', plain.url, ['--getjob-wait', '3', '--getjob-poll', '1', '--log-level', 'debug']).filter((a) => a !== '--quiet'),
      {
        env: nodeEnv({ HTTP_PROXY: `http://127.0.0.1:${port}` }),
        timeoutMs: 60_000,
      },
    );
    expect(run.code, run.stderr).toBe(79);
    const failures = run.stderr.split('\n').filter((l) => l.includes(`via proxy http://127.0.0.1:${port} (HTTP_PROXY) failed`) && l.includes('ECONNREFUSED'));
    expect(failures.length, run.stderr).toBeGreaterThanOrEqual(2);
  });
});

describe.skipIf(noSquid !== null)('https trust and credentials', () => {
  let pki: TestPki;
  let secure: RunningStub;
  beforeAll(async () => {
    pki = makeTestPki(path.join(scratchDir('pki2'), 'pki'));
    testCa = readFileSync(pki.caFile);
    secure = await startStub({ port: 0, dataDir: scratchDir('tls-stub'), tls: { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) } });
  }, 60_000);
  afterAll(async () => secure?.close());

  it('--capath: a hashed CA directory verifies the server', async () => {
    const id = await submit(secure, 'TLS_CAPATH', 'echo capath');
    const run = await runPilotProcess(pilotArgs('TLS_CAPATH', secure.url, ['--capath', pki.caDir]), { env: nodeEnv({}), timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(await jobState(secure, id)).toBe('finished');
  });

  it('X509_CERT_DIR works as --capath; without any CA the server is not trusted', async () => {
    const ok = await runPilotProcess(pilotArgs('TLS_ENVDIR', secure.url), { env: nodeEnv({ X509_CERT_DIR: pki.caDir }), timeoutMs: 60_000 });
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await runPilotProcess(
      pilotArgs('TLS_NOCA', secure.url, ['--getjob-wait', '1', '--getjob-poll', '1']).filter((a) => a !== '--quiet'),
      { env: nodeEnv({}), timeoutMs: 60_000 },
    );
    expect(bad.code).toBe(79);
    expect(bad.stderr).toMatch(/self[- ]signed certificate|unable to (get|verify)/i);
  });

  it('a token is never sent over plain http to another host: the pilot refuses to start, saying why', async () => {
    const run = await runPilotProcess(
      pilotArgs('TOKEN_HTTP', 'http://panda.example.org:25080').filter((a) => a !== '--quiet'),
      {
        env: nodeEnv({ PANDA_AUTH_ID_TOKEN: 'tok-4d1c-secret' }),
        timeoutMs: 30_000,
      },
    );
    expect(run.code).toBe(65);
    expect(run.stderr).toContain('refusing to send the bearer token (PANDA_AUTH_ID_TOKEN) over plain http to panda.example.org:25080');
    expect(run.stderr).not.toContain('tok-4d1c-secret');
  });

  it("X.509 proxy checked at start with pilot3's codes: missing 1163 and expired 1373 (exit 68), too short 1382 (exit 80)", async () => {
    const args = pilotArgs('X509_CHECK', secure.url, ['--cacert', pki.caFile]).filter((a) => a !== '--quiet');
    const missing = await runPilotProcess(args, { env: nodeEnv({ X509_USER_PROXY: path.join(pki.dir, 'no-such-proxy') }), timeoutMs: 30_000 });
    expect(missing.code).toBe(68);
    expect(missing.stderr).toMatch(/NOPROXY \(1163\): X\.509 proxy \S+no-such-proxy: ENOENT/);
    const expired = makeClientProxy(pki, 'expired', { days: 0 });
    await new Promise((r) => setTimeout(r, 1_100)); // notAfter is now: a second later it has passed
    const old = await runPilotProcess(args, { env: nodeEnv({ X509_USER_PROXY: expired }), timeoutMs: 30_000 });
    expect(old.code).toBe(68);
    expect(old.stderr).toMatch(/CERTIFICATEHASEXPIRED \(1373\): X\.509 proxy \S+ expired at/);
    const day = makeClientProxy(pki, 'oneday', { days: 1 });
    const short = await runPilotProcess([...args, '--proxy-min-lifetime', String(2 * 86400)], { env: nodeEnv({ X509_USER_PROXY: day }), timeoutMs: 30_000 });
    expect(short.code).toBe(80);
    expect(short.stderr).toMatch(/PROXYTOOSHORT \(1382\): X\.509 proxy \S+ has \d+ s left, the pilot needs at least 172800 s/);
  });

  it("pilot3's -t / --noproxyverification: the proxy is not checked at start (an expired one passes), said once, and the job runs", async () => {
    const expired = makeClientProxy(pki, 'expired-unchecked', { days: 0 });
    await new Promise((r) => setTimeout(r, 1_100)); // notAfter is now: a second later it has passed
    for (const [site, flag] of [
      ['X509_SKIP_T', '-t'],
      ['X509_SKIP_LONG', '--noproxyverification'],
    ] as const) {
      const id = await submit(secure, site, 'echo fine');
      const args = [...pilotArgs(site, secure.url, ['--cacert', pki.caFile]).filter((a) => a !== '--quiet'), flag];
      const run = await runPilotProcess(args, { env: nodeEnv({ X509_USER_PROXY: expired }), timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).not.toMatch(/CERTIFICATEHASEXPIRED|1373/);
      expect(run.stderr.split('X.509 proxy not verified (pilot3 -t / --noproxyverification)').length - 1, flag).toBe(1);
      expect(run.stderr).not.toMatch(/flag_not_applicable.*-t\b|pilot3 flag accepted, not applicable here.*noproxyverification/);
      expect(await jobState(secure, id)).toBe('finished');
    }
  });

  it("the payload's environment has no credentials unless --payload-credentials names them", async () => {
    // The pilot itself presents X509_USER_PROXY as its client certificate: a real one.
    const x509 = makeClientProxy(pki, 'payloadenv', { days: 2 });
    const secrets = { PANDA_AUTH_ID_TOKEN: 'tok-91ab-secret', OIDC_AUTH_ORIGIN: 'Rubin.production', X509_USER_PROXY: x509 };
    const dump = (name: string) => path.join(pki.dir, `${name}.env`);
    const runWith = async (site: string, extra: string[]) => {
      const id = await submit(secure, site, `env > ${dump(site)}`);
      const run = await runPilotProcess(pilotArgs(site, secure.url, ['--cacert', pki.caFile, ...extra]), { env: nodeEnv(secrets), timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(0);
      expect(await jobState(secure, id)).toBe('finished');
      return readFileSync(dump(site), 'utf8');
    };
    const none = await runWith('ENV_NONE', []);
    expect(none).not.toMatch(/^(PANDA_AUTH_ID_TOKEN|OIDC_AUTH_ORIGIN|X509_USER_PROXY)=/m);
    expect(none).not.toContain('tok-91ab-secret');
    expect(none).toMatch(/^PandaID=\d+$/m);
    const both = await runWith('ENV_BOTH', ['--payload-credentials', 'token,x509']);
    expect(both).toContain('PANDA_AUTH_ID_TOKEN=tok-91ab-secret');
    expect(both).toContain(`X509_USER_PROXY=${x509}`);
  });
});
