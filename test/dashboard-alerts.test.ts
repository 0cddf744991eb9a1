import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AlertRulesDocument,
  AlertsDocument,
  CreateAlertRuleDocument,
  DeleteAlertRuleDocument,
  PublishEventDocument,
  SilencesDocument,
} from '@switchboard/client';
import { browserMissing, dashboardUrl, openPage, useBrowser, type WatchedPage } from './support/browser.js';
import { useRegistryNode } from './support/nodes.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const SECRET = 'dashboard-receiver-secret-0123';

describe.skipIf(browserMissing !== undefined)('the dashboard Alerts page in Chromium', () => {
  const registry = useRegistryNode({
    SWITCHBOARD_ALERT_INTERVAL: '100ms',
    SWITCHBOARD_HEALTH_ALLOWED_NETWORKS: '127.0.0.0/8',
    SWITCHBOARD_WEBHOOK_ALLOW_LOCAL: 'true', // the receiver listens on 127.0.0.1
  });
  const chromium = useBrowser();
  let tab: WatchedPage;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    tab = await openPage(chromium.browser, registry.node.url);
    await tab.page.goto(dashboardUrl(registry.node.url, '/alerts'));
  });
  beforeEach(() => {
    tab.problems.length = 0;
  });
  afterAll(async () => {
    await tab?.context.close();
    await receiver?.close();
  });

  const form = () => tab.page.getByRole('form', { name: 'New alert rule' });
  const rules = async () => (await registry.client.request(AlertRulesDocument)).alertRules;
  const alertRow = (name: string) => tab.page.locator(`tr[data-alert="${name}"]`);

  it('creates an EVENT_SEEN rule from the form; a matching event shows it firing, live, with its webhook delivered', async () => {
    await expect.poll(() => tab.page.locator('h2', { hasText: 'Rules' }).textContent()).toBe('Rules (0)');
    await form().locator('select[name="kind"]').selectOption('EVENT_SEEN');
    await form().locator('input[name="name"]').fill('deploys');
    await form().locator('input[name="eventType"]').fill('deploy.*');
    await form().locator('input[name="hold"]').fill('1h');
    await form().locator('input[name="receiverUrl"]').fill(receiver.url('/deploys'));
    await form().locator('input[name="receiverSecret"]').fill(SECRET);
    await form().getByRole('button', { name: 'Create rule' }).click();

    const row = tab.page.locator('tr[data-rule="deploys"]');
    await expect.poll(() => row.textContent()).toContain('An event of type deploy.* was seen; resolves after 1h');
    expect(await row.textContent()).toContain(receiver.url('/deploys'));
    expect(await row.textContent()).toContain('(signed)');
    expect(await tab.page.content()).not.toContain(SECRET);
    expect(await rules()).toMatchObject([{ name: 'deploys', kind: 'EVENT_SEEN', eventType: 'deploy.*', hold: '1h', receivers: [{ hasSecret: true }] }]);

    // No reload: the page hears the alert through its subscription.
    await registry.client.request(PublishEventDocument, { input: { type: 'deploy.finished', source: 'ci/pipeline-7', data: { version: '2.4.0' } } });
    await expect.poll(() => alertRow('deploys').getAttribute('data-state')).toBe('FIRING');
    await receiver.waitFor('/deploys', 1);
    await expect.poll(() => alertRow('deploys').locator('[data-delivery]').first().getAttribute('data-delivery')).toBe('DELIVERED');
    expect(await alertRow('deploys').textContent()).toContain('firing to webhook-1, 1 attempt, HTTP 200');
    expect(await tab.page.locator('h2', { hasText: 'Alerts' }).textContent()).toBe('Alerts (1 firing)');
    expect(tab.problems).toEqual([]);
  });

  it("silences the rule from the page: the silence is listed and the rule's alert marked silenced, not another rule's", async () => {
    // Another rule firing too: the silence names the first rule only.
    const { createAlertRule: other } = await registry.client.request(CreateAlertRuleDocument, {
      input: { name: 'restarts', kind: 'EVENT_SEEN', eventType: 'restart.*', hold: '1h' },
    });
    await registry.client.request(PublishEventDocument, { input: { type: 'restart.done', source: 'ops' } });
    await expect.poll(() => alertRow('restarts').getAttribute('data-state')).toBe('FIRING');
    const silenceForm = tab.page.getByRole('form', { name: 'New silence' });
    await silenceForm.locator('input[name="silenceDuration"]').fill('2h');
    await silenceForm.locator('input[name="silenceComment"]').fill('rolling out 2.4.0');
    await silenceForm.getByRole('button', { name: 'Silence' }).click();

    const silence = tab.page.locator('tr[data-silence="deploys"]');
    await expect.poll(() => silence.textContent()).toContain('rolling out 2.4.0');
    await expect.poll(() => alertRow('deploys').textContent()).toContain('silenced');
    expect(await alertRow('restarts').textContent()).not.toContain('silenced');
    expect((await registry.client.request(AlertsDocument, { ruleId: other.id })).alerts).toMatchObject([{ state: 'FIRING', silenced: false }]);
    const [active] = (await registry.client.request(SilencesDocument, { active: true })).silences;
    expect(active).toMatchObject({ comment: 'rolling out 2.4.0', ruleId: (await rules())[0]!.id });
    const lasts = Date.parse(active!.endsAt) - Date.parse(active!.startsAt);
    expect(Math.abs(lasts - 2 * 3600_000)).toBeLessThan(5_000);

    await silence.getByRole('button', { name: 'Expire' }).click();
    await expect.poll(() => silence.count()).toBe(0);
    expect((await registry.client.request(SilencesDocument, { active: true })).silences).toEqual([]);
    await registry.client.request(DeleteAlertRuleDocument, { id: other.id });
    await expect.poll(() => alertRow('restarts').count()).toBe(0);
    expect(tab.problems).toEqual([]);
  });

  it("shows the server's refusal with its code, and creates nothing", async () => {
    await form().locator('select[name="kind"]').selectOption('EVENT_SEEN');
    await form().locator('input[name="name"]').fill('outside');
    await form().locator('input[name="eventType"]').fill('deploy.*');
    await form().locator('input[name="receiverUrl"]').fill('http://10.1.2.3/hook');
    await form().getByRole('button', { name: 'Create rule' }).click();
    const refusal = form().getByRole('alert');
    await expect.poll(() => refusal.textContent()).toMatch(/^Not created: .*SWITCHBOARD_HEALTH_ALLOWED_NETWORKS.* \(FORBIDDEN\)$/);

    await form().locator('input[name="receiverUrl"]').fill('');
    await form().locator('input[name="eventType"]').fill('Not A Type');
    await form().getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => refusal.textContent()).toMatch(/\(BAD_USER_INPUT\)$/);
    expect((await rules()).map((rule) => rule.name)).toEqual(['deploys']);
    expect(tab.problems).toEqual([]);
  });

  it('deletes the rule after confirmation: the rule and its alert leave the page', async () => {
    const row = tab.page.locator('tr[data-rule="deploys"]');
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Cancel' }).click();
    expect(await rules()).toHaveLength(1);
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Delete rule' }).click();
    await expect.poll(() => row.count()).toBe(0);
    await expect.poll(() => alertRow('deploys').count()).toBe(0);
    expect(await rules()).toEqual([]);
    expect((await registry.client.request(AlertsDocument, {})).alerts).toEqual([]);
    expect(tab.problems).toEqual([]);
  });
});
