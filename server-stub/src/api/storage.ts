/**
 * The stub as a storage endpoint, speaking the WebDAV subset a pilot uses:
 * `PUT` a file, `HEAD` it (with `Want-Digest: adler32` → `Digest:
 * adler32=…`, as dCache answers), `GET` it back, `DELETE`. Bodies stream
 * straight to disk, so a large log tarball never sits in memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { StreamRoute } from '../http/stream-route.js';
import { jsonReply } from '../http/reply.js';
import type { Route } from '../http/types.js';
import { FileTooLargeError, safeRelativePath, type FileStore } from '../store/file-store.js';

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** RFC 3230: the reply names the digest only when asked for one we have. */
function wantsAdler32(req: IncomingMessage): boolean {
  const v = req.headers['want-digest'];
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).toLowerCase().includes('adler32');
}

/** PUT/GET/HEAD/DELETE on one store under a URL prefix. */
export async function serveFiles(store: FileStore, req: IncomingMessage, res: ServerResponse, rawPath: string, options: { writable: boolean }): Promise<void> {
  const rel = safeRelativePath(rawPath);
  if (!rel) {
    req.resume();
    return text(res, 400, `ERROR : not a plain relative path: ${rawPath}\n`);
  }
  switch (req.method) {
    case 'PUT': {
      if (!options.writable) {
        req.resume();
        return text(res, 405, 'ERROR : read-only\n');
      }
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > store.maxBytes) {
        req.resume();
        return text(res, 413, `ERROR : ${declared} bytes is more than the ${store.maxBytes} this store takes\n`, { connection: 'close' });
      }
      const existed = store.stat(rel) !== null;
      try {
        const stored = await store.write(rel, req);
        return text(res, existed ? 204 : 201, existed ? '' : `${stored.size} bytes stored\n`, { digest: `adler32=${stored.adler32}` });
      } catch (err) {
        if (err instanceof FileTooLargeError) return text(res, 413, `ERROR : ${err.message}\n`, { connection: 'close' });
        throw err;
      }
    }
    case 'GET':
    case 'HEAD': {
      const s = store.stat(rel);
      if (!s) return text(res, 404, `ERROR : no such file: ${rel}\n`);
      const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': s.size };
      if (s.adler32 && wantsAdler32(req)) headers.digest = `adler32=${s.adler32}`;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') return void res.end();
      await pipeline(store.read(rel), res);
      return;
    }
    case 'DELETE':
      if (!options.writable) return text(res, 405, 'ERROR : read-only\n');
      return store.delete(rel) ? text(res, 204, '') : text(res, 404, `ERROR : no such file: ${rel}\n`);
    default:
      req.resume();
      return text(res, 405, `ERROR : method ${req.method ?? ''} not allowed on storage\n`, { allow: 'GET, HEAD, PUT, DELETE' });
  }
}

/** `/storage/<path>`: the log stage-out endpoint. */
export function storageRoutes(store: FileStore): StreamRoute[] {
  return [{ pattern: /^\/storage\/(.+)$/, handler: (req, res, m) => serveFiles(store, req, res, m[1] ?? '', { writable: true }) }];
}

/** `GET /stub/storage`: what is stored, with sizes and checksums (people and tests). */
export function storageListRoutes(store: FileStore): Route[] {
  return [{ method: 'GET', pattern: /^\/stub\/storage$/, handler: () => jsonReply(200, { files: store.list() }) }];
}

/** `/cache/<name>`: the panda cache — user sandboxes and scripts, uploaded with PUT (`panda-stub upload`). One path segment, so `/cache/schedconfig/…` stays the queue data's. */
export function cacheRoutes(store: FileStore): StreamRoute[] {
  return [{ pattern: /^\/cache\/([^/]+)$/, handler: (req, res, m) => serveFiles(store, req, res, m[1] ?? '', { writable: true }) }];
}
