import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeLegacyParams, decodeV1Body, decodeV1Query, legacyValue } from '../../server-stub/src/http/body-codec.js';
import { encodeLegacyForm, legacyReply, v1Reply } from '../../server-stub/src/http/reply.js';
import { BadRequestError, type StubRequest } from '../../server-stub/src/http/types.js';
import { coerceV1Params } from '../../server-stub/src/api/v1-types.js';
import { legacyUpdateName, reportFromLegacyNames, v1UpdateToLegacyNames } from '../../server-stub/src/api/normalise.js';
import { pythonArgumentError } from '../../server-stub/src/api/legacy-pilot.js';
import { v1ArgumentError } from '../../server-stub/src/api/v1-pilot.js';

const request = (body: Buffer | string, headers: Record<string, string> = {}, query = ''): StubRequest => ({
  method: 'POST',
  path: '/server/panda/updateJob',
  query: new URLSearchParams(query),
  headers,
  body: Buffer.isBuffer(body) ? body : Buffer.from(body),
});

describe('legacy request bodies', () => {
  it('decodes form-urlencoded', () => {
    expect(decodeLegacyParams(request('jobId=1000001&state=running&pilotErrorDiag=a+b%26c'))).toEqual({
      jobId: '1000001',
      state: 'running',
      pilotErrorDiag: 'a b&c',
    });
  });

  it('decodes plain and gzip JSON under application/json into strings, as the server sees them', () => {
    const value = { jobId: 1000001, state: 'running', coreCount: 2, debug: true, xml: { a: 1 }, timeout: null };
    const expected = { jobId: '1000001', state: 'running', coreCount: '2', debug: 'True', xml: '{"a":1}' };
    const json = { 'content-type': 'application/json' };
    expect(decodeLegacyParams(request(JSON.stringify(value), json))).toEqual(expected);
    expect(decodeLegacyParams(request(gzipSync(JSON.stringify(value)), json))).toEqual(expected);
  });

  it('refuses broken JSON and broken gzip clearly', () => {
    const json = { 'content-type': 'application/json' };
    expect(() => decodeLegacyParams(request('{nope', json))).toThrow(BadRequestError);
    expect(() => decodeLegacyParams(request(Buffer.from([0x1f, 0x8b, 1, 2, 3]), json))).toThrow(/gzip/);
    expect(() => decodeLegacyParams(request('[1,2]', json))).toThrow(/object/);
  });

  it('turns JSON booleans into the strings the legacy server passes on', () => {
    expect(legacyValue(false)).toBe('False');
    expect(legacyValue(3)).toBe('3');
    expect(legacyValue(null)).toBeUndefined();
  });
});

describe('v1 request bodies', () => {
  it('needs Content-Type exactly application/json', () => {
    expect(() => decodeV1Body(request('{}', { 'content-type': 'application/json; charset=utf-8' }))).toThrow(/exactly application\/json/);
    expect(() => decodeV1Body(request('a=1', { 'content-type': 'application/x-www-form-urlencoded' }))).toThrow(BadRequestError);
    expect(decodeV1Body(request(gzipSync('{"a":1}'), { 'content-type': 'application/json', 'content-encoding': 'gzip' }))).toEqual({ a: 1 });
  });

  it('accepts numbers and numeric strings for integers, refuses the rest with a Type error', () => {
    expect(coerceV1Params('pilot/update_job', { job_id: '1000001', attempt_nr: 2, pilot_error_code: '1305' })).toEqual({
      ok: true,
      values: { job_id: 1000001, attempt_nr: 2, pilot_error_code: 1305 },
    });
    expect(coerceV1Params('pilot/update_job', { attempt_nr: 'two' })).toEqual({
      ok: false,
      message: "Type error: 'attempt_nr' must be of type int, got str.",
    });
    expect(coerceV1Params('pilot/update_job', { trans_exit_code: 1.5 })).toMatchObject({ ok: false });
    expect(coerceV1Params('pilot/update_job', { meta_data: { a: 1 } })).toMatchObject({ ok: false, message: expect.stringMatching(/meta_data.*str.*dict/) });
    expect(coerceV1Params('pilot/update_job', { max_rss: '123.5', node: null })).toEqual({ ok: true, values: { max_rss: 123.5 } });
    expect(coerceV1Params('pilot/acquire_jobs', { background: 'yes' })).toMatchObject({ ok: false });
  });
});

describe('argument checks with the servers’ wording', () => {
  it('a parameter named __proto__ is reported as unexpected, in every encoding, never dropped', () => {
    const json = { 'content-type': 'application/json' };
    const legacy = [
      decodeLegacyParams(request('siteName=X&__proto__=x')),
      decodeLegacyParams(request('siteName=X&%5F%5Fproto%5F%5F=x')),
      decodeLegacyParams(request('{"siteName":"X","__proto__":"x"}', json)),
      decodeLegacyParams(request('siteName=X', {}, '__proto__=x')),
    ];
    for (const params of legacy) {
      expect(Object.keys(params)).toContain('__proto__');
      expect(pythonArgumentError('getJob', params)).toBe("getJob() got an unexpected keyword argument '__proto__'");
    }
    const v1 = decodeV1Body(request('{"site_name":"X","__proto__":"x"}', json));
    expect(v1ArgumentError('pilot/acquire_jobs', v1)).toBe("Argument error: got an unexpected keyword argument '__proto__'");
    const query = decodeV1Query({ ...request(''), method: 'GET', query: new URLSearchParams('site_name=X&__proto__=x') });
    expect(v1ArgumentError('pilot/acquire_jobs', query)).toBe("Argument error: got an unexpected keyword argument '__proto__'");
  });

  it('legacy: unknown and missing names read like Python TypeErrors', () => {
    expect(pythonArgumentError('getJob', { siteName: 'X', bogus: '1' })).toBe("getJob() got an unexpected keyword argument 'bogus'");
    expect(pythonArgumentError('updateJob', {})).toBe("updateJob() missing 2 required positional arguments: 'jobId' and 'state'");
    expect(pythonArgumentError('updateJob', { jobId: '1', state: '' })).toBeNull();
  });

  it('v1: Argument error', () => {
    expect(v1ArgumentError('pilot/acquire_jobs', { site_name: 'X', siteName: 'X' })).toBe("Argument error: got an unexpected keyword argument 'siteName'");
    expect(v1ArgumentError('pilot/update_job', { job_id: 1 })).toBe("Argument error: missing a required argument: 'job_status'");
  });
});

describe('reply encodings', () => {
  const plain = request('');
  const wantsJson = request('', { accept: 'text/plain, application/json' });

  it('legacy: urlencoded by default, nested values as JSON text', () => {
    const reply = legacyReply(plain, { StatusCode: 0, jobs: [{ PandaID: 1 }], command: 'NULL' });
    expect(reply.headers['content-type']).toBe('text/plain');
    const back = new URLSearchParams(reply.body);
    expect(back.get('StatusCode')).toBe('0');
    expect(JSON.parse(back.get('jobs') ?? '')).toEqual([{ PandaID: 1 }]);
  });

  it('legacy: JSON when Accept contains application/json', () => {
    const reply = legacyReply(wantsJson, { StatusCode: 0, jobs: [{ PandaID: 1 }] });
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.body)).toEqual({ StatusCode: 0, jobs: [{ PandaID: 1 }] });
  });

  it('legacy urlencoding writes NULL for null and leaves out undefined', () => {
    expect(encodeLegacyForm({ a: null, b: undefined, c: 'x y' })).toBe('a=NULL&c=x+y');
  });

  it('encodes names and values exactly as URLSearchParams does', () => {
    // Every ASCII character, non-ASCII, astral, and lone surrogates (URLSearchParams writes U+FFFD for them).
    const samples = [
      Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join(''),
      'é ü 中文 😀',
      'a\uD800b',
      'x\uDC00',
      "it's (1) ~ok! * - _ .",
      'a=b&c=d+e%20f',
      '',
    ];
    let seed = 7;
    for (let n = 0; n < 300; n++) {
      let text = '';
      for (let i = 0; i < 12; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        text += String.fromCharCode(seed % 3 === 0 ? seed % 0xffff : seed % 128);
      }
      samples.push(text);
    }
    for (const text of samples) {
      const data = { [text]: text, n: 1.5, t: true, o: { k: text } };
      const expected = new URLSearchParams({ [text]: text, n: '1.5', t: 'true', o: JSON.stringify({ k: text }) }).toString();
      expect(encodeLegacyForm(data)).toBe(expected);
    }
  });

  it('v1: the envelope', () => {
    expect(JSON.parse(v1Reply(false, 'No jobs in PanDA').body)).toEqual({ success: false, message: 'No jobs in PanDA', data: null });
  });
});

describe('one vocabulary for both dialects', () => {
  it('maps v1 update names to legacy ones', () => {
    expect(legacyUpdateName('job_output_report')).toBe('xml');
    expect(legacyUpdateName('max_rss')).toBe('maxRSS');
    expect(legacyUpdateName('pilot_error_code')).toBe('pilotErrorCode');
    expect(legacyUpdateName('cpu_architecture_level')).toBe('cpu_architecture_level');
  });

  it('builds the same report from either dialect', () => {
    const fromLegacy = reportFromLegacyNames({
      jobId: '1',
      state: 'failed',
      attemptNr: '1',
      pilotErrorCode: '1305',
      pilotErrorDiag: 'exit 3',
      maxRSS: '1024',
      cpu_architecture_level: 'x86_64-v3',
      node: 'wn1',
    });
    const fromV1 = reportFromLegacyNames(
      v1UpdateToLegacyNames({
        job_id: 1,
        job_status: 'failed',
        attempt_nr: 1,
        pilot_error_code: 1305,
        pilot_error_diag: 'exit 3',
        max_rss: 1024,
        cpu_architecture_level: 'x86_64-v3',
        node: 'wn1',
      }),
    );
    expect(fromLegacy).toEqual({ pilotErrorCode: 1305, pilotErrorDiag: 'exit 3', maxRSS: 1024, cpuArchitectureLevel: 'x86_64-v3', node: 'wn1' });
    expect(fromV1).toEqual(fromLegacy);
  });
});
