import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDashboardBuilt } from './support/browser.js';
import { useRegistryNode } from './support/nodes.js';

const BUILT = fileURLToPath(new URL('../dist/ui/', import.meta.url));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw GET: fetch would normalise `..` out of the path before sending it. */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The dashboard's static files, served at /ui without a token (they hold no data). */
describe('the dashboard files at /ui', () => {
  const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: 'dashboard-assets-token-0123456789' });
  let script: string;
  let stylesheet: string;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    const assets = readdirSync(`${BUILT}assets`);
    script = `/ui/assets/${assets.find((name) => name.endsWith('.js'))!}`;
    stylesheet = `/ui/assets/${assets.find((name) => name.endsWith('.css'))!}`;
  });

  it('serves the page with no-cache and a Content-Security-Policy that allows only this server', async () => {
    const page = await get(registry.node.url, '/ui/', { host: 'registry.example:4000' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    // The built page, told that this server needs a token (so it asks before its first request).
    const hint = '<meta name="switchboard-token" content="required" />';
    expect(page.body.toString()).toBe(readFileSync(`${BUILT}index.html`, 'utf8').replace('</head>', `${hint}</head>`));
    const policy = String(page.headers['content-security-policy']);
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self' ws://registry.example:4000 wss://registry.example:4000");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toMatch(/unsafe|https?:|\*/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('keeps a Host header that is not a host name out of the policy', async () => {
    const page = await get(registry.node.url, '/ui/', { host: "evil.example; script-src 'unsafe-inline'" });
    expect(String(page.headers['content-security-policy'])).toContain("connect-src 'self';");
    expect(String(page.headers['content-security-policy'])).not.toContain('unsafe');
  });

  it('serves hashed assets with their type, cached as immutable, compressed when asked, and 304 for a known ETag', async () => {
    const js = await get(registry.node.url, script);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body.equals(readFileSync(`${BUILT}${script.slice('/ui/'.length)}`))).toBe(true);

    const css = await get(registry.node.url, stylesheet, { 'accept-encoding': 'gzip' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(css.body).equals(readFileSync(`${BUILT}${stylesheet.slice('/ui/'.length)}`))).toBe(true);

    const again = await get(registry.node.url, script, { 'if-none-match': String(js.headers['etag']) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it("answers the app's own routes with the page (a reload of /ui/services/x works) and redirects /ui to /ui/", async () => {
    for (const path of ['/ui/services/payments', '/ui/events?type=config.*', '/ui/services/a%2Fb']) {
      const page = await get(registry.node.url, path);
      expect(page.status, path).toBe(200);
      expect(page.headers['content-type'], path).toBe('text/html; charset=utf-8');
    }
    const bare = await get(registry.node.url, '/ui?x=1');
    expect(bare.status).toBe(308);
    expect(bare.headers['location']).toBe('/ui/?x=1');
  });

  it('answers 404 for a missing asset, and never reads a file outside the build', async () => {
    for (const path of ['/ui/assets/nothing-here.js', '/ui/missing.png']) {
      const missing = await get(registry.node.url, path);
      expect(missing.status, path).toBe(404);
    }
    const secret = readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8');
    for (const path of ['/ui/../package.json', '/ui/..%2f..%2fpackage.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/assets/../../../package.json']) {
      const answer = await get(registry.node.url, path);
      expect(answer.body.toString(), path).not.toContain(secret.slice(0, 200));
      expect([200, 404], path).toContain(answer.status);
    }
  });

  it('answers 405 to anything but GET and HEAD; HEAD has no body', async () => {
    expect((await get(registry.node.url, '/ui/', {}, 'POST')).status).toBe(405);
    const head = await get(registry.node.url, '/ui/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });
});
