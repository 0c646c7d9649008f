/** dist/panda-pilot.mjs must run on its own: copied alone to an empty dir, with no node_modules anywhere above it. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PILOT_BIN, scratchDir } from '../support/processes.js';

describe('the pilot bundle', () => {
  it('is one self-contained file with a node shebang', () => {
    const dir = scratchDir('bundle');
    const copy = path.join(dir, 'panda-pilot.mjs');
    copyFileSync(PILOT_BIN, copy);
    expect(readFileSync(copy, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const help = execFileSync(process.execPath, [copy, '--help'], { cwd: dir, env: { PATH: process.env.PATH ?? '', NODE_PATH: '' } }).toString();
    expect(help).toMatch(/-q, --queue/);
    expect(help).toMatch(/--api/);
    const version = execFileSync(process.execPath, [copy, '--version'], { cwd: dir }).toString().trim();
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
