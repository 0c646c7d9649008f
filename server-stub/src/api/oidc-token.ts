/**
 * A token endpoint, so pilots' refresh can be tested against the stub: the
 * OIDC `refresh_token` grant at `POST /oidc/token` (form-encoded, as RFC 6749
 * has it) mints a new RS256 ID token for the groups configured, and rotates
 * the refresh token (the old one stops working).
 */
import { randomBytes } from 'node:crypto';
import { importPKCS8, SignJWT, type CryptoKey } from 'jose';
import { jsonReply } from '../http/reply.js';
import type { Route, StubRequest } from '../http/types.js';

export interface TokenIssuerSettings {
  /** PKCS#8 PEM of the RS256 signing key (its public half is in the stub's --jwks). */
  privateKeyPem: string;
  kid: string;
  issuer: string;
  audience: string;
  groups: string[];
  lifetimeSec: number;
  /** Refresh tokens accepted at start (the test's or the site's); each use rotates it. */
  refreshTokens: string[];
}

/** What an ID token says about its holder. */
export interface TokenIdentity {
  issuer: string;
  audience: string;
  subject: string;
  /** `<vo>/<role>` groups the server matches against the pilot's `Origin: <vo>.<role>`. */
  groups: readonly string[];
  lifetimeSec: number;
}

/** An RS256 ID token as the VO's issuer makes them (also `panda-stub token`). */
export function mintIdToken(key: CryptoKey, kid: string, who: TokenIdentity, nowSec = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ groups: [...who.groups] })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(who.issuer)
    .setAudience(who.audience)
    .setSubject(who.subject)
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + who.lifetimeSec)
    .sign(key);
}

export function oidcTokenRoutes(settings: TokenIssuerSettings): Route[] {
  const valid = new Set(settings.refreshTokens);
  const key = importPKCS8(settings.privateKeyPem, 'RS256');
  const grant = async (req: StubRequest) => {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('grant_type') !== 'refresh_token') return jsonReply(400, { error: 'unsupported_grant_type' });
    const old = form.get('refresh_token') ?? '';
    if (!valid.delete(old)) return jsonReply(400, { error: 'invalid_grant', error_description: 'refresh token unknown or already used' });
    const next = randomBytes(24).toString('base64url');
    valid.add(next);
    const idToken = await mintIdToken(await key, settings.kid, { ...settings, subject: form.get('client_id') ?? 'pilot' });
    return jsonReply(200, { access_token: idToken, id_token: idToken, token_type: 'Bearer', expires_in: settings.lifetimeSec, refresh_token: next });
  };
  return [{ method: 'POST', pattern: /^\/oidc\/token$/, handler: grant }];
}
