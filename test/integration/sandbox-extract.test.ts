/**
 * Unpacking user sandboxes: hostile archives made here, byte by byte, are
 * refused with 1246 naming the entry, and nothing of them lands anywhere;
 * a good one unpacks.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PilotError } from '../../pilot/src/errors/index.js';
import { entryRefusal, extractSandbox, parsePrunJob, shellWords } from '../../pilot/src/run/index.js';
import { makeTarGz, type TarEntry } from '../support/tar-builder.js';

function setup(entries: readonly TarEntry[]) {
  const base = mkdtempSync(path.join(tmpdir(), 'sandbox-'));
  const jobDir = path.join(base, 'job');
  mkdirSync(jobDir);
  const archive = path.join(base, 'sb.tar.gz');
  writeFileSync(archive, makeTarGz(entries));
  return { base, jobDir, archive };
}

async function refused(entries: readonly TarEntry[], limits?: { maxEntries: number; maxBytes: number }) {
  const { base, jobDir, archive } = setup(entries);
  const err = await extractSandbox(archive, jobDir, limits).then(
    () => null,
    (e: unknown) => e,
  );
  return { err: err as PilotError, base, jobDir };
}

describe('extractSandbox', () => {
  it('unpacks a good sandbox: files, directories, links inside', async () => {
    const { jobDir, archive } = setup([
      { path: 'run.sh', body: '#!/bin/bash\necho hi\n', mode: 0o755 },
      { path: 'lib/', type: '5' },
      { path: 'lib/data.txt', body: 'data' },
      { path: 'lib/alias', type: '2', linkpath: 'data.txt' },
      { path: 'up', type: '2', linkpath: 'lib/../run.sh' },
    ]);
    await expect(extractSandbox(archive, jobDir)).resolves.toEqual({ entries: 5, bytes: 20 + 4 });
    expect(readFileSync(path.join(jobDir, 'lib/alias'), 'utf8')).toBe('data');
    expect(readlinkSync(path.join(jobDir, 'up'))).toBe('lib/../run.sh');
  });

  const hostile: [string, TarEntry[], RegExp][] = [
    [
      'a .. path',
      [
        { path: 'ok.txt', body: 'x' },
        { path: '../escape.txt', body: 'pwned' },
      ],
      /entry "..\/escape.txt" refused: '..' in the path/,
    ],
    ['a .. in the middle', [{ path: 'a/../../escape.txt', body: 'pwned' }], /entry "a\/..\/..\/escape.txt" refused: '..' in the path/],
    ['an absolute path', [{ path: '/tmp/escape-abs.txt', body: 'pwned' }], /entry "\/tmp\/escape-abs.txt" refused: absolute path/],
    ['a symlink out', [{ path: 'link', type: '2', linkpath: '../../etc' }], /entry "link" refused: link leads out of the job dir/],
    ['a symlink to an absolute path', [{ path: 'passwd', type: '2', linkpath: '/etc/passwd' }], /entry "passwd" refused: link to an absolute path/],
    ['a hard link out', [{ path: 'hard', type: '1', linkpath: '../outside' }], /entry "hard" refused: link leads out/],
    ['a character device', [{ path: 'null', type: '3' }], /entry "null" refused: CharacterDevice entries are not allowed/],
    ['a block device', [{ path: 'disk', type: '4' }], /entry "disk" refused: BlockDevice entries are not allowed/],
    ['a FIFO', [{ path: 'pipe', type: '6' }], /entry "pipe" refused: FIFO entries are not allowed/],
  ];
  it.each(hostile)('refuses %s with 1246 naming the entry, unpacking nothing', async (_what, entries, diag) => {
    const { err, base, jobDir } = await refused(entries);
    expect(err).toBeInstanceOf(PilotError);
    expect(err.code).toBe(1246);
    expect(err.diagnostic).toMatch(diag);
    expect(existsSync(path.join(base, 'escape.txt'))).toBe(false);
    expect(existsSync(path.join(jobDir, 'ok.txt'))).toBe(false);
    expect(existsSync('/tmp/escape-abs.txt')).toBe(false);
  });

  it('refuses too many entries and too many bytes, naming where it stopped', async () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ path: `f${i}`, body: 'x' }));
    const a = await refused(many, { maxEntries: 10, maxBytes: 1e9 });
    expect(a.err.code).toBe(1246);
    expect(a.err.diagnostic).toMatch(/more than 10 entries \(at "f10"\)/);
    const b = await refused(
      [
        { path: 'small', body: 'x' },
        { path: 'big', body: Buffer.alloc(5000) },
      ],
      { maxEntries: 10, maxBytes: 4096 },
    );
    expect(b.err.diagnostic).toMatch(/more than 4096 bytes unpacked \(at "big"\)/);
  });

  it('refuses something that is not a tar archive', async () => {
    const base = mkdtempSync(path.join(tmpdir(), 'sandbox-'));
    writeFileSync(path.join(base, 'junk.tgz'), 'this is not gzip');
    const err = (await extractSandbox(path.join(base, 'junk.tgz'), base).catch((e: unknown) => e)) as PilotError;
    expect(err.code).toBe(1246);
  });
});

describe('entryRefusal (the rule, on made-up entries)', () => {
  const root = '/jobs/PanDA_Pilot-1';
  it('lets ordinary entries through', () => {
    expect(entryRefusal(root, { path: 'a/b/c.txt', type: 'File' })).toBeNull();
    expect(entryRefusal(root, { path: 'a/l', type: 'SymbolicLink', linkpath: '../x' })).toBeNull();
  });
  it('refuses a symlink that climbs out from a subdirectory', () => {
    expect(entryRefusal(root, { path: 'a/l', type: 'SymbolicLink', linkpath: '../../x' })).toMatch(/leads out/);
  });
});

describe('parsePrunJob', () => {
  it('reads the parameters prun writes', () => {
    const p = parsePrunJob('-j "" --sourceURL https://panda.example.org:25443 -p "./main.sh%20arg%201" -a jobO.1234.tar.gz -r .', 'http://fallback');
    expect(p).toEqual({
      sandboxUrl: 'https://panda.example.org:25443/cache/jobO.1234.tar.gz',
      archive: 'jobO.1234.tar.gz',
      command: './main.sh arg 1',
      runDir: '.',
    });
    expect(parsePrunJob("-p 'echo%20hi' -a sb.tgz", 'http://cache:8080/').sandboxUrl).toBe('http://cache:8080/cache/sb.tgz');
  });
  it('refuses an archive name with a path in it', () => {
    expect(() => parsePrunJob('-p x -a ../../etc/passwd', 'http://c')).toThrow(/not a plain file name/);
  });
  it('splits words as a shell would for these parameters', () => {
    expect(shellWords(`-j "" -p 'a b' c\\ d "e\\"f"`)).toEqual(['-j', '', '-p', 'a b', 'c d', 'e"f']);
  });
});
