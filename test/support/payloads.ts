/** A payload started the way the pilot starts one, in its own temp dir. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PayloadProcess } from '../../pilot/src/run/index.js';

export async function startPayload(command: string, opts: { cgroupProcsFile?: string } = {}): Promise<{ p: PayloadProcess; dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'payload-'));
  const p = await PayloadProcess.start({
    command,
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdoutPath: path.join(dir, 'payload.stdout'),
    stderrPath: path.join(dir, 'payload.stderr'),
    cgroupProcsFile: opts.cgroupProcsFile,
  });
  return { p, dir };
}
