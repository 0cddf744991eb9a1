import { RegisterServiceDocument, SwitchboardClient } from '@switchboard/client';
import { chromium } from 'playwright-core';
import { ensureDashboardBuilt } from '../test/support/browser.js';
import { benchDatabase, percentile, startServer } from './support.js';

export const DASHBOARD_SERVICES = 1_000;
export const DASHBOARD_LOADS = 7;
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

export interface DashboardBenchResult {
  /** Per load: navigation start to the first frame with every service row painted, in ms. */
  firstRenderMs: number[];
  p50Ms: number;
}

/**
 * The overview's time to first render with DASHBOARD_SERVICES services registered, in Chromium.
 * "First render": from the navigation's start (performance.timeOrigin) to the first animation frame
 * in which the services table holds a row for every service, read with performance.now() inside the
 * page by a requestAnimationFrame-polled check. Each load is a fresh browser context (cold cache:
 * page, scripts, token probe, states query); the first load is a warm-up and is not counted.
 */
export async function runDashboardBench(): Promise<DashboardBenchResult | { skipped: string }> {
  await ensureDashboardBuilt();
  const database = await benchDatabase();
  const server = await startServer({ DATABASE_URL: database.url, SWITCHBOARD_HEALTH_WORKER: 'false' });
  const client = new SwitchboardClient({ url: server.url });
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  } catch (error) {
    await server.stop();
    await database.drop();
    return { skipped: `Chromium did not start (${CHROMIUM}): ${(error as Error).message.split('\n')[0]}` };
  }
  try {
    const names = Array.from({ length: DASHBOARD_SERVICES }, (_, index) => `svc-${String(index).padStart(4, '0')}`);
    for (let start = 0; start < names.length; start += 25) {
      await Promise.all(
        names.slice(start, start + 25).map((name, offset) =>
          client.request(RegisterServiceDocument, {
            input: { id: `${name}-1`, name, address: `10.1.${Math.floor((start + offset) / 250)}.${(start + offset) % 250}`, port: 8080 },
          }),
        ),
      );
    }
    const url = new URL('/ui/', server.url).href;
    const firstRenderMs: number[] = [];
    for (let load = 0; load <= DASHBOARD_LOADS; load += 1) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'commit' });
      const handle = await page.waitForFunction(
        (count) => document.querySelectorAll('tr[data-service]').length >= count && performance.now(),
        DASHBOARD_SERVICES,
        {
          polling: 'raf',
          timeout: 60_000,
        },
      );
      const ms = (await handle.jsonValue()) as number;
      if (load > 0) firstRenderMs.push(ms);
      await context.close();
    }
    return { firstRenderMs, p50Ms: percentile(firstRenderMs, 50) };
  } finally {
    await browser.close();
    await client.close();
    await server.stop();
    await database.drop();
  }
}
