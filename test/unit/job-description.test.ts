import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decodeForm } from '../../pilot/src/protocol/index.js';
import { MalformedJobError, parseJobDescription } from '../../pilot/src/job/index.js';

const legacy = decodeForm(readFileSync('test/fixtures/getjob-rubin-legacy.txt', 'utf8'));
const v1 = JSON.parse(readFileSync('test/fixtures/getjob-rubin-v1.json', 'utf8')).data.jobs[0];

describe('parseJobDescription', () => {
  it('reads the legacy (all strings) and v1 (typed) forms to the same job', () => {
    const a = parseJobDescription(legacy);
    const b = parseJobDescription(v1);
    for (const j of [a, b]) {
      expect(j.pandaId).toBe(20102499);
      expect(j.attemptNr).toBe(1);
      expect(j.coreCount).toBe(1);
      expect(j.minRamCount).toBe(4000);
      expect(j.maxWalltime).toBe(900);
      expect(j.logFile).toBe('u_zhaoyu_test_step1_isr.20102499.log.tgz');
      expect(j.eventService).toBe(false);
    }
  });

  it('reads the event-service flag', () => {
    const es = decodeForm(readFileSync('test/fixtures/getjob-rubin-es-legacy.txt', 'utf8'));
    expect(parseJobDescription(es).eventService).toBe(true);
    expect(parseJobDescription(es).coreCount).toBe(2);
  });

  it('refuses a description without PandaID, and cannot name a job to report to', () => {
    const { PandaID: _drop, ...rest } = legacy;
    const err = (() => {
      try {
        parseJobDescription(rest);
      } catch (e) {
        return e as MalformedJobError;
      }
      throw new Error('accepted a job without PandaID');
    })();
    expect(err).toBeInstanceOf(MalformedJobError);
    expect(err.pandaId).toBeNull();
    expect(err.code).toBe(1008);
    expect(err.diagnostic).toMatch(/PandaID is missing/);
  });

  it('names the field with a bad type and keeps the PandaID for the report', () => {
    expect(() => parseJobDescription({ ...legacy, coreCount: 'two' })).toThrow(/coreCount must be an integer/);
    try {
      parseJobDescription({ ...legacy, maxWalltime: { x: 1 } });
    } catch (e) {
      expect((e as MalformedJobError).pandaId).toBe(20102499);
    }
    expect(() => parseJobDescription({ ...legacy, eventService: 'maybe' })).toThrow(/eventService must be True or False/);
    expect(() => parseJobDescription([legacy])).toThrow(/expected an object/);
  });

  it('refuses a log file name that would escape the job dir', () => {
    expect(() => parseJobDescription({ ...legacy, logFile: '../../etc/cron.d/x' })).toThrow(/logFile must be a plain file name/);
  });
});
