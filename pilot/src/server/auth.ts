/**
 * Bearer-token headers for the server, from the sources panda-client prefers,
 * re-read from the token file (Harvester rewrites it while the pilot runs).
 * The token goes into a header only: never an argument, never a log line.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface TokenSource {
  describe: string;
  read: () => string | null;
}

function fileSource(file: string): TokenSource {
  let cached: { mtimeMs: number; token: string } | null = null;
  return {
    describe: `file ${file}`,
    read: () => {
      try {
        const st = statSync(file);
        if (!cached || cached.mtimeMs !== st.mtimeMs) cached = { mtimeMs: st.mtimeMs, token: readFileSync(file, 'utf8').trim() };
        return cached.token || null;
      } catch {
        return cached?.token ?? null;
      }
    },
  };
}

/** The first token source the environment names, or null when the pilot runs without a token. */
export function tokenSourceFromEnv(env: NodeJS.ProcessEnv): TokenSource | null {
  if (env.PANDA_AUTH_ID_TOKEN) {
    const t = env.PANDA_AUTH_ID_TOKEN;
    return { describe: 'PANDA_AUTH_ID_TOKEN', read: () => t };
  }
  if (env.OIDC_AUTH_TOKEN_FILE) return fileSource(env.OIDC_AUTH_TOKEN_FILE);
  if (env.OIDC_AUTH_ID_TOKEN) {
    const t = env.OIDC_AUTH_ID_TOKEN;
    return { describe: 'OIDC_AUTH_ID_TOKEN', read: () => t };
  }
  if (env.PANDA_AUTH_DIR && env.PANDA_AUTH_TOKEN) return fileSource(path.join(env.PANDA_AUTH_DIR, env.PANDA_AUTH_TOKEN));
  return null;
}

/** Headers for each request: the token (when there is one) and the mandatory Origin. */
export function authHeaders(source: TokenSource | null, origin: string | undefined): () => Record<string, string> {
  return (): Record<string, string> => {
    const token = source?.read();
    if (!token) return {};
    return { Authorization: `Bearer ${token}`, Origin: origin ?? 'Rubin.production' };
  };
}
