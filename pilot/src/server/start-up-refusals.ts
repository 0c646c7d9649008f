/**
 * What a server's refusal at start-up means: facts in (the error a call
 * raised), verdict out. A legacy server that says `method getJob is
 * forbidden` speaks v1 only; a v1 path that is 404 is a legacy server; and
 * refused credentials end the pilot with their own exit code, not as an
 * unreachable server.
 */
import { ErrorCode, HttpStatusError, PilotError } from '../errors/index.js';

export type Refusal = { kind: 'switch'; to: 'legacy' | 'v1'; why: string } | { kind: 'credentials'; diagnostic: string } | null;

const AUTH_REASON = /token|credential|certificate|proxy|auth|ssl|identity|expired|signature|not allowed|permission/i;

export function classifyRefusal(err: unknown, dialect: string): Refusal {
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof HttpStatusError) {
    if (dialect === 'legacy' && err.status === 403 && /method getJob is forbidden/i.test(err.body)) {
      return { kind: 'switch', to: 'v1', why: 'legacy getJob is forbidden on this server' };
    }
    if (dialect === 'v1' && err.status === 404 && err.path.startsWith('/api/v1/')) return { kind: 'switch', to: 'legacy', why: `${err.path} not found` };
    if (err.status === 401)
      return {
        kind: 'credentials',
        diagnostic: `the server refused the pilot's credentials (HTTP 401${reasonOf(err.body)}): check the token (PANDA_AUTH_ID_TOKEN, OIDC_AUTH_TOKEN_FILE, PANDA_AUTH_DIR) or X509_USER_PROXY`,
      };
    if (err.status === 403 && AUTH_REASON.test(err.body))
      return { kind: 'credentials', diagnostic: `the server refused the pilot's credentials (HTTP 403${reasonOf(err.body)})` };
    return null;
  }
  if (/SSL secure connection is required/i.test(text)) {
    return {
      kind: 'credentials',
      diagnostic:
        'the server requires an authenticated (SSL/token) connection and got none: set X509_USER_PROXY or a token (PANDA_AUTH_ID_TOKEN, OIDC_AUTH_TOKEN_FILE, PANDA_AUTH_DIR)',
    };
  }
  if (/StatusCode 60\b/.test(text))
    return { kind: 'credentials', diagnostic: `the server refused the pilot's credentials (StatusCode 60: no valid certificate/proxy or token): ${text}` };
  return null;
}

function reasonOf(body: string): string {
  const b = body.replace(/\s+/g, ' ').trim().slice(0, 160);
  return b ? `: ${b}` : '';
}

/** Credentials the server refused: the pilot ends with PilotExit.PROXY (68), naming what is missing. */
export class CredentialsRefusedError extends PilotError {
  constructor(diagnostic: string) {
    super(ErrorCode.MISSINGCREDENTIALS, diagnostic);
  }
}
