/**
 * Is the pilot's bearer token usable? Decoded, never verified here (the
 * server verifies): only its expiry is read, so an expired or missing token
 * ends the pilot with 1364 before it takes a job it could not report.
 */
import { ErrorCode } from '../protocol/index.js';

export interface TokenClaims {
  exp?: number;
  iat?: number;
  iss?: string;
  aud?: string | string[];
  sub?: string;
  groups?: string[];
}

/** The claims of a JWT (header.payload.signature), or null for an opaque token or garbage. */
export function jwtClaims(token: string): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as TokenClaims) : null;
  } catch {
    return null;
  }
}

export type CredentialVerdict = { ok: true; summary: string; expiresAt: Date | null } | { ok: false; code: number; exitCode: number; diagnostic: string };

export interface TokenFacts {
  /** Where the token comes from (variable or file), never the token. */
  source: string;
  /** The token text; null when the source names a file that is missing or empty. */
  token: string | null;
  nowSec: number;
}

/** Exit code of a pilot refused for its token: pilot3 has none for 1364, so the general one. */
const TOKEN_EXIT = 65;

/** Facts in, verdict out: usable, or 1364 with what is wrong. */
export function tokenVerdict(f: TokenFacts): CredentialVerdict {
  if (!f.token) return { ok: false, code: ErrorCode.MISSINGCREDENTIALS, exitCode: TOKEN_EXIT, diagnostic: `no token in ${f.source}` };
  const claims = jwtClaims(f.token);
  if (!claims) return { ok: true, summary: `opaque token from ${f.source} (expiry unknown)`, expiresAt: null };
  if (typeof claims.exp !== 'number') return { ok: true, summary: `token from ${f.source}, no expiry`, expiresAt: null };
  const expiresAt = new Date(claims.exp * 1000);
  if (claims.exp <= f.nowSec) {
    return { ok: false, code: ErrorCode.MISSINGCREDENTIALS, exitCode: TOKEN_EXIT, diagnostic: `token from ${f.source} expired at ${expiresAt.toISOString()}` };
  }
  return { ok: true, summary: `token from ${f.source}, valid until ${expiresAt.toISOString()} (${Math.round(claims.exp - f.nowSec)} s left)`, expiresAt };
}
