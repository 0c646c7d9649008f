/**
 * The stub as a strict server and the pilot's tokens against it: bearer JWTs
 * verified (RS256, issuer, audience, expiry, Origin's group) with the real
 * server's refusals, the management API's writes guarded, a token rotated in
 * its file mid-job keeping heartbeats going, and an expired token ending the
 * pilot with 1364 before any job. Keys, tokens and CA are made here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { exportJWK, exportPKCS8, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { startStub, type RunningStub } from '../../server-stub/src/index.js';
import { runPilotProcess, scratchDir, STUB_BIN } from '../support/processes.js';
import { makeTestPki, type TestPki } from '../support/test-pki.js';

const ISS = 'https://issuer.test/rubin';
const AUD = 'panda-stub-test';

let pki: TestPki;
let keys: { privateKey: CryptoKey; jwk: JWK };
let otherKey: CryptoKey;
let secure: RunningStub;
let plain: RunningStub;

async function token(claims: { iss?: string; aud?: string; expSec?: number; groups?: string[]; key?: CryptoKey } = {}): Promise<string> {
  return new SignJWT({ groups: claims.groups ?? ['Rubin/production'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(claims.iss ?? ISS)
    .setAudience(claims.aud ?? AUD)
    .setSubject('pilot')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expSec ?? 3600))
    .sign(claims.key ?? keys.privateKey);
}

interface Reply {
  status: number;
  text: string;
}

function call(stub: RunningStub, method: string, p: string, body: string | undefined, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const send = stub.url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(`${stub.url}${p}`, { method, headers, ca: readFileSync(pki.caFile), servername: 'localhost' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const acquire = async (stub: RunningStub, headers: Record<string, string>) =>
  call(stub, 'POST', '/api/v1/pilot/acquire_jobs', JSON.stringify({ site_name: 'AUTH_NONE', n_jobs: 1 }), {
    'content-type': 'application/json',
    origin: 'Rubin.production',
    ...headers,
  });

const submit = (stub: RunningStub, task: unknown, headers: Record<string, string> = {}) =>
  call(stub, 'POST', '/stub/tasks', JSON.stringify(task), { 'content-type': 'application/json', authorization: `Bearer ${stub.managementToken}`, ...headers });

beforeAll(async () => {
  pki = makeTestPki(path.join(scratchDir('auth-pki'), 'pki'));
  const pair = await generateKeyPair('RS256', { extractable: true });
  keys = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' } };
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const tokenAuth = { jwks: { keys: [keys.jwk] }, issuer: ISS, audience: AUD };
  const tls = { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) };
  // The stub is also the token endpoint: it mints tokens with the key its JWKS publishes.
  const tokenIssuer = {
    privateKeyPem: await exportPKCS8(pair.privateKey),
    kid: 'k1',
    issuer: ISS,
    audience: AUD,
    groups: ['Rubin/production'],
    lifetimeSec: 3600,
    refreshTokens: ['rt-initial-1', 'rt-initial-2'],
  };
  secure = await startStub({ port: 0, dataDir: scratchDir('auth-stub'), tls, tokenAuth, management: { open: false }, tokenIssuer });
  plain = await startStub({ port: 0, dataDir: scratchDir('auth-plain'), tokenAuth, management: { open: false } });
}, 60_000);
afterAll(async () => {
  await secure?.close();
  await plain?.close();
});

describe('stub --auth token', () => {
  it('accepts a good token and refuses a bad signature, a wrong issuer or audience, an expired token and a wrong group', async () => {
    const ok = await acquire(secure, { authorization: `Bearer ${await token()}` });
    expect(ok.status, ok.text).toBe(200);
    // Through the guard to the dispatcher, which has no job for this site.
    expect(JSON.parse(ok.text).message, ok.text).toBe('No jobs in PanDA');
    const cases: [string, string, RegExp][] = [
      ['bad signature', await token({ key: otherKey }), /signature verification failed/],
      ['wrong issuer', await token({ iss: 'https://evil.test' }), /token iss is not accepted/],
      ['wrong audience', await token({ aud: 'someone-else' }), /token aud is not accepted/],
      ['expired', await token({ expSec: -60 }), /token expired/],
      ['wrong group', await token({ groups: ['Rubin/user', 'ATLAS/production'] }), /no group Rubin\/production/],
    ];
    for (const [name, t, why] of cases) {
      const r = await acquire(secure, { authorization: `Bearer ${t}` });
      expect(r.status, name).toBe(403);
      expect(r.text, name).toMatch(why);
    }
    expect((await acquire(secure, {})).status).toBe(403);
    const noOrigin = await call(secure, 'POST', '/api/v1/pilot/acquire_jobs', '{}', {
      'content-type': 'application/json',
      authorization: `Bearer ${await token()}`,
    });
    expect(noOrigin.status).toBe(403);
  });

  it("over plain http: the real server's words, v1 and legacy", async () => {
    const t = await token();
    const v1 = await acquire(plain, { authorization: `Bearer ${t}` });
    expect(v1.status).toBe(200);
    expect(JSON.parse(v1.text)).toEqual({ success: false, message: 'SSL secure connection is required', data: null });
    const legacy = await call(plain, 'POST', '/server/panda/getJob', 'siteName=AUTH_NONE', {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Bearer ${t}`,
      origin: 'Rubin.production',
    });
    expect(new URLSearchParams(legacy.text).get('StatusCode')).toBe('60');
    expect(new URLSearchParams(legacy.text).get('errorDialog')).toBe('SSL secure connection is required');
  });
});

describe('panda-stub token', () => {
  it('prints a token the stub verifies with the JWKS it wrote beside its key; the key stays 0600 and is reused', async () => {
    const keys = path.join(scratchDir('token-cli'), 'keys');
    const mint = (...extra: string[]) => {
      const r = spawnSync(process.execPath, [STUB_BIN, 'token', '--keys', keys, '--issuer', ISS, '--audience', AUD, ...extra], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const production = mint();
    const jwks = readFileSync(path.join(keys, 'jwks.json'), 'utf8');
    const user = mint('--group', 'Rubin/user', '--subject', 'someone');
    expect(readFileSync(path.join(keys, 'jwks.json'), 'utf8')).toBe(jwks); // the same key signed both
    expect(statSync(path.join(keys, 'signing-key.pem')).mode & 0o777).toBe(0o600);
    const tls = { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) };
    const stub = await startStub({ port: 0, dataDir: scratchDir('token-cli-stub'), tls, tokenAuth: { jwks: JSON.parse(jwks), issuer: ISS, audience: AUD } });
    try {
      const ok = await acquire(stub, { authorization: `Bearer ${production}` });
      expect(ok.status, ok.text).toBe(200);
      expect(JSON.parse(ok.text).message, ok.text).toBe('No jobs in PanDA');
      const wrongGroup = await acquire(stub, { authorization: `Bearer ${user}` });
      expect(wrongGroup.status).toBe(403);
      expect(wrongGroup.text).toMatch(/no group Rubin\/production/);
      // Signed by another key (the test's own): refused.
      expect((await acquire(stub, { authorization: `Bearer ${await token()}` })).status).toBe(403);
    } finally {
      await stub.close();
    }
    const bad = spawnSync(process.execPath, [STUB_BIN, 'token', '--keys', keys, '--issuer', ISS, '--audience', AUD, '--group', 'Rubin'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--group Rubin: give <vo>\/<role>/);
  });
});

describe('management API guard', () => {
  const task = { name: 'guarded', site: 'AUTH_MGMT', command: 'true' };
  it('writes need the token from the data dir (0600), JSON, and this server as Host; reads stay open', async () => {
    expect((await submit(secure, task, { authorization: '' })).status).toBe(401);
    expect((await submit(secure, task, { authorization: 'Bearer wrong' })).status).toBe(401);
    const form = await call(secure, 'POST', '/stub/tasks', JSON.stringify(task), {
      'content-type': 'text/plain',
      authorization: `Bearer ${secure.managementToken}`,
    });
    expect(form.status).toBe(415);
    const rebound = await submit(secure, task, { host: 'evil.example:80' });
    expect(rebound.status).toBe(403);
    expect((await call(secure, 'POST', '/stub/jobs/1/kill', '{}', { 'content-type': 'application/json' })).status).toBe(401);
    expect((await submit(secure, task)).status).toBe(201);
    expect((await call(secure, 'GET', '/stub/jobs', undefined, {})).status).toBe(200);
  });

  it('file writes (/storage, /cache) need the management token or a pilot token the stub accepts; reads stay open', async () => {
    const pilot = { authorization: `Bearer ${await token()}`, origin: 'Rubin.production' };
    const mgmt = { authorization: `Bearer ${secure.managementToken}` };
    const files = async () =>
      (JSON.parse((await call(secure, 'GET', '/stub/storage', undefined, {})).text) as { files: { path: string }[] }).files.map((f) => f.path);
    for (const p of ['/storage/logs/guard.log.tgz', '/cache/user.guard.00000001.tar.gz']) {
      const refused = await call(secure, 'PUT', p, 'anyone', {});
      expect(refused.status, p).toBe(401);
      expect(refused.text, p).toMatch(/need the stub's token/);
      expect((await call(secure, 'PUT', p, 'wrong', { authorization: 'Bearer wrong' })).status, p).toBe(401);
      expect((await call(secure, 'PUT', p, 'expired', { ...pilot, authorization: `Bearer ${await token({ expSec: -60 })}` })).status, p).toBe(401);
      expect((await call(secure, 'GET', p, undefined, {})).status, p).toBe(404); // nothing refused was stored
      expect((await call(secure, 'PUT', p, 'by the pilot', pilot)).status, p).toBe(201);
      expect((await call(secure, 'PUT', p, 'by the operator', mgmt)).status, p).toBe(204);
      expect((await call(secure, 'GET', p, undefined, {})).text, p).toBe('by the operator');
      expect((await call(secure, 'DELETE', p, undefined, {})).status, p).toBe(401);
      expect((await call(secure, 'DELETE', p, undefined, mgmt)).status, p).toBe(204);
    }
    expect(await files()).not.toContain('logs/guard.log.tgz');
    // Over plain http a pilot token is refused, as on the pilot calls; the management token still writes.
    expect((await call(plain, 'PUT', '/storage/logs/plain.log.tgz', 'x', pilot)).status).toBe(401);
    expect((await call(plain, 'PUT', '/storage/logs/plain.log.tgz', 'x', { authorization: `Bearer ${plain.managementToken}` })).status).toBe(201);
  });
});

describe('the pilot with tokens against the strict stub', () => {
  const args = (site: string, extra: string[] = []) => [
    '-q',
    site,
    '--url',
    secure.url,
    '--api',
    'v1',
    '--cacert',
    pki.caFile,
    '-a',
    scratchDir('auth-pilot'),
    '--getjob-wait',
    '0',
    '--max-jobs',
    '1',
    '--quiet',
    ...extra,
  ];
  const env = (extra: NodeJS.ProcessEnv) => ({ ...process.env, ...extra });

  it('a token rotated in its file mid-job keeps heartbeats going after the old one expired', async () => {
    const dir = scratchDir('auth-tokens');
    const file = path.join(dir, 'token');
    writeFileSync(file, await token({ expSec: 6 }));
    const firstExpires = Date.now() + 6_000;
    const reply = await submit(secure, { name: 'rotate', site: 'AUTH_ROTATE', maxAttempts: 1, jobs: [{ name: 'j', command: 'sleep 10' }] });
    const id = JSON.parse(reply.text).tasks[0].pandaIds[0] as number;
    const run = runPilotProcess(args('AUTH_ROTATE', ['--heartbeat', '1']), {
      env: env({ OIDC_AUTH_DIR: dir, OIDC_AUTH_TOKEN: 'token', OIDC_AUTH_ORIGIN: 'Rubin.production' }),
      timeoutMs: 90_000,
    });
    // Harvester's way: write the new token beside the old and rename it over.
    await new Promise((r) => setTimeout(r, 2_000));
    writeFileSync(`${file}.new`, await token({ expSec: 3600 }));
    renameSync(`${file}.new`, file);
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    const details = JSON.parse((await call(secure, 'GET', `/stub/jobs/${id}`, undefined, {})).text);
    expect(details.job.state).toBe('finished');
    // Heartbeats and the final update went on being accepted after the first token had expired.
    const later = (details.updates as { receivedAt: string; params: { job_status: string } }[]).filter((u) => Date.parse(u.receivedAt) > firstExpires + 1_000);
    expect(later.map((u) => u.params.job_status)).toContain('running');
    expect(later.map((u) => u.params.job_status)).toContain('finished');
  });

  it('refresh: a new ID token from the stub as token endpoint before the old expires, both files rewritten atomically (0600)', async () => {
    const dir = scratchDir('auth-refresh');
    const file = path.join(dir, 'token');
    const refreshFile = path.join(dir, 'refresh');
    const first = await token({ expSec: 8 });
    const firstExpires = Date.now() + 8_000;
    writeFileSync(file, first);
    writeFileSync(refreshFile, 'rt-initial-1\n');
    const reply = await submit(secure, { name: 'refresh', site: 'AUTH_REFRESH', maxAttempts: 1, jobs: [{ name: 'j', command: 'sleep 12' }] });
    const id = JSON.parse(reply.text).tasks[0].pandaIds[0] as number;
    const run = await runPilotProcess(args('AUTH_REFRESH', ['--heartbeat', '1']), {
      env: env({
        OIDC_AUTH_DIR: dir,
        OIDC_AUTH_TOKEN: 'token',
        OIDC_AUTH_ORIGIN: 'Rubin.production',
        PANDA_AUTH_TOKEN_ENDPOINT: `${secure.url}/oidc/token`,
        PANDA_AUTH_REFRESH_TOKEN_FILE: refreshFile,
      }),
      timeoutMs: 90_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const renewed = readFileSync(file, 'utf8').trim();
    expect(renewed).not.toBe(first);
    const claims = JSON.parse(Buffer.from(renewed.split('.')[1]!, 'base64url').toString()) as { exp: number; iss: string };
    expect(claims.iss).toBe(ISS);
    expect(claims.exp * 1000).toBeGreaterThan(firstExpires + 600_000);
    expect(readFileSync(refreshFile, 'utf8').trim()).not.toBe('rt-initial-1'); // rotated
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(refreshFile).mode & 0o777).toBe(0o600);
    const details = JSON.parse((await call(secure, 'GET', `/stub/jobs/${id}`, undefined, {})).text);
    expect(details.job.state).toBe('finished');
    const later = (details.updates as { receivedAt: string; params: { job_status: string } }[]).filter((u) => Date.parse(u.receivedAt) > firstExpires + 1_000);
    expect(later.map((u) => u.params.job_status)).toContain('finished');
  });

  it('refresh at start: an expired token with a refresh token configured is renewed, not refused', async () => {
    const dir = scratchDir('auth-refresh-start');
    writeFileSync(path.join(dir, 'token'), await token({ expSec: -30 }));
    writeFileSync(path.join(dir, 'refresh'), 'rt-initial-2');
    const reply = await submit(secure, { name: 'refresh0', site: 'AUTH_REFRESH0', maxAttempts: 1, jobs: [{ name: 'j', command: 'true' }] });
    const id = JSON.parse(reply.text).tasks[0].pandaIds[0] as number;
    const run = await runPilotProcess(args('AUTH_REFRESH0'), {
      env: env({
        OIDC_AUTH_DIR: dir,
        OIDC_AUTH_TOKEN: 'token',
        OIDC_AUTH_ORIGIN: 'Rubin.production',
        PANDA_AUTH_TOKEN_ENDPOINT: `${secure.url}/oidc/token`,
        PANDA_AUTH_REFRESH_TOKEN_FILE: path.join(dir, 'refresh'),
      }),
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse((await call(secure, 'GET', `/stub/jobs/${id}`, undefined, {})).text).job.state).toBe('finished');
  });

  it('an expired token: 1364 with a clear message, before any job is taken', async () => {
    const reply = await submit(secure, { name: 'expired', site: 'AUTH_EXPIRED', maxAttempts: 1, jobs: [{ name: 'j', command: 'true' }] });
    const id = JSON.parse(reply.text).tasks[0].pandaIds[0] as number;
    const run = await runPilotProcess(
      args('AUTH_EXPIRED').filter((a) => a !== '--quiet'),
      { env: env({ PANDA_AUTH_ID_TOKEN: await token({ expSec: -10 }) }), timeoutMs: 60_000 },
    );
    expect(run.code).toBe(65);
    expect(run.stderr).toMatch(/MISSINGCREDENTIALS \(1364\): token from PANDA_AUTH_ID_TOKEN expired at \d{4}-/);
    const details = JSON.parse((await call(secure, 'GET', `/stub/jobs/${id}`, undefined, {})).text);
    expect(details.job.state).toBe('activated');
  });

  it('a missing token file: 1364 naming the file', async () => {
    const run = await runPilotProcess(
      args('AUTH_MISSING').filter((a) => a !== '--quiet'),
      { env: env({ OIDC_AUTH_DIR: '/nonexistent', OIDC_AUTH_TOKEN: 'tok' }), timeoutMs: 60_000 },
    );
    expect(run.code).toBe(65);
    expect(run.stderr).toContain('MISSINGCREDENTIALS (1364): no token in file /nonexistent/tok');
  });
});
