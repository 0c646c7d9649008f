/**
 * Files that come to the node: a prun-style user sandbox from the stub's
 * cache (uploaded with `panda-stub upload`), hostile sandboxes, and
 * transformations given as URLs — with the real stub and the bundled pilot.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTarGz } from '../support/tar-builder.js';
import { runPilotProcess, scratchDir, startStubProcess, STUB_BIN, stubApi, stubToken, type StubProcess } from '../support/processes.js';

let stub: StubProcess;
let stubData: string;
beforeAll(async () => {
  stubData = scratchDir('sbtrf-stub');
  stub = await startStubProcess(stubData);
});
afterAll(async () => stub?.stop());

/** `panda-stub upload FILE` with the stub's token (cache writes need it): the name it prints. */
function upload(file: string): string {
  const env = { ...process.env, PANDA_STUB_TOKEN: stubToken(stub.url) };
  const r = spawnSync(process.execPath, [STUB_BIN, 'upload', file, '--url', stub.url], { encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function runTask(task: Record<string, unknown>) {
  const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', { site: 'LOCAL_files', maxAttempts: 1, ...task });
  const pandaId = submitted.tasks[0].pandaIds[0] as number;
  const run = await runPilotProcess(
    ['-q', 'LOCAL_files', '--url', stub.url, '--api', 'legacy', '-a', scratchDir('sbtrf-pilot'), '--getjob-wait', '0', '--heartbeat', '1', '--quiet'],
    { timeoutMs: 60_000 },
  );
  expect(run.code, run.stderr).toBe(0);
  const details = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
  return {
    state: details.job.state as string,
    code: Number(details.job.report.pilotErrorCode),
    exit: Number(details.job.report.transExitCode),
    diag: String(details.job.report.pilotErrorDiag ?? ''),
  };
}

describe('user sandboxes (prun)', () => {
  it("panda-stub upload needs the stub's token: refused without it, sent with --data DIR", () => {
    const file = path.join(scratchDir('sb-token'), 'run.sh');
    writeFileSync(file, 'echo hi\n');
    const env = { ...process.env, PANDA_STUB_TOKEN: '' };
    const refused = spawnSync(process.execPath, [STUB_BIN, 'upload', file, '--url', stub.url], { encoding: 'utf8', env });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/HTTP 401: ERROR : file writes need the stub's token/);
    const sent = spawnSync(process.execPath, [STUB_BIN, 'upload', file, '--url', stub.url, '--data', stubData], { encoding: 'utf8', env });
    expect(sent.status, sent.stderr).toBe(0);
    expect(sent.stdout.trim()).toMatch(/^user\.run\.[0-9a-f]{8}\.sh$/);
  });

  it('downloads, unpacks and runs the script a sandbox carries', async () => {
    const dir = scratchDir('sb-src');
    mkdirSync(path.join(dir, 'content', 'lib'), { recursive: true });
    writeFileSync(path.join(dir, 'content', 'main.sh'), '#!/bin/bash\necho "sandbox ran with $1 and $(cat lib/word.txt)" >&2\nexit 7\n');
    chmodSync(path.join(dir, 'content', 'main.sh'), 0o755);
    writeFileSync(path.join(dir, 'content', 'lib', 'word.txt'), 'its data');
    const tgz = path.join(dir, 'my job.tar.gz');
    expect(spawnSync('tar', ['czf', tgz, '-C', path.join(dir, 'content'), '.']).status).toBe(0);
    const name = upload(tgz);
    expect(name).toMatch(/^user\.my_job\.[0-9a-f]{8}\.tar\.gz$/);
    const r = await runTask({ name: 'sb_ok', sandbox: name, jobs: [{ name: 'run', command: './main.sh first-arg' }] });
    expect(r).toMatchObject({ state: 'failed', code: 1305, exit: 7 });
    expect(r.diag).toMatch(/sandbox ran with first-arg and its data/);
  });

  it('refuses a hostile sandbox with 1246 naming the entry', async () => {
    const file = path.join(scratchDir('sb-bad'), 'evil.tar.gz');
    writeFileSync(
      file,
      makeTarGz([
        { path: 'main.sh', body: 'echo hi' },
        { path: 'lib/../../../escape.sh', body: 'pwned' },
      ]),
    );
    const r = await runTask({ name: 'sb_evil', sandbox: upload(file), jobs: [{ name: 'run', command: './main.sh' }] });
    expect(r).toMatchObject({ state: 'failed', code: 1246 });
    expect(r.diag).toMatch(/entry "lib\/..\/..\/..\/escape.sh" refused: '..' in the path/);
  });

  it('a sandbox missing from the cache is 1246', async () => {
    const r = await runTask({ name: 'sb_missing', sandbox: 'user.nothere.00000000.tar.gz', jobs: [{ name: 'run', command: './main.sh' }] });
    expect(r).toMatchObject({ state: 'failed', code: 1246 });
    expect(r.diag).toMatch(/HTTP 404/);
  });
});

describe('transformations as URLs', () => {
  it("downloads one from the server's host and runs it with the job's parameters", async () => {
    const file = path.join(scratchDir('trf'), 'count-args.sh');
    writeFileSync(file, '#!/bin/bash\necho "count-args got $# args: $*" >&2\nexit 5\n');
    const name = upload(file);
    const r = await runTask({ name: 'trf_url', transformation: `/cache/${name}`, jobs: [{ name: 'run', command: 'alpha beta' }] });
    expect(r).toMatchObject({ state: 'failed', code: 1305, exit: 5 });
    expect(r.diag).toMatch(/count-args got 2 args: alpha beta/);
  });

  it('a transformation the server does not have is 1149', async () => {
    const r = await runTask({ name: 'trf_404', transformation: '/cache/user.nothere.00000000.sh', jobs: [{ name: 'run', command: 'x' }] });
    expect(r).toMatchObject({ state: 'failed', code: 1149 });
    expect(r.diag).toMatch(/transformation download failed: HTTP 404/);
  });

  it('a host that is not allowed is 1346, and nothing is fetched', async () => {
    const r = await runTask({ name: 'trf_host', transformation: 'http://127.0.0.2:9/trf/evil.sh', jobs: [{ name: 'run', command: 'x' }] });
    expect(r).toMatchObject({ state: 'failed', code: 1346 });
    expect(r.diag).toMatch(/transformation host 127.0.0.2:9 is not allowed/);
  });

  it("serves its own bash-c-enc and bash-c as scripts that run the job's parameters", async () => {
    const dir = scratchDir('trf-own');
    for (const name of ['bash-c-enc', 'bash-c']) {
      const res = await fetch(`${stub.url}/trf/${name}`);
      expect(res.status).toBe(200);
      writeFileSync(path.join(dir, name), await res.text());
      chmodSync(path.join(dir, name), 0o755);
    }
    const cmd = 'echo "decoded: $((6 * 7))"; exit 3';
    const enc = spawnSync('/bin/bash', ['-c', `./bash-c-enc ${Buffer.from(cmd).toString('base64')}`], { cwd: dir, encoding: 'utf8' });
    expect(enc.stdout).toBe('decoded: 42\n');
    expect(enc.status).toBe(3);
    const plain = spawnSync('./bash-c', ['echo', 'plain', 'ok'], { cwd: dir, encoding: 'utf8' });
    expect(plain.stdout).toBe('plain ok\n');
  });
});
