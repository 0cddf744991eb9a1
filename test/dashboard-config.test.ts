import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigDocument, CreateTokenDocument, RegisterComponentDocument, SetConfigDocument } from '@switchboard/client';
import { browserMissing, dashboardUrl, openPage, useBrowser, type WatchedPage } from './support/browser.js';
import { useRegistryNode } from './support/nodes.js';

describe.skipIf(browserMissing !== undefined)('the dashboard Configuration and Components pages in Chromium', () => {
  const registry = useRegistryNode();
  const chromium = useBrowser();
  let tab: WatchedPage;

  beforeAll(async () => {
    tab = await openPage(chromium.browser, registry.node.url);
  });
  beforeEach(() => {
    tab.problems.length = 0;
  });
  afterAll(async () => {
    await tab?.context.close();
  });

  const setConfig = (key: string, value: unknown, options: { environment?: string; secret?: boolean } = {}) =>
    registry.client.request(SetConfigDocument, { key, value, environment: options.environment ?? null, secret: options.secret ?? null });
  const readConfig = async (key: string, environment: string | null = null) => (await registry.client.request(ConfigDocument, { key, environment })).config;
  const keyPage = (key: string, environment?: string) =>
    tab.page.goto(dashboardUrl(registry.node.url, `/config/entry?key=${key}${environment ? `&env=${environment}` : ''}`));
  const draft = () => tab.page.locator('#config-draft');
  const shownVersion = () => tab.page.locator('dd[data-version]').textContent();

  it('browses by prefix and environment, showing inherited values as such, and lists a key written meanwhile', async () => {
    await setConfig('api.timeout', { ms: 100 });
    await setConfig('api.retries', 3);
    await setConfig('api.retries', 5, { environment: 'staging' });
    await setConfig('other.flag', true);

    await tab.page.goto(dashboardUrl(registry.node.url, '/config?prefix=api.&env=staging'));
    const rows = tab.page.locator('table.configs tbody tr');
    await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')))).toEqual(['api.retries', 'api.timeout']);
    await expect.poll(() => tab.page.locator('tr[data-key="api.retries"]').textContent()).toContain('staging');
    await expect.poll(() => tab.page.locator('tr[data-key="api.timeout"]').textContent()).toContain('global, inherited');

    // Live: another writer adds a key under the prefix.
    await setConfig('api.pool', { max: 10 });
    await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')))).toEqual(['api.pool', 'api.retries', 'api.timeout']);
    expect(tab.problems).toEqual([]);
  });

  it('refuses a draft that is not JSON, and a successful edit shows the new version', async () => {
    await keyPage('api.timeout');
    await expect.poll(shownVersion).toBe('1');
    await tab.page.getByRole('button', { name: 'Edit', exact: true }).click();
    await draft().fill('{"ms": 200');
    await expect.poll(() => tab.page.locator('#config-draft-problem').textContent()).toContain('Not valid JSON');
    expect(await tab.page.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await draft().fill('null');
    await expect.poll(() => tab.page.locator('#config-draft-problem').textContent()).toContain('null is not a value');
    expect(await tab.page.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);

    await draft().fill('{"ms": 200}');
    await tab.page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => tab.page.locator('[data-saved]').textContent()).toContain('version 2');
    await expect.poll(shownVersion).toBe('2');
    expect(await readConfig('api.timeout')).toMatchObject({ value: { ms: 200 }, version: 2 });
    expect(tab.problems).toEqual([]);
  });

  it('saving over a version another writer replaced shows the conflict with the current value, and reload then save works', async () => {
    await keyPage('api.timeout');
    await expect.poll(shownVersion).toBe('2');
    await tab.page.getByRole('button', { name: 'Edit', exact: true }).click();
    await draft().fill('{"ms": 250}');
    // Another writer, between the page load and the save.
    await setConfig('api.timeout', { ms: 300, note: 'from another writer' });
    await tab.page.getByRole('button', { name: 'Save' }).click();

    const conflict = tab.page.locator('[data-conflict]');
    await expect.poll(() => conflict.isVisible()).toBe(true);
    expect(await conflict.locator('[data-current-version]').getAttribute('data-current-version')).toBe('3');
    expect(await conflict.textContent()).toContain('from another writer');
    expect(await conflict.textContent()).toContain('You started from version 2');
    // Nothing was written.
    expect(await readConfig('api.timeout')).toMatchObject({ value: { ms: 300, note: 'from another writer' }, version: 3 });

    await conflict.getByRole('button', { name: /Reload/ }).click();
    await expect.poll(() => draft().inputValue()).toContain('from another writer');
    await draft().fill('{"ms": 350}');
    await tab.page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(shownVersion).toBe('4');
    expect(await readConfig('api.timeout')).toMatchObject({ value: { ms: 350 }, version: 4 });
    expect(tab.problems).toEqual([]);
  });

  it('shows the difference between versions, and rolls back to an earlier one as a new version', async () => {
    await keyPage('api.timeout');
    await expect.poll(shownVersion).toBe('4');
    // Default comparison: version 3 against 4.
    const diff = tab.page.locator('.compare pre.diff');
    await expect.poll(() => diff.locator('.diff-removed').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('"ms": 300')]));
    expect(await diff.locator('.diff-added').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('"ms": 350')]));

    await tab.page.getByRole('button', { name: 'Roll back to 1' }).click();
    await tab.page.getByRole('button', { name: 'Roll back', exact: true }).click();
    await expect.poll(() => tab.page.locator('[data-saved]').textContent()).toContain('version 5');
    await expect.poll(shownVersion).toBe('5');
    expect(await readConfig('api.timeout')).toMatchObject({ value: { ms: 100 }, version: 5 });
    await expect.poll(() => tab.page.locator('tr[data-history-version="5"]').textContent()).toContain('current');
    expect(tab.problems).toEqual([]);
  });

  it('never puts a secret value in the page, though this open server would return it', async () => {
    const secret = 'hunter2-do-not-show';
    await setConfig('db.password', `${secret}-old`, { secret: true });
    await setConfig('db.password', secret, { secret: true });
    // The server shows secrets to callers that may write the key (every caller of an open server): the page must still hide it.
    expect(await readConfig('db.password')).toMatchObject({ value: secret, secret: true });

    await tab.page.goto(dashboardUrl(registry.node.url, '/config?prefix=db.'));
    await expect.poll(() => tab.page.locator('tr[data-key="db.password"]').textContent()).toContain('secret');
    expect(await tab.page.content()).not.toContain(secret);

    await keyPage('db.password');
    await expect.poll(shownVersion).toBe('2');
    await expect.poll(() => tab.page.locator('tr[data-history-version="1"]').textContent()).toContain('secret');
    await tab.page.getByRole('button', { name: 'Edit', exact: true }).click();
    await expect.poll(() => draft().isVisible()).toBe(true);
    expect(await draft().inputValue()).toBe('');
    expect(await tab.page.locator('.compare').textContent()).toContain('Secret values are not compared');
    expect(await tab.page.content()).not.toContain(secret);
    expect(await tab.page.content()).not.toContain('hunter2');
    expect(tab.problems).toEqual([]);
  });

  it('marks a missing dependency and a cycle in the graph and the catalogue, live', async () => {
    const register = (name: string, dependencies: string[]) =>
      registry.client.request(RegisterComponentDocument, { input: { type: 'STEP', name, version: '1.0.0', dependencies } });
    await register('parser', ['lexer']);
    await register('lexer', ['parser']);
    await register('reporter', ['formatter@^2']);
    await register('app', ['reporter']);

    await tab.page.goto(dashboardUrl(registry.node.url, '/components'));
    const row = (id: string) => tab.page.locator(`tr[data-component="${id}"]`);
    await expect.poll(() => row('reporter@1.0.0').locator('[data-missing]').allTextContents()).toEqual([expect.stringContaining('formatter@^2')]);
    expect(await row('app@1.0.0').locator('[data-missing]').count()).toBe(0);
    expect(await row('parser@1.0.0').locator('[data-in-cycle]').count()).toBe(1);
    expect(await row('lexer@1.0.0').locator('[data-in-cycle]').count()).toBe(1);
    expect(await row('app@1.0.0').locator('[data-in-cycle]').count()).toBe(0);

    const graph = tab.page.locator('svg.dependency-graph');
    expect(await graph.locator('g.node.missing').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-node')))).toEqual(['missing:formatter@^2']);
    expect(await graph.locator('g.node.cycle').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-node')).sort())).toEqual([
      'lexer@1.0.0',
      'parser@1.0.0',
    ]);
    expect(await tab.page.locator('[data-cycle]').textContent()).toContain('lexer 1.0.0 ⇄ parser 1.0.0');
    // The server's start order refuses the catalogue (CONFLICT), and the page says so.
    await expect.poll(() => tab.page.locator('[data-order]').getAttribute('data-order')).toBe('conflict');

    // Live: the missing dependency arrives, and the mark goes.
    await registry.client.request(RegisterComponentDocument, { input: { type: 'TRANSFORMER', name: 'formatter', version: '2.1.0' } });
    await expect.poll(() => row('reporter@1.0.0').locator('[data-missing]').count()).toBe(0);
    expect(await graph.locator('g.node.missing').count()).toBe(0);
    expect(await row('formatter@2.1.0').textContent()).toContain('reporter 1.0.0');
    expect(tab.problems).toEqual([]);
  });
});

describe.skipIf(browserMissing !== undefined)('the Configuration page with a token the server withholds secrets from', () => {
  const ADMIN = 'dashboard-config-admin-token';
  const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN });
  const chromium = useBrowser();

  it('shows a secret as withheld, and its value is nowhere in the page', async () => {
    const admin = registry.clients.create(registry.node.url, ADMIN);
    const secret = 'withheld-by-the-server';
    await admin.request(SetConfigDocument, { key: 'db.password', value: secret, environment: null, secret: true });
    const { createToken } = await admin.request(CreateTokenDocument, { input: { name: 'dashboard reader', scopes: ['READ'] } });

    const tab = await openPage(chromium.browser, registry.node.url);
    try {
      await tab.page.goto(dashboardUrl(registry.node.url, '/config/entry?key=db.password'));
      await tab.page.locator('#token').fill(createToken.token);
      await tab.page.getByRole('button', { name: 'Open the dashboard' }).click();
      const mark = tab.page.locator('dl.facts .badge');
      await expect.poll(() => mark.getAttribute('title')).toContain('withholds it from this token');
      expect(await mark.textContent()).toBe('secret');
      expect(await tab.page.content()).not.toContain(secret);
      // The browser logs the 401 of the first, tokenless request: that is how the page learns it needs a token.
      expect(tab.problems.filter((problem) => !problem.includes('401 (Unauthorized)'))).toEqual([]);
    } finally {
      await tab.context.close();
    }
  });
});
