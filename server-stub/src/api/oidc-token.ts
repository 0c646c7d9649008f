/**
 * A token endpoint, so pilots' refresh can be tested against the stub: the
 * OIDC `refresh_token` grant at `POST /oidc/token` (form-encoded, as RFC 6749
 * has it) mints a new RS256 ID token for the groups configured, and rotates
 * the refresh token (the old one stops working).
 */
import { randomBytes } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
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
    const idToken = await new SignJWT({ groups: settings.groups })
      .setProtectedHeader({ alg: 'RS256', kid: settings.kid })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject(form.get('client_id') ?? 'pilot')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + settings.lifetimeSec)
      .sign(await key);
    return jsonReply(200, { access_token: idToken, id_token: idToken, token_type: 'Bearer', expires_in: settings.lifetimeSec, refresh_token: next });
  };
  return [{ method: 'POST', pattern: /^\/oidc\/token$/, handler: grant }];
}
