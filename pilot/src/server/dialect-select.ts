/**
 * Picks the dialect: by flag, or (auto) by asking the v1 liveness endpoint,
 * which needs no authentication and which legacy servers do not have.
 */
import type { Logger } from 'pino';
import { HttpTransport } from './http-transport.js';
import { LegacyDialect } from './legacy-dialect.js';
import type { PandaServer } from '../protocol/index.js';
import { V1Dialect } from './v1-dialect.js';

export type ApiChoice = 'legacy' | 'v1' | 'auto';

export async function detectV1(http: HttpTransport, signal?: AbortSignal): Promise<boolean> {
  try {
    const reply = await http.send('GET', '/api/v1/system/is_alive', undefined, { Accept: 'application/json' }, signal);
    if (reply.status !== 200) return false;
    const body = JSON.parse(reply.body) as { success?: unknown };
    return body.success === true;
  } catch {
    return false;
  }
}

export async function selectDialect(http: HttpTransport, choice: ApiChoice, log?: Logger, signal?: AbortSignal): Promise<PandaServer> {
  if (choice === 'legacy') return new LegacyDialect(http);
  if (choice === 'v1') return new V1Dialect(http);
  const v1 = await detectV1(http, signal);
  log?.info({ event: 'dialect_detected', dialect: v1 ? 'v1' : 'legacy' }, 'server dialect detected');
  return v1 ? new V1Dialect(http) : new LegacyDialect(http);
}
