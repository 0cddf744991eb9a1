/**
 * `npm run screenshots` — starts a registry node with sample data (on a fresh database on
 * DATABASE_URL's server, else an embedded PostgreSQL), opens the dashboard in Chromium and saves
 * PNGs of its pages into docs/screenshots/ for docs/dashboard.md.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  CreateAlertRuleDocument,
  CreateSilenceDocument,
  PublishEventDocument,
  RegisterComponentDocument,
  RegisterServiceDocument,
  ReportCallOutcomeDocument,
  SetConfigDocument,
  SwitchboardClient,
} from '@switchboard/client';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { benchDatabase } from '../bench/support.js';
import { loadSettings } from '../src/settings.js';
import { createLogger } from '../src/logger.js';
import { startNode } from '../src/server/node.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = `${ROOT}docs/screenshots/`;
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
/** A short state window, so the sample shows every state in a few seconds. */
const STATE_WINDOW_MS = 15_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A health-check target whose answer per path the script sets (200 unless told otherwise). */
function startTarget(): Promise<{ server: Server; url: (path: string) => string; answer: (path: string, status: number) => void }> {
  const answers = new Map<string, number>();
  const server = createServer((req, res) => {
    const status = answers.get(req.url ?? '/') ?? 200;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'upstream database unreachable');
  });
  server.keepAliveTimeout = 1_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: (path) => `http://127.0.0.1:${port}${path}`, answer: (path, status) => answers.set(path, status) });
    }),
  );
}

async function seed(client: SwitchboardClient, target: Awaited<ReturnType<typeof startTarget>>): Promise<void> {
  const register = (input: Record<string, unknown>) => client.request(RegisterServiceDocument, { input: input as never });
  const check = (path: string) => ({ http: target.url(path), interval: '1s', timeout: '500ms' });
  const zones = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
  for (const [index, zone] of zones.entries()) {
    await register({
      id: `payments-${index + 1}`,
      name: 'payments',
      version: index === 2 ? '2.4.0' : '2.3.1',
      address: `10.0.1.${11 + index}`,
      port: 8443,
      tags: ['pci', 'grpc'],
      metadata: { zone, team: 'billing', canary: index === 2 ? 'true' : 'false' },
      weight: index === 2 ? 20 : 100,
      healthCheck: check(`/payments-${index + 1}`),
    });
  }
  for (const index of [1, 2]) {
    await register({
      id: `orders-${index}`,
      name: 'orders',
      version: '1.12.0',
      address: `10.0.2.${10 + index}`,
      port: 8080,
      tags: ['http'],
      metadata: { zone: zones[index]!, team: 'checkout' },
      healthCheck: check(`/orders-${index}`),
    });
  }
  await register({ id: 'inventory-1', name: 'inventory', version: '0.9.4', address: '10.0.3.10', port: 9000, healthCheck: check('/inventory-1') });
  await register({ id: 'search-1', name: 'search', version: '3.0.0', address: '10.0.4.10', port: 9200, tags: ['http'], healthCheck: check('/search-1') });
  await register({ id: 'notifications-1', name: 'notifications', version: '1.0.2', address: '10.0.5.10', port: 8025 });
  target.answer('/inventory-1', 500);
  // Past the state window (STATE_WINDOW), what nothing touches since is Active.
  await sleep(STATE_WINDOW_MS + 1_000);

  // A few health transitions, so the timelines have something to show, and payments is Healing.
  target.answer('/payments-2', 500);
  await sleep(2_500);
  target.answer('/payments-2', 200);
  await sleep(2_500);
  target.answer('/payments-2', 429);
  await sleep(2_000);
  target.answer('/payments-2', 200);
  // search grows by one instance: Scaling.
  await register({ id: 'search-2', name: 'search', version: '3.0.0', address: '10.0.4.11', port: 9200, tags: ['http'], healthCheck: check('/search-2') });
  await sleep(2_000);
  // payments-3 (the canary) fails its calls: its breaker opens.
  for (let call = 0; call < 6; call += 1) await client.request(ReportCallOutcomeDocument, { id: 'payments-3', success: false, latency: '120ms' });

  await client.request(SetConfigDocument, { key: 'payments.timeout', value: '2s' });
  await client.request(SetConfigDocument, { key: 'payments.retries', value: 3, environment: 'production' });
  await client.request(RegisterComponentDocument, {
    input: { id: 'custom-api-step', type: 'STEP', name: 'Custom API Step', version: '1.2.0', dependencies: ['json-transformer@^1'] },
  });
  await seedAlerts(client, target);
  await sleep(1_500);
}

/** Rules with a firing alert (its webhook delivered), a silenced one, and a quiet one. */
async function seedAlerts(client: SwitchboardClient, target: Awaited<ReturnType<typeof startTarget>>): Promise<void> {
  const rule = async (input: Record<string, unknown>) => (await client.request(CreateAlertRuleDocument, { input: input as never })).createAlertRule;
  await rule({
    name: 'inventory down',
    kind: 'NO_PASSING',
    service: 'inventory',
    for: '1s',
    annotations: { summary: 'No passing instance of inventory' },
    receivers: [{ name: 'pager', url: target.url('/hooks/pager'), secret: 'a-long-random-secret' }],
  });
  const deploys = await rule({
    name: 'deploys',
    kind: 'EVENT_SEEN',
    eventType: 'deploy.*',
    hold: '1h',
    receivers: [{ name: 'chat', url: target.url('/hooks/chat') }],
  });
  await rule({ name: 'payments thin', kind: 'FEWER_PASSING', service: 'payments', minPassing: 2, for: '2m' });
  await client.request(PublishEventDocument, { input: { type: 'deploy.finished', source: 'ci/pipeline-42', data: { service: 'search', version: '3.0.0' } } });
  await client.request(CreateSilenceDocument, { input: { ruleId: deploys.id, duration: '2h', comment: 'release day: deploys are expected' } });
}

await build({ configFile: `${ROOT}ui/vite.config.ts`, logLevel: 'warn' });
const database = await benchDatabase();
const target = await startTarget();
const node = await startNode(loadSettings({ DATABASE_URL: database.url, PORT: '0', SWITCHBOARD_STATE_WINDOW: `${STATE_WINDOW_MS}ms` }), createLogger('warn'));
const client = new SwitchboardClient({ url: node.url! });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  await seed(client, target);
  mkdirSync(OUT, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1, colorScheme: 'light' });
  const shots: { name: string; path: string; ready: string }[] = [
    { name: 'overview', path: '/', ready: '.alerts li[data-alert]' },
    { name: 'service', path: '/services/payments', ready: '.transitions li' },
    { name: 'config', path: '/config?env=production', ready: 'table.configs tbody tr' },
    { name: 'components', path: '/components', ready: 'table.components tbody tr' },
    { name: 'alerts', path: '/alerts', ready: 'tr[data-state="FIRING"] [data-delivery="DELIVERED"]' },
    { name: 'events', path: '/events', ready: 'table.events tbody tr' },
  ];
  for (const shot of shots) {
    await page.goto(new URL(`/ui${shot.path}`, node.url).href);
    await page.locator(shot.ready).first().waitFor();
    await sleep(500);
    await page.screenshot({ path: `${OUT}${shot.name}.png`, fullPage: shot.name !== 'events' });
    console.log(`docs/screenshots/${shot.name}.png`);
  }
} finally {
  await browser.close();
  await client.close();
  await node.stop();
  target.server.close();
  await database.drop();
}
