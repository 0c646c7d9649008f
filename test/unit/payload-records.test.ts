/**
 * The payload records runpilot.sh and the next pilot read: whole under their
 * final name, and written wherever their dir went (a pilot makes the dir once,
 * then only again when a write finds it gone). Real files, no mocks.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgetPayloadGroup, recordPayloadGroup } from '../../pilot/src/run/payload-records.js';

const scratch = () => mkdtempSync(path.join(tmpdir(), 'payload-records-'));

describe('payload records', () => {
  it('writes a record whole under its pgid, and makes its dir again once it was removed', () => {
    const dir = path.join(scratch(), 'payloads');
    const first = recordPayloadGroup(dir, { pgid: 4242, cgroupProcsFile: '/sys/fs/cgroup/x/panda-1-1/cgroup.procs', jobDir: '/w/PanDA_Pilot-1' });
    expect(first).toBe(path.join(dir, '4242'));
    expect(readFileSync(path.join(dir, '4242'), 'utf8')).toBe('pgid=4242\ncgroup=/sys/fs/cgroup/x/panda-1-1\njobdir=/w/PanDA_Pilot-1\n');
    // Only the record: nothing half-written is left beside it.
    expect(readdirSync(dir)).toEqual(['4242']);

    // The dir is known to exist now; removed behind the pilot's back, the next record makes it again.
    rmSync(dir, { recursive: true });
    const second = recordPayloadGroup(dir, { pgid: 4343, cgroupProcsFile: null, jobDir: '/w/PanDA_Pilot-2' });
    expect(second).toBe(path.join(dir, '4343'));
    expect(readFileSync(path.join(dir, '4343'), 'utf8')).toBe('pgid=4343\ncgroup=\njobdir=/w/PanDA_Pilot-2\n');
    expect(readdirSync(dir)).toEqual(['4343']);
    forgetPayloadGroup(path.join(dir, '4343'));
    expect(existsSync(path.join(dir, '4343'))).toBe(false);
  });

  it('gives null when the home cannot hold records (best effort: the payload still runs)', () => {
    const file = path.join(scratch(), 'a-file');
    writeFileSync(file, '');
    expect(recordPayloadGroup(path.join(file, 'payloads'), { pgid: 4444, cgroupProcsFile: null, jobDir: '/w/PanDA_Pilot-3' })).toBeNull();
  });
});
