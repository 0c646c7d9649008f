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

describe('decodeForm against URLSearchParams', () => {
  // A seeded generator: the same 20,000 random bodies every run, built from the characters that matter to the
  // form encoding (separators, escapes good and bad, '+', multi-byte and lone surrogates).
  let seed = 0x2545f491;
  const random = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const atoms = [
    'a',
    'Z',
    '0',
    '=',
    '&',
    '&&',
    '+',
    '%',
    '%2',
    '%20',
    '%26',
    '%3D',
    '%2B',
    '%zz',
    '%C3%A9',
    '%E2%82',
    '%FF',
    'é',
    '€',
    '\uD83D\uDE00',
    '\uD800',
    '?',
    ' ',
    '__proto__',
    'NULL',
  ];
  const body = () => Array.from({ length: random(12) }, () => atoms[random(atoms.length)]).join('');
  // Without a prototype, as decodeForm's result: a name like `__proto__` is kept, not swallowed by the setter.
  const reference = (text: string) => {
    const out = Object.create(null) as Record<string, string>;
    for (const [k, v] of new URLSearchParams(text)) out[k] = v;
    return out;
  };

  it('decodes exactly as URLSearchParams does, last value winning', () => {
    for (let i = 0; i < 20_000; i++) {
      const text = body();
      expect(decodeForm(text), JSON.stringify(text)).toEqual(reference(text));
    }
  });

  it('stays linear on a large body of bare names', () => {
    const text = 'a&'.repeat(500_000);
    expect(decodeForm(text)).toEqual({ a: '' });
  });
});
