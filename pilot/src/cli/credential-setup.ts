/**
 * The credential checks before any job: the token (present, not expired →
 * else 1364) and the X.509 proxy when one is configured (pilot3's 1163 /
 * 1373 / 1382) when one is configured and pilot3's `-t` does not switch that
 * check off. Facts are gathered here; the verdicts are pure (credentials/).
 */
import { readFileSync } from 'node:fs';
import { readX509Facts, tokenVerdict, x509Verdict, type CredentialVerdict } from '../credentials/index.js';
import type { TokenSource } from '../server/index.js';
import type { PilotOptions } from './options.js';
import { x509ProxyFile } from './server-transport.js';

export interface CredentialCheck {
  what: 'token' | 'x509';
  verdict: CredentialVerdict;
}

/** The token's check: present and not expired (1364 otherwise). */
export function checkToken(tokens: TokenSource, now = Date.now()): CredentialCheck {
  return { what: 'token', verdict: tokenVerdict({ source: tokens.describe, token: tokens.read(), nowSec: now / 1000 }) };
}

/** The X.509 proxy's check, or null when none is configured or pilot3's `-t` switched it off. */
export function checkX509(opts: Pick<PilotOptions, 'proxyMinLifetimeSec' | 'verifyProxy'>, env: NodeJS.ProcessEnv, now = Date.now()): CredentialCheck | null {
  // pilot3's -t (verify_proxy false): sites that give no proxy, or one the pilot must not judge, skip the check.
  const proxy = opts.verifyProxy ? x509ProxyFile(env) : undefined;
  if (!proxy) return null;
  return {
    what: 'x509',
    verdict: x509Verdict(
      readX509Facts(proxy, (f) => readFileSync(f, 'utf8')),
      now,
      opts.proxyMinLifetimeSec,
    ),
  };
}

/** Both checks, token first. */
export function checkCredentials(
  opts: Pick<PilotOptions, 'proxyMinLifetimeSec' | 'verifyProxy'>,
  env: NodeJS.ProcessEnv,
  tokens: TokenSource | null,
  now = Date.now(),
): CredentialCheck[] {
  const x509 = checkX509(opts, env, now);
  return [...(tokens ? [checkToken(tokens, now)] : []), ...(x509 ? [x509] : [])];
}
