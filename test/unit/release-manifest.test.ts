/** Release manifests and verification on small trees; the atomic `current` switch. */
import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diffManifest, formatManifest, hashTree, listTree, MANIFEST_FILE, parseManifest, verifyTree } from '../../pilot/src/release/index.js';
import { switchCurrent } from '../../cvmfs-layout/src/switch-current.js';
import { checkVersion } from '../../cvmfs-layout/src/build-tree.js';

async function smallTree(): Promise<string> {
  const root = mkdtempSync(path.join(tmpdir(), 'tree-'));
  mkdirSync(path.join(root, 'pilot'));
  mkdirSync(path.join(root, 'config', 'queuedata'), { recursive: true });
  writeFileSync(path.join(root, 'pilot', 'panda-pilot.mjs'), 'console.log(1)\n');
  writeFileSync(path.join(root, 'config', 'queuedata', 'Q.all.json'), '{"name":"Q"}\n');
  writeFileSync(path.join(root, 'setup.sh'), 'export X=1\n');
  const listing = listTree(root);
  writeFileSync(path.join(root, MANIFEST_FILE), formatManifest(await hashTree(root, listing.files)));
  return root;
}

describe('manifest text', () => {
  it('is sha256sum format, sorted, and parses back', async () => {
    const root = await smallTree();
    const text = formatManifest(await hashTree(root, listTree(root).files));
    expect(text.split('\n')[0]).toMatch(/^[0-9a-f]{64} {2}config\/queuedata\/Q\.all\.json$/);
    const { manifest, errors } = parseManifest(text);
    expect(errors).toEqual([]);
    expect([...manifest.keys()]).toEqual(['config/queuedata/Q.all.json', 'pilot/panda-pilot.mjs', 'setup.sh']);
  });

  it('refuses bad lines, paths that leave the tree, and repeats', () => {
    const h = 'a'.repeat(64);
    const { errors } = parseManifest(`nonsense\n${h}  ../etc/passwd\n${h}  /abs\n${h}  x\n${h}  x\n`);
    expect(errors).toEqual([
      'MANIFEST.sha256 line 1: not "<sha256>  <path>"',
      'MANIFEST.sha256 line 2: path ../etc/passwd leaves the tree',
      'MANIFEST.sha256 line 3: path /abs leaves the tree',
      'MANIFEST.sha256 line 5: x listed twice',
    ]);
  });

  it('diffManifest sorts each kind of difference', () => {
    const expected = new Map([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    const actual = new Map([
      ['a', '1'],
      ['b', 'X'],
      ['d', '4'],
    ]);
    expect(diffManifest(expected, actual, ['link'])).toEqual({ missing: ['c'], extra: ['d', 'link'], modified: ['b'] });
  });
});

describe('verifyTree', () => {
  it('passes an untouched tree, through panda_env/current too', async () => {
    const root = await smallTree();
    expect((await verifyTree(root)).ok).toBe(true);
    const env = mkdtempSync(path.join(tmpdir(), 'env-'));
    mkdirSync(path.join(env, 'panda_env'));
    symlinkSync(root, path.join(env, 'panda_env', 'current'));
    const r = await verifyTree(env);
    expect(r.ok).toBe(true);
    expect(r.tree).toBe(root);
  });

  it('lists modified, missing and extra files (a symlink is extra)', async () => {
    const root = await smallTree();
    appendFileSync(path.join(root, 'pilot', 'panda-pilot.mjs'), '// changed\n');
    rmSync(path.join(root, 'setup.sh'));
    writeFileSync(path.join(root, 'config', 'new.json'), '{}');
    symlinkSync('/etc/passwd', path.join(root, 'config', 'link'));
    const r = await verifyTree(root);
    expect(r.ok).toBe(false);
    expect(r.diff).toEqual({ modified: ['pilot/panda-pilot.mjs'], missing: ['setup.sh'], extra: ['config/link', 'config/new.json'] });
  });

  it('says so when there is no manifest to check against', async () => {
    const r = await verifyTree(mkdtempSync(path.join(tmpdir(), 'empty-')));
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toMatch(/no MANIFEST\.sha256/);
  });
});

describe('switchCurrent and versions', () => {
  it('repoints current, keeps the versions, and never replaces a real directory', () => {
    const env = mkdtempSync(path.join(tmpdir(), 'panda_env-'));
    mkdirSync(path.join(env, 'v1.0.0'));
    mkdirSync(path.join(env, 'v1.0.1'));
    switchCurrent(env, 'v1.0.0');
    expect(readlinkSync(path.join(env, 'current'))).toBe('v1.0.0');
    switchCurrent(env, 'v1.0.1');
    expect(readlinkSync(path.join(env, 'current'))).toBe('v1.0.1');
    const other = mkdtempSync(path.join(tmpdir(), 'panda_env-'));
    mkdirSync(path.join(other, 'current'));
    expect(() => switchCurrent(other, 'v1.0.0')).toThrow(/not a symlink/);
  });

  it('takes only X.Y.Z versions', () => {
    expect(() => checkVersion('1.2.3')).not.toThrow();
    for (const bad of ['1.2', 'v1.2.3', '1.2.3-rc1', '../1.2.3']) expect(() => checkVersion(bad)).toThrow(/X\.Y\.Z/);
  });
});
