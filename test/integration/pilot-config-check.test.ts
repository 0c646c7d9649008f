/** `panda-pilot config check` from the bundle: explains good files, lists every problem as file: field: problem with exit 1. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PILOT_BIN, ROOT, scratchDir } from '../support/processes.js';

const check = (...files: string[]) => spawnSync(process.execPath, [PILOT_BIN, 'config', 'check', ...files], { encoding: 'utf8', timeout: 15_000 });

describe('panda-pilot config check', () => {
  it('explains the shipped configuration', () => {
    const r = check(path.join(ROOT, 'site-config'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/SLAC_Rubin_Medium \(SLAC, US, T0\): online, takes brokered jobs; 4000 < job memory ≤ 8000 MB; .*asks for resource type U8G/);
    expect(r.stdout).toMatch(/SLAC_Rubin_Merge .*brokeroff, takes only jobs submitted to it by name/);
    expect(r.stdout).toMatch(/1\. U2G: cores 1–1, memory per core 0–2000 MB/);
    expect(r.stdout).toMatch(/OK: 6 file\(s\), \d+ queue\(s\), 9 resource type\(s\)/);
  });

  it('lists every problem with file and field, exit 1', () => {
    const dir = scratchDir('check');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        facility: 'X',
        defaults: { site: 'X', cloud: 'US', tier: 'T1', status: 'online' },
        queues: [
          { name: 'A', maxrss: '8GB' },
          { name: 'B', minrs: 1 },
        ],
      }),
    );
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{');
    const r = check(bad, broken);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${bad}: queues[0].maxrss: maxrss (MB) must be a number (got "8GB")`);
    expect(r.stdout).toContain(`${bad}: queues[1].minrs: unknown field (did you mean "minrss"?)`);
    expect(r.stdout).toMatch(new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\(file\\): not valid JSON`));
    expect(r.stdout).toMatch(/3 problem\(s\)/);
  });

  it('a command without its arguments is a usage error (65) that runs nothing', () => {
    for (const args of [['config'], ['config', 'check'], ['release', 'verify'], ['config', 'nonsense', 'x']]) {
      const r = spawnSync(process.execPath, [PILOT_BIN, ...args], { encoding: 'utf8', timeout: 15_000 });
      expect(r.status, args.join(' ')).toBe(65);
      expect(r.stderr).toMatch(/Try panda-pilot --help/);
      expect(r.stdout).toBe('');
    }
  });

  it('keeps the pull loop as the default command', () => {
    const r = spawnSync(process.execPath, [PILOT_BIN, '--url', 'http://127.0.0.1:1'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/-q\/--queue is required/);
  });
});
