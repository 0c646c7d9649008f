/**
 * The log tarball is written by the pilot's own streaming ustar writer:
 * read back here with the system tar (not the code that made it).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeLogTarball } from '../../pilot/src/run/index.js';
import { deflateSizing } from '../../pilot/src/run/tar-gz.js';
import { scratchDir } from '../support/processes.js';

function untar(file: string): string {
  const dir = scratchDir('log-tarball-x');
  const r = spawnSync('tar', ['xzf', file, '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return dir;
}

describe('log tarball', () => {
  it('holds each member as it was, cuts a long one with its mark, lists them, and survives a long path', async () => {
    const jobDir = scratchDir('log-tarball-job');
    const stdout = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join('');
    writeFileSync(path.join(jobDir, 'payload.stdout'), stdout);
    writeFileSync(path.join(jobDir, 'payload.stderr'), '');
    writeFileSync(path.join(jobDir, 'jobReport.json'), '{"exitCode":0}\n');
    // A range dir: the member path goes past ustar's 100-byte name with a long log name.
    const range = '1234567890-1-1234567890-1234567890-1';
    mkdirSync(path.join(jobDir, range));
    writeFileSync(path.join(jobDir, range, 'payload.stderr'), 'range err\n');
    const logFile = `${'x'.repeat(60)}.log.tgz`;
    const { file, manifest } = await writeLogTarball({
      jobDir,
      logFile,
      pandaId: 1234,
      pilotLogFile: null,
      pilotLogFrom: 0,
      jobDescription: { PandaID: 1234, secretToken: 'abc' },
      limits: { memberMaxBytes: 4096, totalMaxBytes: 1 << 20 },
    });
    const top = path.join(untar(file), logFile.replace(/\.tgz$/, ''));
    expect(readdirSync(top).sort()).toEqual([range, 'job-description.json', 'jobReport.json', 'log-manifest.json', 'payload.stderr', 'payload.stdout'].sort());
    expect(readFileSync(path.join(top, 'payload.stderr'), 'utf8')).toBe('');
    expect(readFileSync(path.join(top, 'jobReport.json'), 'utf8')).toBe('{"exitCode":0}\n');
    expect(readFileSync(path.join(top, range, 'payload.stderr'), 'utf8')).toBe('range err\n');
    expect(readFileSync(path.join(top, 'job-description.json'), 'utf8')).not.toContain('abc');
    const cut = readFileSync(path.join(top, 'payload.stdout'), 'utf8');
    expect(cut.startsWith('line 0\n')).toBe(true);
    expect(cut.endsWith('line 4999\n')).toBe(true);
    expect(cut).toMatch(/\[panda-pilot: \d+ bytes cut here; the file had 48890 bytes/);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(4096);
    const listed = JSON.parse(readFileSync(path.join(top, 'log-manifest.json'), 'utf8')) as { members: typeof manifest };
    expect(listed.members).toEqual(manifest);
    expect(manifest.find((m) => m.name === 'payload.stdout')).toMatchObject({ bytes: 48890, stored: Buffer.byteLength(cut), truncated: true });
  });

  it('leaves members out once the total cap is spent, and says so in the manifest', async () => {
    const jobDir = scratchDir('log-tarball-cap');
    writeFileSync(path.join(jobDir, 'payload.stderr'), 'e'.repeat(3000));
    writeFileSync(path.join(jobDir, 'payload.stdout'), 'o'.repeat(3000));
    const { file, manifest } = await writeLogTarball({
      jobDir,
      logFile: 'cap.log.tgz',
      pandaId: 1,
      pilotLogFile: null,
      pilotLogFrom: 0,
      jobDescription: {},
      limits: { memberMaxBytes: 1 << 20, totalMaxBytes: 3100 },
    });
    const top = path.join(untar(file), 'cap.log');
    expect(readdirSync(top)).not.toContain('payload.stdout');
    expect(manifest.find((m) => m.name === 'payload.stdout')).toMatchObject({ bytes: 3000, stored: 0, omitted: true });
  });

  it("sizes deflate's state to a job's few kB (no window past the input), keeps zlib's defaults from 1 MB", () => {
    const small = deflateSizing([{ name: 'a', parts: [], size: 9000, mtimeSec: 0 }]);
    // 9000 bytes + headers < 2^14: a 16 kB window sees the whole input, as the default 32 kB one would.
    expect(small.windowBits).toBe(14);
    expect(small.memLevel).toBeLessThan(8);
    expect(deflateSizing([{ name: 'a', parts: [], size: 2 << 20, mtimeSec: 0 }])).toEqual({ windowBits: 15, memLevel: 8 });
  });

  it('a member larger than one small read (streamed in chunks) comes back byte for byte', async () => {
    const jobDir = scratchDir('log-tarball-big');
    const series = Array.from({ length: 6000 }, (_, i) => `{"t":${i},"rss":${i * 7}}\n`).join('');
    writeFileSync(path.join(jobDir, 'memory_monitor_output.jsonl'), series);
    const { file } = await writeLogTarball({ jobDir, logFile: 'big.log.tgz', pandaId: 7, pilotLogFile: null, pilotLogFrom: 0, jobDescription: {} });
    expect(Buffer.byteLength(series)).toBeGreaterThan(64 * 1024);
    expect(readFileSync(path.join(untar(file), 'big.log', 'memory_monitor_output.jsonl'), 'utf8')).toBe(series);
  });
});
