import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answer, builtOnce, IMMUTABLE, notFound, prepareFile, readMethod, serveFile, type StaticFile } from './static-files.js';

/** Where the dashboard is served. Its files are built by `npm run build:ui` (Vite, from ui/) into dist/ui. */
export const DASHBOARD_PATH = '/ui';

/** dist/ui at the repository's root: two levels up from both src/server and dist/server. */
const BUILT_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

/** Vite names these files by their content hash: a new build gets new names, so they may be kept forever. */
const HASHED_DIR = `${DASHBOARD_PATH}/assets/`;

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

/**
 * The dashboard's static files, read and compressed once (on the first request for /ui) and
 * then served from memory. Only files found in the build are ever served: a request names a key
 * of that map, never a path on disk, so `..` cannot reach anything else. Paths that are not a
 * file get index.html (the app routes /ui/services/x itself); a missing asset is a 404.
 */
export class DashboardAssets {
  /** One read, shared by concurrent first requests; a failed one (not built yet) is tried again next time. */
  private readonly load: () => Promise<Map<string, StaticFile>>;

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
  ) {
    this.load = builtOnce(() => readBuild(this.dir, this.tokenRequired, this.sourceMaps));
  }

  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!readMethod(req, res)) return;
    // "/ui" → "/ui/": the page's relative URLs and its router expect the trailing slash.
    if (path === DASHBOARD_PATH) return answer(res, 308, { location: `${DASHBOARD_PATH}/${(req.url ?? '').slice(path.length)}` });

    let files: Map<string, StaticFile>;
    try {
      files = await this.load();
    } catch {
      return answer(
        res,
        503,
        { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        Buffer.from('The dashboard is not built: run `npm run build:ui` (part of `npm run build`), then reload.\n'),
      );
    }
    const file = files.get(path) ?? (looksLikeFile(path) ? undefined : files.get(`${DASHBOARD_PATH}/index.html`));
    if (!file) return notFound(res);
    serveFile(req, res, file, securityHeaders(req.headers.host));
  }
}

async function readBuild(dir: string, tokenRequired: boolean, sourceMaps: boolean): Promise<Map<string, StaticFile>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, StaticFile>();
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
    files.set(
      urlPath,
      await prepareFile(raw, {
        type: TYPES[extension] ?? 'application/octet-stream',
        // The page itself is checked every time, so a new build is picked up on the next load.
        cacheControl: urlPath.startsWith(HASHED_DIR) ? IMMUTABLE : 'no-cache',
        level: COMPRESSIBLE.has(extension) && raw.length > 1024 ? 9 : undefined,
      }),
    );
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
