/**
 * Keeps the token file fresh: with a refresh token and a token endpoint
 * configured, the pilot asks for a new ID token (OIDC `refresh_token` grant)
 * before the old one expires and rewrites the token file atomically (a temp
 * file in the same directory, 0600, renamed over it), so the file source
 * (auth.ts) and anything else reading the file never see half a token.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { jwtClaims } from '../credentials/index.js';
import type { HttpTransport } from './http-transport.js';
import type { TokenSource } from './auth.js';

export interface RefreshSettings {
  endpoint: string;
  refreshTokenFile: string;
  clientId: string;
}

/** The refresh configuration the environment names, or null. */
export function refreshSettingsFromEnv(env: NodeJS.ProcessEnv): RefreshSettings | null {
  const endpoint = env.PANDA_AUTH_TOKEN_ENDPOINT;
  const refreshTokenFile = env.PANDA_AUTH_REFRESH_TOKEN_FILE;
  if (!endpoint || !refreshTokenFile) return null;
  return { endpoint, refreshTokenFile, clientId: env.PANDA_AUTH_CLIENT_ID || 'panda-pilot' };
}

/**
 * Milliseconds until the token should be refreshed: when a fifth of its life
 * (at most 5 min, at least 5 s) is left; 0 when that time has come.
 */
export function refreshDelayMs(claims: { exp?: number; iat?: number } | null, nowMs: number): number | null {
  if (!claims || typeof claims.exp !== 'number') return null;
  const life = typeof claims.iat === 'number' ? claims.exp - claims.iat : 3600;
  const marginSec = Math.max(5, Math.min(300, life / 5));
  return Math.max(0, (claims.exp - marginSec) * 1000 - nowMs);
}

/** Writes `text` to `file` so a reader sees the old or the new content, never a mix. */
export function writeAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export class TokenRefresher {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly settings: RefreshSettings,
    private readonly tokens: TokenSource & { file: string },
    private readonly http: HttpTransport,
    private readonly log: Logger,
  ) {}

  /** One refresh now; resolves true when the token file was rewritten. Never throws. */
  async refreshNow(): Promise<boolean> {
    let refreshToken: string;
    try {
      refreshToken = readFileSync(this.settings.refreshTokenFile, 'utf8').trim();
    } catch (err) {
      this.log.error(
        { event: 'token_refresh_failed', file: this.settings.refreshTokenFile },
        `refresh token unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
      return false;
    }
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: this.settings.clientId }).toString();
    try {
      const r = await this.http.request({
        method: 'POST',
        url: this.settings.endpoint,
        body,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
      const reply = JSON.parse(r.body) as { id_token?: string; access_token?: string; refresh_token?: string };
      const token = reply.id_token ?? reply.access_token;
      if (!token) throw new Error('reply has no id_token or access_token');
      // The refresh token first: if the pilot dies between the two, the new one is not lost.
      if (reply.refresh_token) writeAtomically(this.settings.refreshTokenFile, `${reply.refresh_token}\n`);
      writeAtomically(this.tokens.file, `${token}\n`);
      const exp = jwtClaims(token)?.exp;
      this.log.info({ event: 'token_refreshed', file: this.tokens.file, expiresAt: exp ? new Date(exp * 1000).toISOString() : null }, 'token refreshed');
      return true;
    } catch (err) {
      this.log.warn({ event: 'token_refresh_failed', endpoint: this.settings.endpoint }, `token refresh failed: ${(err as Error).message}`);
      return false;
    }
  }

  /** Refreshes before each expiry until stop(); a failed refresh is tried again within 5 to 30 s. */
  start(): void {
    const schedule = (retry: boolean) => {
      if (this.stopped) return;
      const token = this.tokens.read();
      const delay = token ? refreshDelayMs(jwtClaims(token), Date.now()) : 0;
      if (delay === null) return; // an opaque token or one without expiry: nothing to plan by
      const wait = retry ? Math.min(30_000, Math.max(5_000, delay)) : delay;
      this.timer = setTimeout(() => {
        void this.refreshNow().then((ok) => schedule(!ok));
      }, wait);
      this.timer.unref();
    };
    schedule(false);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
