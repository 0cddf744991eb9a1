import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterServiceDocument } from '@switchboard/client';
import { browserMissing, dashboardUrl, openPage, useBrowser, type WatchedPage } from './support/browser.js';
import { useRegistryNode } from './support/nodes.js';

const TOKEN = 'dashboard-test-admin-token-0123456789';

/** The dashboard against a server that needs a token (SWITCHBOARD_ADMIN_TOKEN). */
describe.skipIf(browserMissing !== undefined)('the dashboard with a token', () => {
  const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: TOKEN });
  const chromium = useBrowser();
  let tab: WatchedPage;
  /** Every Authorization header the page sent, by URL. */
  const authorizations: { url: string; authorization: string | undefined }[] = [];

  beforeAll(async () => {
    await registry.clients.create(registry.node.url, TOKEN).request(RegisterServiceDocument, { input: { id: 'vault-1', name: 'vault', address: '10.0.0.7' } });
    tab = await openPage(chromium.browser, registry.node.url);
    tab.page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql') authorizations.push({ url: request.url(), authorization: request.headers()['authorization'] });
    });
  });
  afterAll(async () => {
    await tab?.context.close();
  });

  const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 15_000, interval: 100 });
  const tokenField = () => tab.page.getByLabel('Token');

  it('asks for a token, and says clearly when the one given is refused', async () => {
    await tab.page.goto(dashboardUrl(registry.node.url));
    await tokenField().waitFor();
    await tokenField().fill('not-the-right-token-at-all');
    await tab.page.getByRole('button', { name: 'Open the dashboard' }).click();
    await poll(() => tab.page.getByRole('alert').innerText()).toContain('The server did not accept that token');
    expect(await tab.page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('opens the dashboard with the right token, sending it as a header and in connection_init, never in a URL', async () => {
    await tokenField().fill(TOKEN);
    await tab.page.getByRole('button', { name: 'Open the dashboard' }).click();
    await poll(() => tab.page.locator('tr[data-service] th').allTextContents()).toEqual(['vault']);
    expect(authorizations.at(-1)?.authorization).toBe(`Bearer ${TOKEN}`);
    await poll(() => tab.sent.find((message) => message.type === 'connection_init')?.payload?.['authorization']).toBe(`Bearer ${TOKEN}`);
  });

  it('keeps the token for the session: a reload asks nothing, a new session asks again', async () => {
    await tab.page.reload();
    await poll(() => tab.page.locator('tr[data-service] th').allTextContents()).toEqual(['vault']);
    expect(await tokenField().count()).toBe(0);

    const other = await openPage(chromium.browser, registry.node.url);
    try {
      await other.page.goto(dashboardUrl(registry.node.url));
      await other.page.getByLabel('Token').waitFor();
      // The page said a token is needed, so the new session asked before sending anything: no 401 at all.
      expect(other.problems).toEqual([]);
      expect(other.requests.filter((url) => new URL(url).pathname === '/graphql')).toEqual([]);
    } finally {
      await other.context.close();
    }
  });

  it('forgets the token on request', async () => {
    await tab.page.getByRole('button', { name: 'Forget token' }).click();
    await tokenField().waitFor();
    expect(await tab.page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('never put the token in a URL, and asked nothing of any other host', () => {
    const urls = [...tab.requests, tab.page.url()];
    expect(urls.filter((url) => url.includes(TOKEN))).toEqual([]);
    expect(tab.blocked).toEqual([]);
    // The only error: the browser reporting the 401 answer to the wrong token (the page never sent a request without one).
    expect(tab.problems).toHaveLength(1);
    expect(tab.problems[0]).toMatch(/status of 401/);
  });
});
