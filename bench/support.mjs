// What the benches share: the repo's paths, the pilot's or the tests' TypeScript bundled for node
// and imported, the built stub as its own process, and JSON calls to its management API.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const dist = (f) => path.join(ROOT, 'dist', f);

/**
 * Bundles TypeScript (a file of the repo, or `contents` resolved from the repo's root) into
 * bench/.build/<name>.mjs and imports it: the benches measure the sources as the tests see them.
 */
export async function importTs(name, source) {
  const outdir = path.join(ROOT, 'bench', '.build');
  mkdirSync(outdir, { recursive: true });
  const outfile = path.join(outdir, `${name}.mjs`);
  await build({
    ...(typeof source === 'string'
      ? { entryPoints: [path.join(ROOT, source)] }
      : { stdin: { contents: source.contents, resolveDir: ROOT, sourcefile: `${name}-entry.ts`, loader: 'ts' } }),
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    // Bundled CommonJS dependencies call require(): give the ES module one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return import(pathToFileURL(outfile).href);
}

/**
 * Starts `panda-stub serve --port 0 --data DIR --open ...args` (the bundle given, else dist's) and waits
 * for its `listening` line. Its stderr (the request log) is kept to the last 4 kB, never left unread.
 */
export function startStub(dataDir, args = [], { bundle = dist('panda-stub.mjs'), nodeArgs = [], timeoutMs = 30_000 } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, bundle, 'serve', '--port', '0', '--data', dataDir, '--open', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stub did not start in ${timeoutMs / 1000} s: ${err}`)), timeoutMs);
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (\S+)$/.exec(line);
      if (m) resolve({ url: m[1], child, exited, stderr: () => err, stop: () => child.kill('SIGTERM') });
      else reject(new Error(`unexpected first stub line: ${line}`));
    });
    child.once('exit', (c) => reject(new Error(`stub exited ${c}: ${err}`)));
  });
}

/** JSON to and from the stub's management API (the benches' stubs run --open: no token). */
export async function stubApi(url, method = 'GET', body) {
  const res = await fetch(url, { method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}
