import { readFileSync } from 'node:fs';
import { buildSchema, type GraphQLEnumType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateAlertRuleDocument, PublishEventDocument, RegisterServiceDocument } from '@switchboard/client';
import { browserMissing, dashboardUrl, openPage, useBrowser, type WatchedPage } from './support/browser.js';
import { useRegistryNode } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';

/**
 * The dashboard in a real browser (Debian's Chromium) against a real node on an open server: one
 * browser and one tab for the file, every request to anything but the server refused.
 */
describe.skipIf(browserMissing !== undefined)('the dashboard in Chromium', () => {
  const registry = useRegistryNode({ SWITCHBOARD_ALERT_INTERVAL: '200ms' });
  const chromium = useBrowser();
  let tab: WatchedPage;
  let target: Awaited<ReturnType<typeof startHttpTarget>>;

  beforeAll(async () => {
    tab = await openPage(chromium.browser, registry.node.url);
    target = await startHttpTarget();
  });
  afterAll(async () => {
    await tab?.context.close();
    await target?.close();
  });

  /** Waits for the page to show what is expected (the live path takes a check interval or a reconnect on a busy machine). */
  const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 15_000, interval: 100 });

  /** A marker on the page's window: still there after a change means the page did not reload. */
  const markPage = () => tab.page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  const samePage = () => tab.page.evaluate(() => (window as unknown as { marker?: number }).marker === 42);

  it('opens with no token prompt on an open server and shows each state with its definition, as the schema gives it', async () => {
    await tab.page.goto(dashboardUrl(registry.node.url));
    await tab.page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await tab.page.getByLabel('Token').count()).toBe(0);
    const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
    const states = schema.getType('ServiceState') as GraphQLEnumType;
    for (const value of states.getValues()) {
      const card = tab.page.locator(`button[data-state="${value.name}"]`);
      expect(await card.getAttribute('title'), value.name).toBe(value.description);
      expect(await card.locator('.state-help').innerText(), value.name).toBe(value.description);
    }
    // The registry's own health: its database as this server sees it.
    await poll(() => tab.page.getByTestId('database').innerText()).toMatch(/reachable · round trip \S+ · PostgreSQL \d+/);
  });

  it('changes the counts and the services live, without a reload, when an instance goes critical', async () => {
    await registry.client.request(RegisterServiceDocument, {
      input: { id: 'payments-1', name: 'payments', address: '127.0.0.1', port: target.port, healthCheck: { http: target.url('/payments-1'), interval: '1s' } },
    });
    const row = (name: string) => tab.page.locator(`tr[data-service="${name}"]`);
    const count = (state: string) => tab.page.locator(`button[data-state="${state}"] [data-count]`).textContent();
    // Just registered: its instance count changed within the window.
    await poll(() => row('payments').getAttribute('data-state')).toBe('SCALING');
    await poll(() => row('payments').locator('td[data-passing]').textContent()).toBe('1');
    expect(await count('DOWN')).toBe('0');
    await registry.client.request(CreateAlertRuleDocument, {
      input: { name: 'payments has no passing instance', kind: 'NO_PASSING', service: 'payments', annotations: { summary: 'Payments is down' } },
    });
    expect(await tab.page.getByText('No alert is firing.').count()).toBe(1);
    await markPage();

    await registry.client.request(RegisterServiceDocument, { input: { id: 'orders-1', name: 'orders', address: '10.0.0.2', port: 8080 } });
    await poll(() => tab.page.locator('tr[data-service] th').allTextContents()).toEqual(['orders', 'payments']);
    await poll(() => count('SCALING')).toBe('2');

    target.answer('/payments-1', { status: 500, body: 'down for the test' });
    await poll(() => row('payments').getAttribute('data-state')).toBe('DOWN');
    expect(await count('DOWN')).toBe('1');
    expect(await count('SCALING')).toBe('1');
    expect(await row('payments').locator('td[data-passing]').textContent()).toBe('0');
    expect(await row('payments').locator('td.reasons').innerText()).toMatch(/passing/i);
    // The alert rule fired: the overview lists it, live.
    await poll(() => tab.page.locator('li[data-alert="payments has no passing instance"]').innerText()).toMatch(/^firing/);
    expect(await samePage()).toBe(true);
    await poll(() => tab.page.locator('.event-list li code').allTextContents()).toContain('service.health.changed');

    // A state card filters the list.
    await tab.page.locator('button[data-state="DOWN"]').click();
    expect(await tab.page.locator('tr[data-service] th').allTextContents()).toEqual(['payments']);
    await tab.page.getByRole('button', { name: 'Show all' }).click();
  });

  it('shows a service: its instances with health and check output, and a health timeline that lists a transition live', async () => {
    target.answer('/payments-1', { status: 200, body: 'fine again' });
    await tab.page.goto(dashboardUrl(registry.node.url, '/services/payments'));
    const instance = tab.page.locator('tr[data-instance="payments-1"]');
    await poll(() => instance.locator('td[data-health]').getAttribute('data-health')).toBe('PASSING');
    const timeline = tab.page.getByRole('list', { name: 'Health transitions of payments-1, newest first' });
    await poll(() => timeline.locator('li').first().innerText()).toMatch(/critical\s*→\s*passing/);
    await markPage();

    target.answer('/payments-1', { status: 500, body: 'broken for the test' });
    await poll(() => instance.locator('td[data-health]').getAttribute('data-health')).toBe('CRITICAL');
    await poll(() => timeline.locator('li').first().innerText()).toMatch(/passing\s*→\s*critical[\s\S]*broken for the test/);
    expect(await tab.page.locator('tr[data-check]').first().innerText()).toContain('broken for the test');
    // Who gets traffic: nobody, and the page says why.
    await poll(() => tab.page.getByTestId('verdict').innerText()).toContain('No instance would get traffic');
    expect(await samePage()).toBe(true);
  });

  it('tails events live, filtered by type, and resumes after a lost connection with every event once, in order', async () => {
    await tab.page.goto(dashboardUrl(registry.node.url, '/events'));
    await tab.page.getByLabel('Services service.*').check();
    expect(decodeURIComponent(tab.page.url())).toContain('type=service.*');
    await tab.page.getByText(/^Live after event \d+/).waitFor();
    const register = (id: string) => registry.client.request(RegisterServiceDocument, { input: { id, name: 'tail', address: '10.0.9.9' } });
    // The tail also shows the service events of the tests before (health changes among them): these ones are ours.
    const shown = async () =>
      (await tab.page.locator('tr[data-event-type] td.data').allTextContents()).map((text) => /\bid=(tail-\d+)/.exec(text)?.[1]).filter(Boolean);

    await register('tail-1');
    await registry.client.request(PublishEventDocument, { input: { type: 'deploy.finished', source: 'test', data: { id: 'not-a-service' } } });
    await poll(shown).toEqual(['tail-1']);

    await tab.dropSockets();
    for (const id of ['tail-2', 'tail-3', 'tail-4']) await register(id);
    await poll(shown).toEqual(['tail-4', 'tail-3', 'tail-2', 'tail-1']);
    // The re-subscription asked for what followed the last event shown, not for the start again.
    const subscribed = tab.sent.filter((message) => message.type === 'subscribe' && JSON.stringify(message.payload).includes('service.*'));
    expect(subscribed.length).toBeGreaterThanOrEqual(2);
    const tail1 = await tab.page.locator('tr[data-event-type]', { hasText: 'id=tail-1 ' }).locator('td.num').textContent();
    expect((subscribed.at(-1)!.payload!['variables'] as { after: string }).after).toBe(tail1);
  });

  it('routes every page under /ui, a reload included, and says so when a page does not exist', async () => {
    await tab.page.goto(dashboardUrl(registry.node.url, '/services/orders'));
    await tab.page.locator('tr[data-instance="orders-1"]').waitFor();
    await tab.page.getByRole('link', { name: 'Events' }).click();
    await tab.page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    expect(new URL(tab.page.url()).pathname).toBe('/ui/events');
    await tab.page.goBack();
    await tab.page.locator('tr[data-instance="orders-1"]').waitFor();
    await tab.page.goto(dashboardUrl(registry.node.url, '/nowhere'));
    await tab.page.getByRole('heading', { name: 'Not found' }).waitFor();
  });

  it('loaded everything from the server alone, asked nothing of any other host, and logged no error on any page', () => {
    const server = new URL(registry.node.url).host;
    expect(tab.blocked).toEqual([]);
    expect(tab.requests.filter((url) => new URL(url).host !== server)).toEqual([]);
    expect(tab.requests.some((url) => url.startsWith('ws://'))).toBe(true);
    expect(tab.problems).toEqual([]);
  });
});
