/**
 * `panda-pilot doctor` on this machine: a healthy setup (the real stub, its
 * queue data) is a table and exit 0; a broken one names its first blocker and
 * exits with that blocker's code (an expired token: 65 naming 1364; a server
 * that is not there: 79).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign } from 'node:crypto';
import { runPilotProcess, scratchDir, startStubProcess, type StubProcess } from '../support/processes.js';

let stub: StubProcess;
beforeAll(async () => {
  stub = await startStubProcess(scratchDir('doctor-stub'));
});
afterAll(async () => stub?.stop());

/** An RS256 JWT that expired a minute ago (the doctor only reads its expiry). */
function expiredJwt(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ sub: 'pilot', exp: Math.floor(Date.now() / 1000) - 60 })}`;
  return `${head}.${sign('sha256', Buffer.from(head), privateKey).toString('base64url')}`;
}

const clean = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/_proxy$|^PANDA_AUTH|^OIDC_AUTH|^X509_USER/i.test(k)) delete env[k];
  return { ...env, ...extra };
};

describe('panda-pilot doctor', () => {
  it('healthy: every check in the table, round trip min/median/max, exit 0', async () => {
    const run = await runPilotProcess(['doctor', '-q', 'LOCAL_Rubin', '--url', stub.url, '--pings', '3', '-a', scratchDir('doctor-work')], {
      env: clean({}),
      timeoutMs: 60_000,
    });
    process.stdout.write(run.stdout);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const check of ['proxy', 'server', 'round trip', 'token', 'x509 proxy', 'CA', 'memory cgroup', 'cores', 'memory', 'disk', 'release', 'queue data']) {
      expect(run.stdout).toMatch(new RegExp(`^${check}\\s+(ok|warn)\\s`, 'm'));
    }
    expect(run.stdout).toMatch(/^server\s+ok\s+http:\/\/127\.0\.0\.1:\d+ reached; dialect v1/m);
    expect(run.stdout).toMatch(/^round trip\s+ok\s+3\/3 pings: min [\d.]+ ms, median [\d.]+ ms, max [\d.]+ ms/m);
    expect(run.stdout).toMatch(/^queue data\s+ok\s+LOCAL_Rubin /m);
    expect(run.stdout).toContain('READY (exit 0)');
  });

  it('broken: an expired token is the first blocker (1364, exit 65); no server is 79', async () => {
    const token = expiredJwt();
    const run = await runPilotProcess(['doctor', '-q', 'LOCAL_Rubin', '--url', stub.url, '--pings', '1'], {
      env: clean({ PANDA_AUTH_ID_TOKEN: token }),
      timeoutMs: 60_000,
    });
    expect(run.code, run.stdout).toBe(65);
    expect(run.stdout).toMatch(/^token\s+FAIL\s+1364: token from PANDA_AUTH_ID_TOKEN expired at/m);
    expect(run.stdout).toMatch(/^NOT READY: token: /m);
    expect(run.stdout + run.stderr).not.toContain(token);
    const gone = await runPilotProcess(['doctor', '-q', 'LOCAL_Rubin', '--url', 'http://127.0.0.1:9', '--pings', '1'], {
      env: clean({ HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' }),
      timeoutMs: 60_000,
    });
    expect(gone.code, gone.stdout).toBe(79);
    expect(gone.stdout).toMatch(/^proxy\s+ok\s+via proxy http:\/\/127\.0\.0\.1:9 \(HTTP_PROXY\)/m);
    expect(gone.stdout).toMatch(/^NOT READY: server: http:\/\/127\.0\.0\.1:9 not reached: .*via proxy/m);
  });
});
