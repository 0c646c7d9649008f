#!/usr/bin/env node
// Bundles the pilot into one self-contained file (no node_modules at run time)
// and the stub into one file that may load its native SQLite binding from node_modules.
import { build } from 'esbuild';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';

const { version } = JSON.parse(await readFile(new URL('./package.json', import.meta.url), 'utf8'));

const banner = {
  // Bundled CommonJS dependencies still call require(); give them one.
  js: "#!/usr/bin/env node\nimport { createRequire as __pnpCreateRequire } from 'node:module';\nconst require = __pnpCreateRequire(import.meta.url);",
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // The one version string: package.json's.
  define: { __PILOT_VERSION__: JSON.stringify(version) },
};

/**
 * esbuild escapes non-ASCII in strings but keeps some comments as written; one `…` or `→` in a
 * comment makes V8 hold the whole bundle source as a two-byte string (1.7 MB instead of 0.9 MB of
 * heap for as long as the pilot runs). `\uXXXX` means the same character in a string, template,
 * regular expression or identifier, and nothing in a comment, so the bundle is made pure ASCII.
 */
async function asciiOnly(file) {
  const text = await readFile(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) await writeFile(file, ascii);
}

await mkdir('dist', { recursive: true });
await build({ ...common, entryPoints: ['pilot/src/cli/main.ts'], outfile: 'dist/panda-pilot.mjs' });
await asciiOnly('dist/panda-pilot.mjs');
await build({
  ...common,
  entryPoints: ['server-stub/src/cli/main.ts'],
  outfile: 'dist/panda-stub.mjs',
  external: ['better-sqlite3'],
});
// The release builder (cvmfs-layout/): run by `npm run release`, never shipped.
await build({ ...common, entryPoints: ['cvmfs-layout/src/main.ts'], outfile: 'dist/panda-release.mjs' });
await chmod('dist/panda-pilot.mjs', 0o755);
await chmod('dist/panda-stub.mjs', 0o755);
