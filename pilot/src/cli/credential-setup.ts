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

export function checkCredentials(
  opts: Pick<PilotOptions, 'proxyMinLifetimeSec' | 'verifyProxy'>,
  env: NodeJS.ProcessEnv,
  tokens: TokenSource | null,
  now = Date.now(),
): CredentialCheck[] {
  const checks: CredentialCheck[] = [];
  if (tokens) checks.push({ what: 'token', verdict: tokenVerdict({ source: tokens.describe, token: tokens.read(), nowSec: now / 1000 }) });
  // pilot3's -t (verify_proxy false): sites that give no proxy, or one the pilot must not judge, skip the check.
  const proxy = opts.verifyProxy ? x509ProxyFile(env) : undefined;
  if (proxy)
    checks.push({
      what: 'x509',
      verdict: x509Verdict(
        readX509Facts(proxy, (f) => readFileSync(f, 'utf8')),
        now,
        opts.proxyMinLifetimeSec,
      ),
    });
  return checks;
}
