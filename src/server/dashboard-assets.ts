import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import { chooseEncoding } from './graphiql-assets.js';

/** Where the dashboard is served. Its files are built by `npm run build:ui` (Vite, from ui/) into dist/ui. */
export const DASHBOARD_PATH = '/ui';

/** dist/ui at the repository's root: two levels up from both src/server and dist/server. */
const BUILT_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

/** Vite names these files by their content hash: a new build gets new names, so they may be kept forever. */
const HASHED_DIR = `${DASHBOARD_PATH}/assets/`;
const IMMUTABLE = 'public, max-age=31536000, immutable';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.map', '.json', '.svg', '.txt']);

type Encoding = ReturnType<typeof chooseEncoding>;

interface File {
  type: string;
  etag: string;
  cacheControl: string;
  bodies: Partial<Record<Encoding, Buffer>> & { identity: Buffer };
}

/**
 * The dashboard's static files, read and compressed once (on the first request for /ui) and
 * then served from memory. Only files found in the build are ever served: a request names a key
 * of that map, never a path on disk, so `..` cannot reach anything else. Paths that are not a
 * file get index.html (the app routes /ui/services/x itself); a missing asset is a 404.
 */
export class DashboardAssets {
  private loaded: Promise<Map<string, File>> | undefined;

  /**
   * `tokenRequired` is written into the page (a `switchboard-token` meta tag), so that on a server
   * that needs a token the page asks for one before its first request, instead of learning it
   * from a 401 that the browser would log as an error.
   */
  constructor(
    private readonly tokenRequired: boolean,
    private readonly dir: string = BUILT_DIR,
    /**
     * Whether source maps (`.map` files) are served (SWITCHBOARD_DASHBOARD_SOURCEMAPS). Off, a build
     * made with maps is served without them, and without the comments in its scripts that point to them.
     */
    private readonly sourceMaps = false,
  ) {}

  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return endWith(res, 405, { allow: 'GET, HEAD' });
    // "/ui" → "/ui/": the page's relative URLs and its router expect the trailing slash.
    if (path === DASHBOARD_PATH) return endWith(res, 308, { location: `${DASHBOARD_PATH}/${(req.url ?? '').slice(path.length)}` });

    let files: Map<string, File>;
    try {
      files = await this.load();
    } catch {
      return endWith(
        res,
        503,
        { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        Buffer.from('The dashboard is not built: run `npm run build:ui` (part of `npm run build`), then reload.\n'),
      );
    }
    const file = files.get(path) ?? (looksLikeFile(path) ? undefined : files.get(`${DASHBOARD_PATH}/index.html`));
    if (!file) return endWith(res, 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, Buffer.from('Not found.\n'));

    const encoding = chooseEncoding(req.headers['accept-encoding']);
    const body = file.bodies[encoding] ?? file.bodies.identity;
    const used = body === file.bodies.identity ? 'identity' : encoding;
    const etag = `"${file.etag}${used === 'identity' ? '' : `-${used}`}"`;
    const headers: Record<string, string> = {
      'content-type': file.type,
      'cache-control': file.cacheControl,
      etag,
      vary: 'Accept-Encoding',
      ...securityHeaders(req.headers.host),
    };
    if (used !== 'identity') headers['content-encoding'] = used;
    if (notModified(req, etag)) return endWith(res, 304, headers);
    endWith(res, 200, { ...headers, 'content-length': String(body.length) }, req.method === 'HEAD' ? undefined : body);
  }

  private load(): Promise<Map<string, File>> {
    // One read, shared by concurrent first requests; a failed one (not built yet) is tried again next time.
    this.loaded ??= readBuild(this.dir, this.tokenRequired, this.sourceMaps).catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }
}

async function readBuild(dir: string, tokenRequired: boolean, sourceMaps: boolean): Promise<Map<string, File>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, File>();
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const urlPath = `${DASHBOARD_PATH}/${relative(dir, full).split(sep).join('/')}`;
    const isPage = urlPath === `${DASHBOARD_PATH}/index.html`;
    const extension = extname(entry.name).toLowerCase();
    // A source map gives the whole source (~500 KB) to anyone who asks: only when it was asked for.
    if (extension === '.map' && !sourceMaps) continue;
    const read = await readFile(full);
    const raw = isPage ? withTokenHint(read, tokenRequired) : sourceMaps ? read : withoutSourceMapComment(read, extension);
    const bodies: File['bodies'] = { identity: raw };
    if (COMPRESSIBLE.has(extension) && raw.length > 1024) {
      [bodies.br, bodies.gzip] = await Promise.all([
        promisify(brotliCompress)(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length } }),
        promisify(gzip)(raw, { level: 9 }),
      ]);
    }
    files.set(urlPath, {
      type: TYPES[extension] ?? 'application/octet-stream',
      etag: createHash('sha256').update(raw).digest('hex').slice(0, 32),
      // The page itself is checked every time, so a new build is picked up on the next load.
      cacheControl: urlPath.startsWith(HASHED_DIR) ? IMMUTABLE : 'no-cache',
      bodies,
    });
  }
  if (!files.has(`${DASHBOARD_PATH}/index.html`)) throw new Error(`${dir} holds no index.html`);
  return files;
}

/** "/ui/assets/x.js", "/ui/favicon.ico": a request for a file, which gets a 404 rather than the app when missing. */
function looksLikeFile(path: string): boolean {
  return path.startsWith(HASHED_DIR) || /\.[A-Za-z0-9]+$/.test(path.slice(path.lastIndexOf('/') + 1));
}

/** A Host header fit to be written into the policy (a name or address and a port), else none. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The page may load only its own files and talk only to this server: over HTTP (`'self'`) and its
 * WebSocket, named outright, as some browsers do not count ws: under `'self'`. No inline script or
 * style, no frames.
 */
function securityHeaders(host: string | undefined): Record<string, string> {
  const sockets = host && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self'${sockets}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

function notModified(req: IncomingMessage, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*');
}

function endWith(res: ServerResponse, status: number, headers: Record<string, string>, body?: Buffer): void {
  res.writeHead(status, headers);
  res.end(body);
}

/** A script or stylesheet without its `sourceMappingURL` comment, which would point to a map that is not served. */
function withoutSourceMapComment(file: Buffer, extension: string): Buffer {
  if (!SOURCE_MAPPED.has(extension)) return file;
  const text = file.toString('utf8');
  const stripped = text.replace(/\n?(?:\/\/# sourceMappingURL=[^\n]*|\/\*# sourceMappingURL=[^*]*\*\/)\s*$/, '\n');
  return stripped === text ? file : Buffer.from(stripped, 'utf8');
}
const SOURCE_MAPPED = new Set(['.js', '.mjs', '.css']);

/** The page, with `<meta name="switchboard-token" content="required|none">` before `</head>`. */
function withTokenHint(page: Buffer, tokenRequired: boolean): Buffer {
  const meta = `<meta name="switchboard-token" content="${tokenRequired ? 'required' : 'none'}" />`;
  const html = page.toString('utf8');
  if (!html.includes('</head>')) throw new Error('the dashboard page has no </head>');
  return Buffer.from(html.replace('</head>', `${meta}</head>`), 'utf8');
}
