/**
 * Request bodies as the two dialects send them. Legacy: form-urlencoded, or
 * JSON (pilot3 gzips it; we also take it plain) under
 * `Content-Type: application/json`. v1: JSON only, Content-Type exactly
 * `application/json`, gzip optional.
 */
import { decodeForm, paramsObject } from '../../../pilot/src/protocol/index.js';
import { inflateBounded } from './body-limits.js';
import { BadRequestError, header, type StubRequest } from './types.js';

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** The edge inflated the body already; a gzip inside gzip is inflated once more, under the same ceiling. */
function gunzipped(body: Buffer): Buffer {
  return inflateBounded(body);
}

function parseJsonObject(body: Buffer): Record<string, unknown> {
  const text = gunzipped(body).toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError('JSON body must be an object of parameters');
  }
  return value as Record<string, unknown>;
}

/**
 * A JSON value as the legacy server hands it to its functions: every
 * parameter is a string there. Booleans become "True"/"False" as the server
 * patches them; nested values become JSON text; null means "not given".
 */
export function legacyValue(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Legacy parameters: query string (for GET) merged with the form or JSON body. */
export function decodeLegacyParams(req: StubRequest): Record<string, string> {
  const out = paramsObject<string>();
  for (const [k, v] of req.query) out[k] = v;
  if (req.body.length === 0) return out;
  if (mediaType(header(req, 'content-type')) === 'application/json') {
    for (const [k, v] of Object.entries(parseJsonObject(req.body))) {
      const s = legacyValue(v);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  const form = decodeForm(gunzipped(req.body).toString('utf8'));
  // A POST has no query string as a rule: the form is the answer, without copying it.
  return req.query.size === 0 ? form : { ...out, ...form };
}

/** v1 POST parameters. Throws BadRequestError when the body is not a JSON object under the exact Content-Type. */
export function decodeV1Body(req: StubRequest): Record<string, unknown> {
  const contentType = header(req, 'content-type');
  if (contentType !== 'application/json') {
    throw new BadRequestError(`Content-Type must be exactly application/json, got ${contentType ?? 'none'}`);
  }
  return parseJsonObject(req.body);
}

/** v1 GET parameters from the query string; a repeated name becomes a list. */
export function decodeV1Query(req: StubRequest): Record<string, unknown> {
  const out = paramsObject<unknown>();
  for (const key of new Set(req.query.keys())) {
    const all = req.query.getAll(key);
    out[key] = all.length === 1 ? all[0] : all;
  }
  return out;
}
