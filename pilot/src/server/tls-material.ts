/**
 * Trust anchors and client certificate for https: a CA bundle (`--cacert`),
 * a hashed CA directory as grid sites lay out (`--capath`, `X509_CERT_DIR`:
 * `<hash>.0` certificates beside CRLs and signing policies), and the X.509
 * proxy as client certificate. Verification is never switched off.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface TlsSettings {
  /** CA bundle file; replaces Node's built-in roots when given. */
  caFile: string | undefined;
  /** Hashed CA directory; its certificates are added to the bundle's. */
  caDir: string | undefined;
  /** X.509 proxy (certificate, key and chain in one PEM file), sent as the client certificate. */
  proxyFile: string | undefined;
}

export interface TlsMaterial {
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of a hashed CA directory (CRLs, policies and other files skipped). */
export function readCaDir(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new Error(`CA directory ${dir} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const certs = new Set<string>();
  for (const name of names.sort()) {
    // OpenSSL's c_rehash names: <hash>.<n> for certificates; also plain .pem/.crt files.
    if (!/\.(\d+|pem|crt)$/.test(name)) continue;
    const file = path.join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      for (const block of readFileSync(file, 'utf8').match(CERT_BLOCK) ?? []) certs.add(block);
    } catch {
      // A dangling link in a CA directory is common (a CA removed upstream); the others still count.
    }
  }
  if (certs.size === 0) throw new Error(`CA directory ${dir} holds no certificates`);
  return [...certs];
}

/** Reads the files once, at transport creation; errors name the file and what is wrong with it. */
export function loadTlsMaterial(settings: TlsSettings): TlsMaterial {
  const material: TlsMaterial = {};
  const ca: string[] = [];
  if (settings.caFile) {
    let text: string;
    try {
      text = readFileSync(settings.caFile, 'utf8');
    } catch (err) {
      throw new Error(`CA bundle ${settings.caFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    const blocks = text.match(CERT_BLOCK) ?? [];
    if (blocks.length === 0) throw new Error(`CA bundle ${settings.caFile} holds no PEM certificate`);
    ca.push(...blocks);
  }
  if (settings.caDir) ca.push(...readCaDir(settings.caDir));
  if (ca.length > 0) material.ca = ca;
  if (settings.proxyFile) {
    const pem = readFileSync(settings.proxyFile);
    material.cert = pem;
    material.key = pem;
  }
  return material;
}
