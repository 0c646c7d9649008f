import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  // Sources run unbundled under vitest: the same define the build gives the bundle.
  define: { __PILOT_VERSION__: JSON.stringify(version) },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real processes and servers; two cores do not like many at once.
    maxWorkers: 2,
    reporters: ['default'],
    // `include` is per project: with `extends`, a root include would be merged into both.
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/batch/**', '**/node_modules/**'] } },
      {
        // Real Slurm and ARC-CE: one file at a time (they share the one-node
        // cluster and its daemons), after everything else.
        extends: true,
        test: {
          name: 'batch',
          include: ['test/batch/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 360_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
