/**
 * Static files served from memory: what GraphiQL (graphiql-assets.ts) and the dashboard
 * (dashboard-assets.ts) share. Ours rather than `sirv` or `serve-static`: those serve a directory
 * as it stands on disk, while neither set is that. GraphiQL's files are strings in a module, with no
 * file on disk at all; the dashboard's page gets a token hint written into it and its scripts lose
 * their source-map comments. Each set is built once, compressed once (brotli and gzip), and every
 * response after that writes the same shared buffers; a request names a key of the set's map,
 * never a path on disk, so `..` reaches nothing else.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';

export type Encoding = 'br' | 'gzip' | 'identity';

/** Content-hashed names never go stale: kept by browsers and caches for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface StaticFile {
  type: string;
  cacheControl: string;
  /** The identity body's hash; a compressed body's ETag adds its encoding. */
  etag: string;
  bodies: Partial<Record<Encoding, Buffer>> & { identity: Buffer };
}

/**
 * A file ready to serve: hashed for its ETag and, given a `level` (brotli quality and gzip level
 * alike), compressed both ways. Compression runs in libuv's thread pool, so the event loop keeps
 * serving meanwhile.
 */
export async function prepareFile(raw: Buffer, options: { type: string; cacheControl: string; level?: number | undefined }): Promise<StaticFile> {
  const bodies: StaticFile['bodies'] = { identity: raw };
  if (options.level !== undefined) {
    [bodies.br, bodies.gzip] = await Promise.all([
      promisify(brotliCompress)(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: options.level, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length } }),
      promisify(gzip)(raw, { level: options.level }),
    ]);
  }
  return { type: options.type, cacheControl: options.cacheControl, etag: createHash('sha256').update(raw).digest('hex').slice(0, 32), bodies };
}

/**
 * `build`'s result, built on first use and shared by every caller after, the concurrent first ones
 * included; a build that failed is tried again by the next call.
 */
export function builtOnce<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () =>
    (built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    }));
}

/**
 * Answers with `file`: in the encoding the client takes best (if the file has it), with its ETag,
 * Cache-Control and Vary, 304 when If-None-Match names the ETag, no body for HEAD. `headers` are
 * added to the 200 and the 304 alike.
 */
export function serveFile(req: IncomingMessage, res: ServerResponse, file: StaticFile, headers: Record<string, string> = {}): void {
  const wanted = chooseEncoding(req.headers['accept-encoding']);
  const encoding = file.bodies[wanted] ? wanted : 'identity';
  const body = file.bodies[encoding] ?? file.bodies.identity;
  const etag = `"${file.etag}${encoding === 'identity' ? '' : `-${encoding}`}"`;
  const sent: Record<string, string> = { 'content-type': file.type, 'cache-control': file.cacheControl, etag, vary: 'Accept-Encoding', ...headers };
  if (encoding !== 'identity') sent['content-encoding'] = encoding;
  if (notModified(req, etag)) return answer(res, 304, sent);
  answer(res, 200, { ...sent, 'content-length': String(body.length) }, req.method === 'HEAD' ? undefined : body);
}

/** False, having answered 405, unless the request is a GET or a HEAD. */
export function readMethod(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  answer(res, 405, { allow: 'GET, HEAD' });
  return false;
}

export function notFound(res: ServerResponse): void {
  answer(res, 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, Buffer.from('Not found.\n'));
}

export function answer(res: ServerResponse, status: number, headers: Record<string, string>, body?: Buffer): void {
  res.writeHead(status, headers);
  res.end(body);
}

/** Brotli if the client takes it, else gzip, else the raw bytes (q=0 refuses an encoding). */
export function chooseEncoding(acceptEncoding: string | undefined): Encoding {
  const accepted = new Set<string>();
  for (const part of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(name.trim());
  }
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip') || accepted.has('*')) return 'gzip';
  return 'identity';
}

function notModified(req: IncomingMessage, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*');
}
