/**
 * A throw-away PKI for tests, made with openssl: a CA, a server certificate
 * for 127.0.0.1/localhost signed by it, the CA as a bundle and as a hashed
 * directory (`<hash>.0`, as X509_CERT_DIR holds it), and short-lived client
 * certificates standing in for X.509 proxies.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestPki {
  dir: string;
  caFile: string;
  caDir: string;
  serverCert: string;
  serverKey: string;
}

const openssl = (args: string[], cwd: string): string => execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function makeTestPki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=panda-test-ca'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'],
    dir,
  );
  const caDir = path.join(dir, 'certificates');
  mkdirSync(caDir, { recursive: true });
  const hash = openssl(['x509', '-hash', '-noout', '-in', 'ca.pem'], dir).trim();
  copyFileSync(path.join(dir, 'ca.pem'), path.join(caDir, `${hash}.0`));
  // What else lives in a grid CA directory, to be skipped.
  writeFileSync(path.join(caDir, `${hash}.signing_policy`), 'access_id_CA X509 /CN=panda-test-ca\n');
  writeFileSync(path.join(caDir, `${hash}.r0`), '-----BEGIN X509 CRL-----\nnot a certificate\n-----END X509 CRL-----\n');
  return { dir, caFile: path.join(dir, 'ca.pem'), caDir, serverCert: path.join(dir, 'server.pem'), serverKey: path.join(dir, 'server.key') };
}

/** A client certificate + key in one PEM file (an X.509 proxy's layout), valid for `days` from now (0: ends now, so expired a second later). */
export function makeClientProxy(pki: TestPki, name: string, opts: { days: number }): string {
  const { dir } = pki;
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', String(opts.days)],
    dir,
  );
  const file = path.join(dir, `x509up_${name}`);
  writeFileSync(file, readFileSync(path.join(dir, `${name}.pem`), 'utf8') + readFileSync(path.join(dir, `${name}.key`), 'utf8'), { mode: 0o600 });
  return file;
}
