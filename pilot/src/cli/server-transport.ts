/** The HTTP transport to the PanDA server as the options and environment describe it (URL, CA, X.509 proxy, token, site proxy). */
import { existsSync } from 'node:fs';
import { authHeaders, authOrigin, HttpTransport, tokenSourceFromEnv, type TokenSource } from '../server/index.js';
import type { PilotOptions } from './options.js';

/** CA material and client certificate every https request of the pilot uses. */
export interface TransportSecurity {
  caFile: string | undefined;
  caDir: string | undefined;
  proxyFile: string | undefined;
}

/** The X.509 proxy: `X509_USER_PROXY`, else `/tmp/x509up_u<uid>` when it exists (the grid default). */
export function x509ProxyFile(env: NodeJS.ProcessEnv, uid: number = process.getuid?.() ?? -1): string | undefined {
  if (env.X509_USER_PROXY) return env.X509_USER_PROXY;
  const standard = `/tmp/x509up_u${uid}`;
  return uid >= 0 && existsSync(standard) ? standard : undefined;
}

export function transportSecurity(opts: Pick<PilotOptions, 'caFile' | 'caDir'>, env: NodeJS.ProcessEnv): TransportSecurity {
  return { caFile: opts.caFile, caDir: opts.caDir ?? (env.X509_CERT_DIR || undefined), proxyFile: x509ProxyFile(env) };
}

export function serverTransport(opts: PilotOptions, env: NodeJS.ProcessEnv, tokens: TokenSource | null = tokenSourceFromEnv(env)): HttpTransport {
  return new HttpTransport({
    baseUrl: opts.url,
    timeoutMs: opts.timeoutSec * 1000,
    ...transportSecurity(opts, env),
    authHeaders: authHeaders(tokens, authOrigin(env)),
    env,
  });
}
