/**
 * A release tree built in a temp dir runs the whole loop on its own: the stub
 * from dist/, the pilot from the tree with the tree's Node.js runtime, under a
 * PATH that has no other node. `release verify` passes the tree and catches a
 * modified, a missing and an extra file; the same version builds to the same
 * manifest; a new version moves `current` and keeps the old one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';
import { collectChild } from '../support/child-run.js';

const RELEASE_BIN = path.join(ROOT, 'dist', 'panda-release.mjs');
const VERSION = '9.8.7';

interface Built {
  tree: string;
  node: string;
  files: number;
  bytes: number;
  seconds: number;
}

function buildRelease(out: string, version: string): Built {
  // The first build fetches the runtime (~50 MB) with npm; later ones use the cache.
  const r = spawnSync(process.execPath, [RELEASE_BIN, '--out', out, '--version', version], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`release build failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Built;
}

/** A bin dir with every tool of /usr/bin except node and its package managers. */
function pathWithoutNode(): string {
  const dir = scratchDir('toolbox');
  for (const name of readdirSync('/usr/bin')) {
    if (/^(node|nodejs|npm|npx|corepack)$/.test(name)) continue;
    symlinkSync(path.join('/usr/bin', name), path.join(dir, name));
  }
  return dir;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return collectChild(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }), timeoutMs).done;
}

describe('release tree', () => {
  const out = scratchDir('release');
  let built: Built;
  let tree = '';
  let stub: StubProcess | undefined;
  const toolbox = pathWithoutNode();
  const env = { PATH: toolbox, HOME: scratchDir('home'), LANG: 'C' };

  beforeAll(() => {
    built = buildRelease(out, VERSION);
    tree = built.tree;
    console.info(`release tree: ${built.files} files, ${(built.bytes / 1e6).toFixed(1)} MB, node ${built.node}, built in ${built.seconds} s`);
  });
  afterAll(async () => {
    await stub?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('has the agreed layout and a manifest sha256sum accepts', () => {
    for (const f of [
      'runtime/bin/node',
      'pilot/panda-pilot.mjs',
      'setup.sh',
      'bin/panda-pilot',
      'release.json',
      'MANIFEST.sha256',
      'config/queuedata/LOCAL_Rubin.all.json',
      'config/site-config/resource-types.json',
    ]) {
      expect(() => readFileSync(path.join(tree, f)), f).not.toThrow();
    }
    expect(readlinkSync(path.join(out, 'panda_env', 'current'))).toBe(`v${VERSION}`);
    const release = JSON.parse(readFileSync(path.join(tree, 'release.json'), 'utf8'));
    expect(release).toMatchObject({ version: VERSION, runtime: { node: built.node, pinned: true } });
    const sums = spawnSync('sha256sum', ['-c', '--quiet', 'MANIFEST.sha256'], { cwd: tree, encoding: 'utf8' });
    expect(sums.status, sums.stdout + sums.stderr).toBe(0);
  });

  it('runs the full loop with the shipped runtime and no other node on PATH', async () => {
    expect(spawnSync('/bin/sh', ['-c', 'command -v node'], { env }).status).not.toBe(0);
    stub = await startStubProcess(scratchDir('release-stub'));
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: 'from_cvmfs',
      site: 'LOCAL_Rubin',
      memoryMB: 1000,
      count: 3,
      command: 'echo "quantum {index} on $(hostname)"; sleep 0.5',
    });
    const taskId = submitted.tasks[0].taskId as number;
    const work = scratchDir('release-pilot');
    // As a batch job would: source the tree's setup, then start the bundle by its shebang (`env node`).
    const setup = path.join(out, 'panda_env', 'current', 'setup.sh');
    const script = `. "${setup}" && exec "$PANDA_PILOT_RELEASE/pilot/panda-pilot.mjs" -q LOCAL_Rubin --url "${stub.url}" -a "${work}" --getjob-wait 1 --getjob-poll 0.3 --heartbeat 1 --quiet`;
    const pilot = await run('/bin/bash', ['-c', script], env);
    expect(pilot.code, pilot.stderr).toBe(0);

    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    expect(jobs.map((j: any) => j.state)).toEqual(['finished', 'finished', 'finished']);
    const home = readdirSync(work).find((d) => d.startsWith('PanDA_Pilot3_'))!;
    const events = readFileSync(path.join(work, home, 'pilotlog.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const start = events.find((e) => e.event === 'pilot_start');
    expect(start.runtime).toBe(realpathSync(path.join(tree, 'runtime', 'bin', 'node')));
    expect(start.node).toBe(built.node);
    expect(start.node).not.toBe(process.version);
    // The pilot configured itself from the tree's queue data snapshot, not the server's.
    expect(events.find((e) => e.event === 'queuedata').source).toBe(path.join(realpathSync(tree), 'config', 'queuedata', 'LOCAL_Rubin.all.json'));
  });

  it('release verify passes the tree and lists a modified, a missing and an extra file', async () => {
    const verify = () => run(path.join(tree, 'bin', 'panda-pilot'), ['release', 'verify', path.join(out, 'panda_env')], env);
    const ok = await verify();
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK .*: \d+ files match MANIFEST\.sha256/);

    appendFileSync(path.join(tree, 'config', 'queuedata', 'LOCAL_Rubin.all.json'), ' ');
    rmSync(path.join(tree, 'config', 'site-config', 'README.md'));
    writeFileSync(path.join(tree, 'pilot', 'patch.mjs'), '');
    const bad = await verify();
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('modified: config/queuedata/LOCAL_Rubin.all.json');
    expect(bad.stdout).toContain('missing:  config/site-config/README.md');
    expect(bad.stdout).toContain('extra:    pilot/patch.mjs');
  });

  it('builds the same manifest again, and a new version moves current and keeps the old', () => {
    const again = scratchDir('release-again');
    const second = buildRelease(again, VERSION);
    // The first tree's files were changed above, but not its manifest: the manifests of two builds must agree.
    expect(readFileSync(path.join(second.tree, 'MANIFEST.sha256'), 'utf8')).toBe(readFileSync(path.join(tree, 'MANIFEST.sha256'), 'utf8'));
    const next = buildRelease(again, '9.8.8');
    expect(readlinkSync(path.join(again, 'panda_env', 'current'))).toBe('v9.8.8');
    expect(
      readdirSync(path.join(again, 'panda_env'))
        .filter((d) => d.startsWith('v'))
        .sort(),
    ).toEqual(['v9.8.7', 'v9.8.8']);
    expect(next.files).toBe(second.files);
    const refused = spawnSync(process.execPath, [RELEASE_BIN, '--out', again, '--version', VERSION], { encoding: 'utf8', timeout: 60_000 });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/exists: a published version never changes/);
    rmSync(again, { recursive: true, force: true });
  });
});
