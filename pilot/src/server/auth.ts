/**
 * Bearer-token headers for the server, from the sources panda-client and
 * pilot3 read, re-read from the token file (Harvester rewrites it while the
 * pilot runs). The token goes into a header only: never an argument, never a
 * log line.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface TokenSource {
  /** Where the token comes from (a variable name or a file path), for messages; never the token. */
  describe: string;
  /** The token file, when the token lives in one (refresh rewrites it). */
  file: string | null;
  read: () => string | null;
}

function fileSource(file: string): TokenSource {
  let cached: { mtimeMs: number; size: number; token: string } | null = null;
  return {
    describe: `file ${file}`,
    file,
    read: () => {
      try {
        const st = statSync(file);
        // mtime and size: a rewrite within the same mtime tick still changes the size almost always.
        if (!cached || cached.mtimeMs !== st.mtimeMs || cached.size !== st.size)
          cached = { mtimeMs: st.mtimeMs, size: st.size, token: readFileSync(file, 'utf8').trim() };
        return cached.token || null;
      } catch {
        return cached?.token ?? null;
      }
    },
  };
}

const fixed = (name: string, token: string): TokenSource => ({ describe: name, file: null, read: () => token });

/** The first of `names` set (non-empty) in env. */
function firstOf(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const n of names) if (env[n]) return env[n];
  return undefined;
}

/**
 * The first token source the environment names, or null when the pilot runs
 * without a token: panda-client's `PANDA_AUTH_ID_TOKEN`, `OIDC_AUTH_TOKEN_FILE`,
 * `OIDC_AUTH_ID_TOKEN`, then the directory + file name pairs of pilot3
 * (`OIDC_AUTH_DIR`/`OIDC_AUTH_TOKEN`) and Harvester (`PANDA_AUTH_DIR`/`PANDA_AUTH_TOKEN`).
 */
export function tokenSourceFromEnv(env: NodeJS.ProcessEnv): TokenSource | null {
  if (env.PANDA_AUTH_ID_TOKEN) return fixed('PANDA_AUTH_ID_TOKEN', env.PANDA_AUTH_ID_TOKEN);
  if (env.OIDC_AUTH_TOKEN_FILE) return fileSource(env.OIDC_AUTH_TOKEN_FILE);
  if (env.OIDC_AUTH_ID_TOKEN) return fixed('OIDC_AUTH_ID_TOKEN', env.OIDC_AUTH_ID_TOKEN);
  const dir = firstOf(env, 'OIDC_AUTH_DIR', 'PANDA_AUTH_DIR');
  const name = firstOf(env, 'OIDC_AUTH_TOKEN', 'PANDA_AUTH_TOKEN');
  if (dir && name) return fileSource(path.join(dir, name));
  return null;
}

/** The Origin header's value: `<vo>.<role>`, from pilot3's or Harvester's variable. */
export function authOrigin(env: NodeJS.ProcessEnv): string | undefined {
  return firstOf(env, 'OIDC_AUTH_ORIGIN', 'PANDA_AUTH_ORIGIN');
}

/** Headers for each request: the token (when there is one) and the mandatory Origin. */
export function authHeaders(source: TokenSource | null, origin: string | undefined): () => Record<string, string> {
  return (): Record<string, string> => {
    const token = source?.read();
    if (!token) return {};
    return { Authorization: `Bearer ${token}`, Origin: origin ?? 'Rubin.production' };
  };
}

/** Whether a URL's host is this machine's loopback (127.0.0.0/8, ::1, localhost): nothing leaves the node. */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Why a token must not be sent to `url`, or null when it may: only https, or
 * plain http to a loopback address (a local stub or a node-local tunnel).
 */
export function tokenRouteProblem(url: string, source: TokenSource | null): string | null {
  if (!source) return null;
  const u = new URL(url);
  if (u.protocol === 'https:' || isLoopbackUrl(u)) return null;
  return `refusing to send the bearer token (${source.describe}) over plain http to ${u.host}: use an https:// server URL (tokens go only over https or to a loopback address)`;
}
