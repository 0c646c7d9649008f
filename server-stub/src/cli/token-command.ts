/**
 * `panda-stub token`: prints an ID token for an identity, signed by a key
 * kept in a folder — the stub's stand-in for the VO's token issuer. The first
 * call makes the key (`signing-key.pem`, 0600) and its public half
 * (`jwks.json`), which `serve --auth token --jwks DIR/jwks.json` verifies with.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from 'jose';
import { mintIdToken, type TokenIdentity } from '../api/oidc-token.js';
import { StubClientError } from './client.js';

export const SIGNING_KEY_FILE = 'signing-key.pem';
export const JWKS_FILE = 'jwks.json';

/** The key in `dir` (made on first use), with the key id its JWKS names. */
async function signingKey(dir: string): Promise<{ pem: string; kid: string }> {
  const keyFile = path.join(dir, SIGNING_KEY_FILE);
  const jwksFile = path.join(dir, JWKS_FILE);
  if (existsSync(keyFile)) {
    try {
      const jwks = JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys?: { kid?: string }[] };
      const kid = jwks.keys?.[0]?.kid;
      if (!kid) throw new Error('no key id in it');
      return { pem: readFileSync(keyFile, 'utf8'), kid };
    } catch (err) {
      throw new StubClientError(`${jwksFile}: ${(err as Error).message} (remove ${dir} to start with a new key)`, { cause: err });
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = await generateKeyPair('RS256', { extractable: true });
  const pub: JWK = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const pem = await exportPKCS8(pair.privateKey);
  writeFileSync(keyFile, pem, { mode: 0o600 });
  writeFileSync(jwksFile, `${JSON.stringify({ keys: [{ ...pub, kid, alg: 'RS256', use: 'sig' }] }, null, 1)}\n`);
  return { pem, kid };
}

/** A token for `who`, signed with the key in `keysDir`. */
export async function issueToken(keysDir: string, who: TokenIdentity): Promise<string> {
  for (const g of who.groups) if (!/^[^/\s]+\/[^/\s]+$/.test(g)) throw new StubClientError(`--group ${g}: give <vo>/<role>, e.g. Rubin/production`);
  if (!(who.lifetimeSec > 0)) throw new StubClientError(`--lifetime ${who.lifetimeSec}: give a positive number of seconds`);
  const { pem, kid } = await signingKey(keysDir);
  return mintIdToken(await importPKCS8(pem, 'RS256'), kid, who);
}
