/** The pure credential verdicts and the refresh schedule. */
import { describe, expect, it } from 'vitest';
import { jwtClaims, tokenVerdict, x509Verdict } from '../../pilot/src/credentials/index.js';
import { refreshDelayMs } from '../../pilot/src/server/index.js';
import { doctorExitCode, rttSummary } from '../../pilot/src/cli/doctor.js';

const jwt = (claims: object) => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('tokenVerdict', () => {
  it('1364 for a missing or expired token; ok with the expiry otherwise', () => {
    expect(tokenVerdict({ source: 'file /t', token: null, nowSec: 100 })).toMatchObject({ ok: false, code: 1364, diagnostic: 'no token in file /t' });
    expect(tokenVerdict({ source: 'X', token: jwt({ exp: 100 }), nowSec: 100 })).toMatchObject({ ok: false, code: 1364, exitCode: 65 });
    const ok = tokenVerdict({ source: 'X', token: jwt({ exp: 200 }), nowSec: 100 });
    expect(ok.ok && ok.expiresAt?.getTime()).toBe(200_000);
    expect(tokenVerdict({ source: 'X', token: 'opaque-token', nowSec: 100 }).ok).toBe(true);
    expect(jwtClaims('a.b')).toBeNull();
    expect(jwtClaims(`a.${Buffer.from('[1]').toString('base64url')}.c`)).toBeNull();
  });
});

describe('x509Verdict', () => {
  const found = (notAfterMs: number) => ({ found: true as const, file: '/p', subject: 'CN=x', notAfter: new Date(notAfterMs) });
  it("pilot3's codes: 1163 missing, 1373 expired (exit 68), 1382 too short (exit 80)", () => {
    expect(x509Verdict({ found: false, file: '/p', error: 'ENOENT' }, 0, 600)).toMatchObject({ ok: false, code: 1163, exitCode: 68 });
    expect(x509Verdict(found(1_000), 1_000, 600)).toMatchObject({ ok: false, code: 1373, exitCode: 68 });
    expect(x509Verdict(found(1_000 + 599_000), 1_000, 600)).toMatchObject({ ok: false, code: 1382, exitCode: 80 });
    expect(x509Verdict(found(1_000 + 601_000), 1_000, 600).ok).toBe(true);
  });
});

describe('refreshDelayMs', () => {
  it('a fifth of the life before expiry, between 5 s and 5 min; now when already due', () => {
    expect(refreshDelayMs({ iat: 0, exp: 3600 }, 0)).toBe((3600 - 300) * 1000);
    expect(refreshDelayMs({ iat: 0, exp: 100 }, 0)).toBe(80_000);
    expect(refreshDelayMs({ iat: 0, exp: 10 }, 0)).toBe(5_000);
    expect(refreshDelayMs({ iat: 0, exp: 10 }, 9_000)).toBe(0);
    expect(refreshDelayMs({}, 0)).toBeNull();
    expect(refreshDelayMs(null, 0)).toBeNull();
  });
});

describe('doctor verdict', () => {
  it('exit 0 without FAIL, else the first FAIL’s code; rtt min/median/max', () => {
    expect(doctorExitCode([{ check: 'a', status: 'warn', detail: '' }])).toBe(0);
    expect(
      doctorExitCode([
        { check: 'a', status: 'ok', detail: '' },
        { check: 'b', status: 'FAIL', detail: '', exitCode: 79 },
        { check: 'c', status: 'FAIL', detail: '', exitCode: 68 },
      ]),
    ).toBe(79);
    expect(rttSummary([5, 1, 9, 3])).toEqual({ min: 1, median: 3, max: 9 });
  });
});
