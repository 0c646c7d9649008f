/**
 * The stub as a strict server, in front of the routes:
 *  - pilot calls with `--auth token`: a bearer JWT verified like the real
 *    server does (RS256 against the VO's JWKS, issuer, audience, expiry, and
 *    `<vo>/<role>` from `Origin: <vo>.<role>` in `groups`/`wlcg.groups`),
 *    refused with the real server's texts;
 *  - management writes (`POST /stub/…`): a random bearer token kept in the
 *    data dir, JSON only, and a Host header naming this server, so a web page
 *    in a browser on the same machine can neither submit nor kill work (CSRF,
 *    DNS rebinding). Reads stay open;
 *  - file writes (`PUT`/`DELETE` on `/storage/…` and `/cache/…`): the
 *    management token, or with `--auth token` a pilot token that passes, as a
 *    storage element takes the pilot's own credential. Reads stay open, as
 *    the real server's cache is.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { ServerResponse } from 'node:http';
import { jsonReply, textReply } from './reply.js';
import type { StreamRoute } from './stream-route.js';
import { header, type Route, type StubReply, type StubRequest } from './types.js';

export interface TokenAuthSettings {
  jwks: JSONWebKeySet;
  issuer: string;
  audience: string;
}

/** The real server's answer when credentials come over plain http (pandaserver MESSAGE_SSL). */
export const MESSAGE_SSL = 'SSL secure connection is required';
/** The legacy dispatcher's status code for a permission failure. */
export const LEGACY_SC_PERMS = 60;

type Dialect = 'legacy' | 'v1';

function refusal(dialect: Dialect, message: string, status: number): StubReply {
  if (status === 403) return textReply(403, `Forbidden: ${message}`);
  // Refusals the server answers inside its own protocol: HTTP 200 with a failure in the body.
  return dialect === 'v1'
    ? jsonReply(200, { success: false, message, data: null })
    : textReply(200, new URLSearchParams({ StatusCode: String(LEGACY_SC_PERMS), errorDialog: message }).toString());
}

/** Why the token of `req` is refused, or null when it is good. */
export async function tokenRefusal(
  settings: TokenAuthSettings,
  keys: ReturnType<typeof createLocalJWKSet>,
  req: StubRequest,
  dialect: Dialect,
): Promise<StubReply | null> {
  if (!req.secure) return refusal(dialect, MESSAGE_SSL, 200);
  const auth = header(req, 'authorization');
  const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  if (!m) return refusal(dialect, 'no bearer token', 403);
  const origin = header(req, 'origin');
  if (!origin || !/^[^.\s]+\.[^.\s]+$/.test(origin)) return refusal(dialect, 'Origin must be <vo>.<role>', 403);
  let payload;
  try {
    ({ payload } = await jwtVerify(m[1]!, keys, { issuer: settings.issuer, audience: settings.audience, algorithms: ['RS256'], requiredClaims: ['exp'] }));
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const why =
      code === 'ERR_JWT_EXPIRED'
        ? 'token expired'
        : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY'
          ? 'token signature verification failed'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
            ? `token ${(err as { claim?: string }).claim ?? 'claim'} is not accepted`
            : `invalid token: ${(err as Error).message}`;
    return refusal(dialect, why, 403);
  }
  const [vo, role] = origin.split('.') as [string, string];
  const groups = [payload.groups, payload['wlcg.groups']].flatMap((g) => (Array.isArray(g) ? g.map(String) : []));
  const wanted = `${vo}/${role}`;
  if (!groups.some((g) => g.replace(/^\//, '') === wanted)) return refusal(dialect, `token has no group ${wanted} for Origin ${origin}`, 403);
  return null;
}

/** Wraps the pilot routes of one dialect so each call's token is verified first. */
export function requireToken(routes: readonly Route[], dialect: Dialect, settings: TokenAuthSettings): Route[] {
  const keys = createLocalJWKSet(settings.jwks);
  return routes.map((r) => ({
    ...r,
    handler: async (req, match) => (await tokenRefusal(settings, keys, req, dialect)) ?? r.handler(req, match),
  }));
}

/** Name of the management token file in the data dir. */
export const MANAGEMENT_TOKEN_FILE = 'stub-token';

/** A fresh random token written (0600) to the data dir, replacing an older one. */
export function writeManagementToken(dataDir: string): string {
  const token = randomBytes(32).toString('base64url');
  const file = path.join(dataDir, MANAGEMENT_TOKEN_FILE);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its old mode otherwise
  return token;
}

/** The token a running stub wrote to `dataDir`. */
export function readManagementToken(dataDir: string): string {
  return readFileSync(path.join(dataDir, MANAGEMENT_TOKEN_FILE), 'utf8').trim();
}

export interface ManagementGuard {
  /** null: writes need no token (`--open`). */
  token: string | null;
  /** Host header values accepted (host:port of this server; loopback names). */
  hosts: () => readonly string[];
}

/** Why a management request is refused, or null. Reads (GET) stay open. */
export function managementRefusal(guard: ManagementGuard, req: StubRequest): StubReply | null {
  if (req.method === 'GET' || req.method === 'HEAD') return null;
  const host = header(req, 'host')?.toLowerCase();
  // DNS rebinding: a page on evil.example resolving to 127.0.0.1 still sends Host: evil.example.
  if (!host || !guard.hosts().includes(host)) return jsonReply(403, { error: `Host ${host ?? '(none)'} is not this stub` });
  // CSRF: a browser form can post text/plain or urlencoded without a preflight, never application/json.
  const type = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return jsonReply(415, { error: 'management requests must be Content-Type: application/json' });
  if (guard.token === null) return null;
  const auth = header(req, 'authorization');
  if (auth !== `Bearer ${guard.token}`)
    return jsonReply(401, { error: `management writes need the stub's token: Authorization: Bearer <token from ${MANAGEMENT_TOKEN_FILE} in the data dir>` });
  return null;
}

/** Wraps the management routes with the guard. */
export function guardManagement(routes: readonly Route[], guard: ManagementGuard): Route[] {
  return routes.map((r) => ({ ...r, handler: (req, match) => managementRefusal(guard, req) ?? r.handler(req, match) }));
}

export interface FileWriteGuard {
  /** The management token; null: the stub runs `--open` (or embedded, unguarded) and file writes need nothing. */
  token: string | null;
  /** With `--auth token`: a pilot's bearer token that passes this verification may write too. */
  pilotTokens: TokenAuthSettings | undefined;
}

/** Why a file write is refused, or null. Reads (GET, HEAD) stay open. */
export async function fileWriteRefusal(guard: FileWriteGuard, keys: ReturnType<typeof createLocalJWKSet> | null, req: StubRequest): Promise<StubReply | null> {
  if (req.method === 'GET' || req.method === 'HEAD' || guard.token === null) return null;
  if (header(req, 'authorization') === `Bearer ${guard.token}`) return null;
  // A pilot staging out its log: its token, verified as on the pilot calls (the v1 texts: storage speaks no legacy form).
  if (guard.pilotTokens && keys && (await tokenRefusal(guard.pilotTokens, keys, req, 'v1')) === null) return null;
  return textReply(
    401,
    `ERROR : file writes need the stub's token (Authorization: Bearer <token from ${MANAGEMENT_TOKEN_FILE} in the data dir>)${guard.pilotTokens ? ' or a pilot token the stub accepts' : ''}\n`,
  );
}

/** Wraps the file routes (storage, cache) so writes need the guard's token; a refused body is drained, the connection closed. */
export function guardFileWrites(routes: readonly StreamRoute[], guard: FileWriteGuard): StreamRoute[] {
  const keys = guard.pilotTokens ? createLocalJWKSet(guard.pilotTokens.jwks) : null;
  return routes.map((r) => ({
    ...r,
    handler: async (req, res, match) => {
      const refusal = await fileWriteRefusal(guard, keys, {
        method: req.method ?? 'GET',
        path: '',
        query: new URLSearchParams(),
        headers: req.headers,
        body: Buffer.alloc(0),
        secure: (req.socket as { encrypted?: boolean }).encrypted === true,
      });
      if (refusal === null) return r.handler(req, res, match);
      req.resume();
      writeRefusal(res, refusal);
    },
  }));
}

function writeRefusal(res: ServerResponse, reply: StubReply): void {
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body), connection: 'close' });
  res.end(reply.body);
}
