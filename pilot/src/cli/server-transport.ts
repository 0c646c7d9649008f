/** The HTTP transport to the PanDA server as the options and environment describe it (URL, CA, X.509 proxy, token). */
import { authHeaders, HttpTransport, tokenSourceFromEnv } from '../server/index.js';
import type { PilotOptions } from './options.js';

export function serverTransport(opts: PilotOptions, env: NodeJS.ProcessEnv): HttpTransport {
  return new HttpTransport({
    baseUrl: opts.url,
    timeoutMs: opts.timeoutSec * 1000,
    caFile: opts.caFile,
    proxyFile: env.X509_USER_PROXY,
    authHeaders: authHeaders(tokenSourceFromEnv(env), env.PANDA_AUTH_ORIGIN),
  });
}
