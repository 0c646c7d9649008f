/**
 * The pilot's own .tar.gz writer for log tarballs: what it writes is read
 * back by the system's tar (not by the code that wrote it), and every failure
 * is a rejected promise (a reported 1320), never an uncaught exception.
 */
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeLogTarball } from '../../pilot/src/run/index.js';
import { ustarName, writeTarGz } from '../../pilot/src/run/tar-gz.js';
import { PilotError } from '../../pilot/src/errors/index.js';
import { scratchDir } from '../support/processes.js';

function systemTar(args: string[]): string {
  const r = spawnSync('tar', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('writeTarGz', () => {
  it('writes what the system tar reads back: folders, empty files with another hard link, a member over one read chunk', async () => {
    const dir = scratchDir('targz');
    const outside = path.join(dir, 'outside');
    const stage = path.join(dir, 'stage');
    mkdirSync(outside);
    mkdirSync(path.join(stage, 'top'), { recursive: true });
    // Empty files with a second hard link: the tree on which the tar package throws uncaught (zlib "stream error").
    for (let i = 0; i < 50; i++) {
      writeFileSync(path.join(outside, `e${i}`), '');
      mkdirSync(path.join(stage, 'top', `r${i}`));
      linkSync(path.join(outside, `e${i}`), path.join(stage, 'top', `r${i}`, 'payload.stdout'));
    }
    const big = Buffer.alloc(3 * 1024 * 1024 + 77, 'ab');
    writeFileSync(path.join(stage, 'top', 'big.bin'), big);
    const target = path.join(dir, 'out.tgz');

    await writeTarGz(stage, 'top', target);

    const names = systemTar(['tzf', target]).trim().split('\n');
    expect(names[0]).toBe('top/');
    expect(names).toContain('top/big.bin');
    expect(names).toContain('top/r49/payload.stdout');
    expect(names).toHaveLength(1 + 1 + 50 * 2);
    const back = scratchDir('targz-x');
    systemTar(['xzf', target, '-C', back]);
    expect(readFileSync(path.join(back, 'top', 'big.bin')).equals(big)).toBe(true);
    expect(readFileSync(path.join(back, 'top', 'r7', 'payload.stdout'), 'utf8')).toBe('');
  });

  it('a name over 100 bytes goes in the ustar prefix and comes back whole', async () => {
    const dir = scratchDir('targz-long');
    const long = `range-${'x'.repeat(90)}`;
    mkdirSync(path.join(dir, 'top', long), { recursive: true });
    writeFileSync(path.join(dir, 'top', long, 'payload.stderr'), 'from a range with a long name\n');
    const target = path.join(dir, 'out.tgz');
    await writeTarGz(dir, 'top', target);
    expect(systemTar(['tzf', target]).trim().split('\n')).toEqual(['top/', `top/${long}/`, `top/${long}/payload.stderr`]);
    const back = scratchDir('targz-long-x');
    systemTar(['xzf', target, '-C', back]);
    expect(readFileSync(path.join(back, 'top', long, 'payload.stderr'), 'utf8')).toBe('from a range with a long name\n');
  });

  it('a name that fits neither ustar field, or a target that cannot be written, rejects', async () => {
    const dir = scratchDir('targz-bad');
    const deep = path.join('top', 'y'.repeat(120), 'z'.repeat(120));
    mkdirSync(path.join(dir, deep), { recursive: true });
    writeFileSync(path.join(dir, deep, 'f'), 'x');
    await expect(writeTarGz(dir, 'top', path.join(dir, 'a.tgz'))).rejects.toThrow(/name too long for a tar archive/);
    await expect(writeTarGz(dir, 'top', path.join(dir, 'no-such-dir', 'a.tgz'))).rejects.toThrow(/ENOENT/);
    expect(() => ustarName(`${'p'.repeat(150)}/${'n'.repeat(99)}`)).not.toThrow();
    expect(ustarName(`${'p'.repeat(150)}/${'n'.repeat(99)}`)).toEqual({ prefix: 'p'.repeat(150), name: 'n'.repeat(99) });
  });
});

describe('writeLogTarball', () => {
  const input = (jobDir: string, logFile: string) => ({
    jobDir,
    logFile,
    pandaId: 42,
    pilotLogFile: null,
    pilotLogFrom: 0,
    jobDescription: { PandaID: 42 },
  });

  it("a job's log: the system tar lists its members under the tarball's name", async () => {
    const jobDir = scratchDir('logtar');
    writeFileSync(path.join(jobDir, 'payload.stdout'), 'out\n');
    writeFileSync(path.join(jobDir, 'payload.stderr'), '');
    const { file } = await writeLogTarball(input(jobDir, 'job.42.log.tgz'));
    expect(systemTar(['tzf', file]).trim().split('\n').sort()).toEqual([
      'job.42.log/',
      'job.42.log/job-description.json',
      'job.42.log/log-manifest.json',
      'job.42.log/payload.stderr',
      'job.42.log/payload.stdout',
    ]);
  });

  it('a tarball that cannot be written is PilotError 1320 naming the file, not a crash', async () => {
    const jobDir = scratchDir('logtar-bad');
    writeFileSync(path.join(jobDir, 'payload.stdout'), 'out\n');
    mkdirSync(path.join(jobDir, 'job.43.log.tgz')); // a folder where the tarball should go
    const made = writeLogTarball(input(jobDir, 'job.43.log.tgz'));
    await expect(made).rejects.toBeInstanceOf(PilotError);
    await expect(made).rejects.toMatchObject({ code: 1320, diagnostic: expect.stringMatching(/^cannot create log tarball job\.43\.log\.tgz: .*EISDIR/) });
  });
});
