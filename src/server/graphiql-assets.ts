import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';

/** Where GraphiQL's scripts, styles and icon are served; a content hash follows, so they never go stale. */
export const GRAPHIQL_ASSETS_PATH = '/graphiql/';

const IMMUTABLE = 'public, max-age=31536000, immutable';

type Encoding = 'br' | 'gzip' | 'identity';

interface Asset {
  type: string;
  etag: string;
  bodies: Record<Encoding, Buffer>;
}

interface Built {
  page: Buffer;
  pageEtag: string;
  /** By path, e.g. "/graphiql/<hash>/graphiql.js". */
  assets: Map<string, Asset>;
}

/**
 * GraphiQL served as static files. Yoga's renderer inlines ~8 MB of scripts into
 * a fresh HTML string on every request, uncompressed and uncacheable: anyone who
 * could reach the port (no token needed for the page) could make the server
 * allocate gigabytes with a few hundred concurrent GETs. Here the page is a small
 * HTML file that points at content-hashed assets; each asset is built and
 * compressed (brotli, gzip) once, on the first request for GraphiQL, and every
 * response after that writes the same shared buffers, chosen by Accept-Encoding,
 * with ETag and Cache-Control so browsers keep them.
 */
export class GraphiQLAssets {
  private built: Promise<Built> | undefined;

  constructor(private readonly options: { title: string; subscriptionsProtocol: 'SSE' | 'WS' | 'GRAPHQL_SSE' | 'LEGACY_WS' }) {}

  /** The GraphiQL page (what a browser gets for GET /graphql). */
  async servePage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { page, pageEtag } = await this.build();
    const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', etag: pageEtag };
    if (notModified(req, pageEtag)) return endWith(res, 304, headers);
    endWith(res, 200, { ...headers, 'content-length': String(page.length) }, req.method === 'HEAD' ? undefined : page);
  }

  /** A script, stylesheet or icon under GRAPHIQL_ASSETS_PATH. */
  async serveAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return endWith(res, 405, { allow: 'GET, HEAD' });
    const asset = (await this.build()).assets.get(path);
    if (!asset) return endWith(res, 404, { 'cache-control': 'no-store' });
    const encoding = chooseEncoding(req.headers['accept-encoding']);
    const etag = `"${asset.etag}${encoding === 'identity' ? '' : `-${encoding}`}"`;
    const headers: Record<string, string> = { 'content-type': asset.type, 'cache-control': IMMUTABLE, etag, vary: 'Accept-Encoding' };
    if (encoding !== 'identity') headers['content-encoding'] = encoding;
    if (notModified(req, etag)) return endWith(res, 304, headers);
    const body = asset.bodies[encoding];
    endWith(res, 200, { ...headers, 'content-length': String(body.length) }, req.method === 'HEAD' ? undefined : body);
  }

  private build(): Promise<Built> {
    // One build, shared by every request, even the concurrent first ones; a failed one is retried next time.
    this.built ??= buildAssets(this.options).catch((error: unknown) => {
      this.built = undefined;
      throw error;
    });
    return this.built;
  }
}

async function buildAssets(options: GraphiQLAssets['options']): Promise<Built> {
  // Imported on first use: the module is ~9 MB of strings a server that never shows GraphiQL need not hold.
  const graphiql = await import('@graphql-yoga/render-graphiql/graphiql');
  const script = [
    // As yoga's own page does: Monaco's workers run from blobs, so they need no URLs of their own.
    'function prepareBlob(source) { return URL.createObjectURL(new Blob([source], { type: "application/javascript" })); }',
    `const workers = { editorWorkerService: prepareBlob(${JSON.stringify(graphiql.editorWorkerService)}), json: prepareBlob(${JSON.stringify(graphiql.jsonWorker)}), graphql: prepareBlob(${JSON.stringify(graphiql.graphqlWorker)}) };`,
    'self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: function (moduleId, label) { return workers[label]; } };',
    graphiql.js,
  ].join('\n');
  const [iconHeader, iconData] = graphiql.favicon.split(',', 2) as [string, string];
  const sources = {
    'graphiql.js': { type: 'text/javascript; charset=utf-8', raw: Buffer.from(script) },
    'graphiql.css': { type: 'text/css; charset=utf-8', raw: Buffer.from(graphiql.css) },
    'favicon.ico': { type: /^data:([^;]+)/.exec(iconHeader)?.[1] ?? 'image/x-icon', raw: Buffer.from(iconData, 'base64') },
  };
  const version = createHash('sha256');
  for (const { raw } of Object.values(sources)) version.update(raw);
  const hash = version.digest('hex').slice(0, 16);
  const base = `${GRAPHIQL_ASSETS_PATH}${hash}/`;

  const assets = new Map<string, Asset>();
  for (const [name, { type, raw }] of Object.entries(sources)) {
    const etag = createHash('sha256').update(raw).digest('hex').slice(0, 32);
    // Compressed in libuv's thread pool, so the event loop keeps serving meanwhile.
    const [br, gz] = await Promise.all([
      promisify(brotliCompress)(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 6, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length } }),
      promisify(gzip)(raw, { level: 6 }),
    ]);
    assets.set(`${base}${name}`, { type, etag, bodies: { br, gzip: gz, identity: raw } });
  }

  const page = Buffer.from(renderPage(base, options));
  return { page, pageEtag: `"${createHash('sha256').update(page).digest('hex').slice(0, 32)}"`, assets };
}

function renderPage(base: string, options: GraphiQLAssets['options']): string {
  // `<` escaped so no option value can close the script element.
  const settings = JSON.stringify(options).replace(/</g, '\\u003c');
  const title = options.title.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title} GraphiQL</title>
    <link rel="icon" href="${base}favicon.ico" />
    <link rel="stylesheet" href="${base}graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script src="${base}graphiql.js"></script>
    <script>YogaGraphiQL.renderYogaGraphiQL(window.document.querySelector('#root'), ${settings});</script>
  </body>
</html>
`;
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

function endWith(res: ServerResponse, status: number, headers: Record<string, string>, body?: Buffer): void {
  res.writeHead(status, headers);
  res.end(body);
}
