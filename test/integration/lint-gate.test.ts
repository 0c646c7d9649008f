/**
 * `npm run lint` is a gate only if it fails on what it claims to catch. Each
 * deliberately bad fixture in test/lint-fixtures/ is run through the same tool
 * and config the gate uses, and must be refused naming its rule.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.js';

const FIX = path.join(ROOT, 'test', 'lint-fixtures');
const bin = (name: string) => path.join(ROOT, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[], cwd = ROOT) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

describe('the lint gate refuses bad code', () => {
  it('eslint: a floating promise and a non-exhaustive switch', () => {
    // --no-ignore: the fixtures are excluded from the real lint run by the config's ignores.
    const r = run(bin('eslint'), ['--no-ignore', path.join(FIX, 'floating-promise.ts'), path.join(FIX, 'non-exhaustive-switch.ts')]);
    expect(r.status, r.out).toBe(1);
    expect(r.out).toMatch(/floating-promise\.ts[\s\S]*@typescript-eslint\/no-floating-promises/);
    expect(r.out).toMatch(/non-exhaustive-switch\.ts[\s\S]*@typescript-eslint\/switch-exhaustiveness-check/);
  }, 300_000);

  it('dependency-cruiser: a forbidden direction, a cycle and an unranked folder', () => {
    const deps = path.join(FIX, 'deps');
    const r = run(bin('depcruise'), ['pilot/src', '--config', path.join(ROOT, '.dependency-cruiser.cjs'), '--ts-config', 'tsconfig.json'], deps);
    expect(r.status, r.out).not.toBe(0);
    expect(r.out).toMatch(/pilot-layer-job: pilot\/src\/job\/index\.ts → pilot\/src\/monitor\/index\.ts/);
    expect(r.out).toMatch(/no-circular: pilot\/src\/job\/a\.ts/);
    expect(r.out).toMatch(/pilot-unranked-folder: pilot\/src\/gadgets\/index\.ts/);
  }, 120_000);

  it('prettier: an unformatted file', () => {
    const r = run(bin('prettier'), ['--check', '--ignore-path', '', path.join(FIX, 'unformatted.ts')]);
    expect(r.status, r.out).toBe(1);
    expect(r.out).toContain('unformatted.ts');
  }, 60_000);

  const noShellcheck = spawnSync('shellcheck', ['--version']).status !== 0;
  if (noShellcheck && process.env.CI === 'true') throw new Error('shellcheck must run in CI (.ci/run installs it)');
  it.skipIf(noShellcheck)('shellcheck: an unquoted variable', () => {
    const r = run('shellcheck', [path.join(FIX, 'bad-script.sh')]);
    expect(r.status, r.out).not.toBe(0);
    expect(r.out).toContain('SC2086');
  });
});
