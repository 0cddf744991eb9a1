import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterServiceDocument } from '@switchboard/client';
import { browserMissing, dashboardUrl, openPage, useBrowser, type WatchedPage } from './support/browser.js';
import { useRegistryNode } from './support/nodes.js';

describe.skipIf(browserMissing !== undefined)('the dashboard in Chromium', () => {
  const registry = useRegistryNode();
  const chromium = useBrowser();
  let tab: WatchedPage;

  beforeAll(async () => {
    tab = await openPage(chromium.browser, registry.node.url);
  });
  afterAll(async () => {
    await tab?.context.close();
  });

  it('shows the services list, and a service registered meanwhile appears without a reload', async () => {
    await registry.client.request(RegisterServiceDocument, { input: { id: 'payments-1', name: 'payments', address: '10.0.0.1', port: 8080 } });
    await tab.page.goto(dashboardUrl(registry.node.url));
    const services = tab.page.getByRole('table').first();
    await expect.poll(() => services.locator('tbody tr').allTextContents()).toEqual([expect.stringContaining('payments')]);

    await registry.client.request(RegisterServiceDocument, { input: { id: 'orders-1', name: 'orders', address: '10.0.0.2', port: 8080 } });
    await expect.poll(() => services.locator('tbody th').allTextContents()).toEqual(['orders', 'payments']);
    expect(tab.problems).toEqual([]);
  });
});
