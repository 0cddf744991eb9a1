import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { builtOnce, IMMUTABLE, notFound, prepareFile, readMethod, serveFile, type StaticFile } from './static-files.js';

export { chooseEncoding } from './static-files.js';

/** Where GraphiQL's scripts, styles and icon are served; a content hash follows, so they never go stale. */
export const GRAPHIQL_ASSETS_PATH = '/graphiql/';

interface Built {
  page: StaticFile;
  /** By path, e.g. "/graphiql/<hash>/graphiql.js". */
  assets: Map<string, StaticFile>;
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
  /** One build, shared by every request, even the concurrent first ones; a failed one is retried next time. */
  private readonly build: () => Promise<Built>;

  constructor(private readonly options: { title: string; subscriptionsProtocol: 'SSE' | 'WS' | 'GRAPHQL_SSE' | 'LEGACY_WS' }) {
    this.build = builtOnce(() => buildAssets(this.options));
  }

  /** The GraphiQL page (what a browser gets for GET /graphql). */
  async servePage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    serveFile(req, res, (await this.build()).page);
  }

  /** A script, stylesheet or icon under GRAPHIQL_ASSETS_PATH. */
  async serveAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!readMethod(req, res)) return;
    const asset = (await this.build()).assets.get(path);
    if (!asset) return notFound(res);
    serveFile(req, res, asset);
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

  const assets = new Map<string, StaticFile>();
  for (const [name, { type, raw }] of Object.entries(sources)) {
    assets.set(`${base}${name}`, await prepareFile(raw, { type, cacheControl: IMMUTABLE, level: 6 }));
  }

  const page = await prepareFile(Buffer.from(renderPage(base, options)), { type: 'text/html; charset=utf-8', cacheControl: 'no-cache' });
  return { page, assets };
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
