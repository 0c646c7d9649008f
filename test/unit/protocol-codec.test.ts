import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  decodeForm,
  decodeLegacyReply,
  encodeForm,
  gzipJson,
  maybeGunzip,
  missingParams,
  unknownParams,
  LEGACY_PARAMS,
  V1_PARAMS,
  v1UpdateJobName,
  v1GetJobName,
} from '../../pilot/src/protocol/index.js';

describe('legacy form codec', () => {
  it('round-trips values with reserved characters and NULL', () => {
    const text = encodeForm({ jobId: 42, pilotErrorDiag: 'a&b=c d/é', xml: '{"x":1}', skipped: undefined, none: null });
    expect(text).not.toContain('skipped');
    expect(decodeForm(text)).toEqual({ jobId: '42', pilotErrorDiag: 'a&b=c d/é', xml: '{"x":1}', none: 'NULL' });
  });

  it('reads the getJob fixture as a flat dict of strings', () => {
    const reply = decodeLegacyReply(readFileSync('test/fixtures/getjob-rubin-legacy.txt', 'utf8'));
    expect(reply.StatusCode).toBe('0');
    expect(reply.PandaID).toBe('20102499');
    expect(reply.prodUserID).toBe('/DC=org/DC=example/CN=Zhaoyu Yang');
  });

  it('reads a bare Succeeded as StatusCode 0', () => {
    expect(decodeLegacyReply('Succeeded\n')).toEqual({ StatusCode: '0' });
  });

  it('gunzips only gzip bytes', () => {
    const z = gzipJson({ a: 1 });
    expect(JSON.parse(maybeGunzip(z).toString())).toEqual({ a: 1 });
    expect(maybeGunzip(Buffer.from('{"a":2}')).toString()).toBe('{"a":2}');
  });
});

describe('parameter names', () => {
  it('maps legacy updateJob names onto names v1 accepts', () => {
    for (const legacy of LEGACY_PARAMS.updateJob) {
      if (['token', 'timestamp', 'workdir', 'remainingSpace', 'messageLevel', 'computingElement', 'nInputFiles'].includes(legacy)) continue;
      expect(V1_PARAMS['pilot/update_job'], legacy).toContain(v1UpdateJobName(legacy));
    }
  });

  it('maps legacy getJob names onto names v1 accepts', () => {
    for (const legacy of [
      'siteName',
      'mem',
      'diskSpace',
      'prodSourceLabel',
      'node',
      'computingElement',
      'resourceType',
      'remaining_time',
      'jobType',
      'harvester_id',
      'worker_id',
    ]) {
      expect(V1_PARAMS['pilot/acquire_jobs'], legacy).toContain(v1GetJobName(legacy));
    }
  });

  it('finds unknown and missing names', () => {
    expect(unknownParams({ jobId: 1, state: 'x', bogus: 1 }, LEGACY_PARAMS.updateJob)).toEqual(['bogus']);
    expect(missingParams({ jobId: 1, state: '' }, ['jobId', 'state'])).toEqual(['state']);
  });
});
