import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildPayloadCommand, transformationName } from '../../pilot/src/run/index.js';
import { PilotError } from '../../pilot/src/errors/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ppc-'));

describe('buildPayloadCommand', () => {
  it('decodes bash-c-enc jobPars given as a URL transformation', () => {
    const cmd = 'echo hello; exit 3';
    expect(transformationName('https://storage.example.org/containers/bash-c-enc')).toBe('bash-c-enc');
    expect(
      buildPayloadCommand({ transformation: 'https://storage.example.org/containers/bash-c-enc', jobPars: Buffer.from(cmd).toString('base64') }, {}, dir),
    ).toBe(cmd);
  });

  it('refuses jobPars that are not base64 for bash-c-enc', () => {
    expect(() => buildPayloadCommand({ transformation: 'bash-c-enc', jobPars: 'echo $HOME!' }, {}, dir)).toThrow(/not valid base64/);
  });

  it('runs a found executable with jobPars as shell words, and reports 1346 for one that is missing', () => {
    const exe = path.join(dir, 'my tool.sh');
    writeFileSync(exe, '#!/bin/sh\necho ok\n');
    chmodSync(exe, 0o755);
    expect(buildPayloadCommand({ transformation: 'my tool.sh', jobPars: '--x 1' }, { PATH: '/usr/bin' }, dir)).toBe(`'${exe}' --x 1`);
    try {
      buildPayloadCommand({ transformation: 'no-such-transform', jobPars: '' }, { PATH: '/usr/bin' }, dir);
      throw new Error('accepted a missing transformation');
    } catch (e) {
      expect(e).toBeInstanceOf(PilotError);
      expect((e as PilotError).code).toBe(1346);
    }
  });
});
