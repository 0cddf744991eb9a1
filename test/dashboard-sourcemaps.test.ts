import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardAssets } from '../src/server/dashboard-assets.js';
import { ensureDashboardBuilt } from './support/browser.js';
import { useRegistryNode } from './support/nodes.js';

const BUILT = fileURLToPath(new URL('../dist/ui/', import.meta.url));

describe('the dashboard as built and served by default has no source maps', () => {
  const registry = useRegistryNode();
  let script: string;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    script = (await readdir(`${BUILT}assets`)).find((name) => name.endsWith('.js'))!;
  });

  it('GET /ui/assets/<script>.js.map is 404, and the script names no map', async () => {
    const map = await fetch(new URL(`/ui/assets/${script}.map`, registry.node.url));
    expect(map.status).toBe(404);
    await map.text();
    const js = await fetch(new URL(`/ui/assets/${script}`, registry.node.url));
    expect(js.status).toBe(200);
    expect(await js.text()).not.toContain('sourceMappingURL');
  });
});

/** DashboardAssets over a build made with maps (SWITCHBOARD_DASHBOARD_SOURCEMAPS=true at build time), behind a real server. */
describe.each([
  ['by default', undefined, false],
  ['with SWITCHBOARD_DASHBOARD_SOURCEMAPS=true', true, true],
] as const)('a build that has source maps, served %s', (_how, sourceMaps, served) => {
  let dir: string;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-ui-maps-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<html><head></head><body><script type="module" src="/ui/assets/app.js"></script></body></html>');
    await writeFile(join(dir, 'assets', 'app.js'), 'console.log("dashboard");\n//# sourceMappingURL=app.js.map\n');
    await writeFile(join(dir, 'assets', 'app.css'), 'body{color:red}\n/*# sourceMappingURL=app.css.map */\n');
    await writeFile(join(dir, 'assets', 'app.js.map'), '{"version":3,"sources":["../src/secret.ts"],"mappings":""}');
    const assets = new DashboardAssets(false, dir, sourceMaps);
    server = createServer((req, res) => void assets.serve(req, res, (req.url ?? '/').split('?')[0]!));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it(`the map is ${served ? 'served' : '404'}, and the script and stylesheet ${served ? 'point to it' : 'name no map'}`, async () => {
    const map = await fetch(`${base}/ui/assets/app.js.map`);
    expect(map.status).toBe(served ? 200 : 404);
    expect(await map.text()).toContain(served ? 'secret.ts' : 'Not found');
    const js = await (await fetch(`${base}/ui/assets/app.js`)).text();
    const css = await (await fetch(`${base}/ui/assets/app.css`)).text();
    expect(js).toContain('console.log("dashboard");');
    expect(css).toContain('body{color:red}');
    expect(js.includes('sourceMappingURL=app.js.map')).toBe(served);
    expect(css.includes('sourceMappingURL=app.css.map')).toBe(served);
  });
});
