/**
 * Helpers for tests that talk to the stub over real HTTP: start one on a
 * fresh data dir, send legacy/v1/management calls, build the bundle and run
 * it as a child process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { startStub, type RunningStub, type ServerQuirk } from '../../server-stub/src/index.js';
import { stubAuthHeaders } from './processes.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const STUB_BUNDLE = join(REPO_ROOT, 'dist', 'panda-stub.mjs');

/** A fresh temporary directory; `cleanup` removes it. */
export function tempDir(prefix = 'panda-stub-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An in-process stub on a free port with its own data dir (reproducing `quirks` when given). */
export async function startTestStub(quirks: readonly ServerQuirk[] = []): Promise<RunningStub & { dataDir: string; stop: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const stub = await startStub({ port: 0, dataDir: dir, quirks: new Set(quirks) });
  return { ...stub, dataDir: dir, stop: async () => (await stub.close(), cleanup()) };
}

export interface Reply {
  status: number;
  contentType: string;
  text: string;
  headers: Headers;
}

/** Management tokens of the stub processes started here, by base URL (`panda-stub serve` writes one to its data dir). */
const stubTokens = new Map<string, string>();

async function send(url: string, init: RequestInit): Promise<Reply> {
  for (const [base, token] of stubTokens) {
    if (url.startsWith(`${base}/stub/`)) init = { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } };
  }
  const res = await fetch(url, init);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text(), headers: res.headers };
}

/** POSTs a form-urlencoded body. */
export function postForm(url: string, params: Record<string, string | number>, headers: Record<string, string> = {}): Promise<Reply> {
  const body = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
}

/** POSTs JSON, gzip-compressed when asked (pilot3's legacy transport). */
export function postJson(url: string, value: unknown, options: { gzip?: boolean; headers?: Record<string, string> } = {}): Promise<Reply> {
  const raw = Buffer.from(JSON.stringify(value));
  const body = options.gzip ? gzipSync(raw) : raw;
  return send(url, { method: 'POST', headers: { 'content-type': 'application/json', ...options.headers }, body });
}

/** GETs a URL. */
export function get(url: string): Promise<Reply> {
  return send(url, { method: 'GET' });
}

/** Submits a task file through the management API and returns the created tasks. */
export async function submitTasks(base: string, file: unknown): Promise<{ taskId: number; name: string; pandaIds: number[] }[]> {
  // A stub these tests started as a process wants its management token (written to its data dir).
  const reply = await postJson(`${base}/stub/tasks`, file, { headers: stubAuthHeaders(`${base}/stub/tasks`) });
  if (reply.status !== 201) throw new Error(`submit failed: ${reply.status} ${reply.text}`);
  return (JSON.parse(reply.text) as { tasks: { taskId: number; name: string; pandaIds: number[] }[] }).tasks;
}

/** A one-task file with `count` identical short jobs. */
export function simpleTask(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'demo', site: 'LOCAL_Rubin', command: 'echo {index}', count: 1, ...overrides };
}

/**
 * Builds dist/panda-stub.mjs with the project's build script. If that fails
 * because the other half of the repo (the pilot) does not build right now,
 * the stub alone is bundled the same way, so this test still tests the stub.
 */
export function buildStubBundle(): void {
  const full = spawnSync(process.execPath, ['build.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (full.status === 0) return;
  process.stderr.write(`node build.mjs failed (${full.stderr.trim().split('\n')[0]}); bundling the stub alone\n`);
  const script = `
    import { build } from 'esbuild';
    await build({ entryPoints: ['server-stub/src/cli/main.ts'], outfile: 'dist/panda-stub.mjs', bundle: true,
      platform: 'node', target: 'node20', format: 'esm', external: ['better-sqlite3'], logLevel: 'warning',
      banner: { js: "#!/usr/bin/env node\\nimport { createRequire as __cr } from 'node:module';\\nconst require = __cr(import.meta.url);" } });`;
  const alone = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (alone.status !== 0) throw new Error(`cannot bundle the stub: ${alone.stderr}`);
}

/** A stub running as a child process of `node dist/panda-stub.mjs serve`. */
export interface StubProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code / signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the bundled stub and waits for its `listening` line. */
export function spawnStub(dataDir: string): Promise<StubProcess> {
  const child = spawn(process.execPath, [STUB_BUNDLE, 'serve', '--port', '0', '--data', dataDir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`stub did not start: ${err}`)), 15_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (!m?.[1]) return reject(new Error(`unexpected first line: ${line}`));
      const tokenFile = join(dataDir, 'stub-token');
      if (existsSync(tokenFile)) stubTokens.set(m[1], readFileSync(tokenFile, 'utf8').trim());
      resolve({ url: m[1], child, stderr: () => err, exited });
    });
    void exited.then(({ code }) => reject(new Error(`stub exited with ${code}: ${err}`)));
  });
}
