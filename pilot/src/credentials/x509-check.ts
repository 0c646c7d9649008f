/**
 * Is the X.509 proxy usable? pilot3's codes and exit codes: missing or
 * unreadable 1163 (NOPROXY, exit 68), expired 1373 (CERTIFICATEHASEXPIRED,
 * exit 68), less left than the pilot needs 1382 (PROXYTOOSHORT, exit 80).
 */
import { X509Certificate } from 'node:crypto';
import { ErrorCode } from '../protocol/index.js';
import type { CredentialVerdict } from './token-check.js';

export const X509_CODES = {
  NOPROXY: ErrorCode.NOPROXY,
  CERTIFICATEHASEXPIRED: ErrorCode.CERTIFICATEHASEXPIRED,
  PROXYTOOSHORT: ErrorCode.PROXYTOOSHORT,
} as const;

export type X509Facts = { found: false; file: string; error: string } | { found: true; file: string; subject: string; notAfter: Date };

/** Reads the first certificate of a proxy file (a proxy file holds certificate, key and chain). */
export function readX509Facts(file: string, read: (f: string) => string): X509Facts {
  let pem: string;
  try {
    pem = read(file);
  } catch (err) {
    return { found: false, file, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (!block) return { found: false, file, error: 'no PEM certificate in it' };
  try {
    const cert = new X509Certificate(block);
    return { found: true, file, subject: cert.subject.replace(/\n/g, '/'), notAfter: new Date(cert.validTo) };
  } catch (err) {
    return { found: false, file, error: `not a certificate: ${(err as Error).message}` };
  }
}

export function x509Verdict(facts: X509Facts, nowMs: number, minLifetimeSec: number): CredentialVerdict {
  if (!facts.found) return { ok: false, code: X509_CODES.NOPROXY, exitCode: 68, diagnostic: `X.509 proxy ${facts.file}: ${facts.error}` };
  const leftSec = Math.floor((facts.notAfter.getTime() - nowMs) / 1000);
  if (leftSec <= 0)
    return {
      ok: false,
      code: X509_CODES.CERTIFICATEHASEXPIRED,
      exitCode: 68,
      diagnostic: `X.509 proxy ${facts.file} expired at ${facts.notAfter.toISOString()}`,
    };
  if (leftSec < minLifetimeSec) {
    return {
      ok: false,
      code: X509_CODES.PROXYTOOSHORT,
      exitCode: 80,
      diagnostic: `X.509 proxy ${facts.file} has ${leftSec} s left, the pilot needs at least ${minLifetimeSec} s`,
    };
  }
  return {
    ok: true,
    summary: `X.509 proxy ${facts.file} (${facts.subject}), valid until ${facts.notAfter.toISOString()} (${leftSec} s left)`,
    expiresAt: facts.notAfter,
  };
}
