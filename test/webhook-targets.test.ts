import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertRulesDocument,
  CreateAlertRuleDocument,
  PublishEventDocument,
  UpdateAlertRuleDocument,
  WebhookDeliveriesDocument,
  type AlertRuleInput,
} from '@switchboard/client';
import { loadSettings } from '../src/settings.js';
import { assertWebhookAllowed } from '../src/registry/alerts/targets.js';
import { TargetPolicy } from '../src/registry/health/policy.js';
import { SwitchboardRequestError } from './support/client.js';
import { eventually } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

/**
 * Alert webhooks are not a request-forgery tool by default: loopback, link-local (cloud metadata)
 * and unspecified addresses, in every spelling the URL parser accepts and behind names that
 * resolve to them, are refused when a rule is written and again on the address each delivery
 * connects to, unless SWITCHBOARD_WEBHOOK_ALLOW_LOCAL=true.
 */

// This host's own name, when it resolves only to loopback (it does in most containers): a name
// that is not "localhost" yet leads back to the registry's host.
const OWN_NAME = hostname();
const ownAddresses = await lookup(OWN_NAME, { all: true }).catch(() => []);
const ownNameIsLoopback = ownAddresses.length > 0 && ownAddresses.every(({ address }) => address.startsWith('127.') || address === '::1');

const HOSTILE: [label: string, url: string][] = [
  ['IPv4 loopback', 'http://127.0.0.1:9/hook'],
  ['elsewhere in 127/8', 'http://127.8.9.10/hook'],
  ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
  ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/latest/meta-data/'],
  ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]:9/hook'],
  ['IPv4-mapped unspecified', 'http://[::ffff:0.0.0.0]:9/hook'],
  ['hexadecimal loopback (0x7f000001)', 'http://0x7f000001:9/hook'],
  ['decimal loopback (2130706433)', 'http://2130706433:9/hook'],
  ['IPv4 unspecified', 'http://0.0.0.0:9/hook'],
  ['IPv6 unspecified', 'http://[::]:9/hook'],
  ['IPv6 loopback', 'http://[::1]:9/hook'],
  ['IPv6 link-local', 'http://[fe80::1]:9/hook'],
  ['localhost (resolves to loopback)', 'https://localhost/hook'],
  ['a *.localhost name', 'http://alerts.localhost/hook'],
  ...(ownNameIsLoopback ? [[`this host's name ${OWN_NAME} (resolves to loopback)`, `http://${OWN_NAME}:9/hook`] as [string, string]] : []),
];

/** A rule that never fires (nothing publishes its event type) with one receiver, or none. */
const ruleInput = (name: string, url?: string): AlertRuleInput => ({ name, kind: 'EVENT_SEEN', eventType: 'never.published', receivers: url ? [{ url }] : [] });

async function refusal(promise: Promise<unknown>): Promise<SwitchboardRequestError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof SwitchboardRequestError)) throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

describe('by default', () => {
  const registry = useRegistryNode({ SWITCHBOARD_ALERT_INTERVAL: '100ms' });
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver?.close());

  const rules = async () => (await registry.client.request(AlertRulesDocument)).alertRules;

  it.each(HOSTILE)('refuses %s at create and at update, storing nothing', async (label, url) => {
    const created = await refusal(registry.client.request(CreateAlertRuleDocument, { input: ruleInput(`create ${label}`, url) }));
    expect(created.code).toBe('FORBIDDEN');
    expect(created.message).toMatch(/SWITCHBOARD_WEBHOOK_ALLOW_LOCAL=true/);
    expect((await rules()).find((rule) => rule.name === `create ${label}`)).toBeUndefined();

    const { createAlertRule: rule } = await registry.client.request(CreateAlertRuleDocument, { input: ruleInput(`update ${label}`) });
    const updated = await refusal(registry.client.request(UpdateAlertRuleDocument, { id: rule.id, input: ruleInput(`update ${label}`, url) }));
    expect(updated.code).toBe('FORBIDDEN');
    expect(updated.message).toMatch(/SWITCHBOARD_WEBHOOK_ALLOW_LOCAL=true/);
    expect((await rules()).find((stored) => stored.id === rule.id)!.receivers).toEqual([]);
  });

  it('accepts other addresses, and a name that does not resolve yet (the sender checks it when it connects)', async () => {
    for (const url of ['http://192.0.2.10/hook', 'http://[::ffff:192.0.2.10]/hook', 'http://[2001:db8::10]/hook', 'http://hooks.example.invalid/hook']) {
      const { createAlertRule } = await registry.client.request(CreateAlertRuleDocument, { input: ruleInput(`accepted ${url}`, url) });
      expect(createAlertRule.receivers.map((receiver) => receiver.url)).toEqual([url]);
    }
  });

  it('a stored receiver that now leads to loopback is refused on the address the delivery would connect to, and fails without retries', async () => {
    // Stored under an earlier setting, or as a name whose DNS answer changed since: the rule was
    // accepted, and only the delivery can stop it.
    const { createAlertRule: rule } = await registry.client.request(CreateAlertRuleDocument, {
      input: { name: 'rebound', kind: 'EVENT_SEEN', eventType: 'rebound.happened', hold: '1h', receivers: [{ url: 'http://192.0.2.10/hook' }] },
    });
    const byName = receiver.url('/by-name').replace('127.0.0.1', 'localhost');
    const literal = receiver.url('/literal');
    const receivers = [
      { name: 'by-name', url: byName, secret: null },
      { name: 'literal', url: literal, secret: null },
    ];
    await registry.database.sql`update alert_rules set receivers = ${JSON.stringify(receivers)}::jsonb where id = ${rule.id}`;

    await registry.client.request(PublishEventDocument, { input: { type: 'rebound.happened', source: 'test' } });
    // Wait for both to finish, whichever way, so a delivery that got through fails on its status.
    const finished = await eventually(async () => {
      const { webhookDeliveries } = await registry.client.request(WebhookDeliveriesDocument, { ruleId: rule.id });
      return webhookDeliveries.length === 2 && webhookDeliveries.every((delivery) => delivery.status !== 'PENDING') ? webhookDeliveries : undefined;
    });
    const byUrl = new Map(finished.map((delivery) => [delivery.url, delivery]));
    // The name went through the sender's lookup, which dropped its loopback answers.
    expect(byUrl.get(byName)).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: null });
    expect(byUrl.get(byName)!.lastError).toMatch(
      /^refused: localhost resolves only to refused addresses: 127\.0\.0\.1 is a loopback address.*SWITCHBOARD_WEBHOOK_ALLOW_LOCAL=true/,
    );
    expect(byUrl.get(literal)).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: null });
    expect(byUrl.get(literal)!.lastError).toMatch(/^refused: 127\.0\.0\.1 is a loopback address.*SWITCHBOARD_WEBHOOK_ALLOW_LOCAL=true/);
    expect(receiver.received).toEqual([]);
  });
});

describe('with SWITCHBOARD_WEBHOOK_ALLOW_LOCAL=true', () => {
  const registry = useRegistryNode({ SWITCHBOARD_ALERT_INTERVAL: '100ms', SWITCHBOARD_WEBHOOK_ALLOW_LOCAL: 'true' });
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver?.close());

  it('rules may target loopback, by address and by name, and their webhooks are delivered', async () => {
    const byName = receiver.url('/opted-in-by-name').replace('127.0.0.1', 'localhost');
    await registry.client.request(CreateAlertRuleDocument, {
      input: {
        name: 'opted in',
        kind: 'EVENT_SEEN',
        eventType: 'opted.in',
        hold: '1h',
        receivers: [{ url: receiver.url('/opted-in') }, { url: byName }],
      },
    });
    await registry.client.request(PublishEventDocument, { input: { type: 'opted.in', source: 'test' } });
    await Promise.all([receiver.waitFor('/opted-in', 1), receiver.waitFor('/opted-in-by-name', 1)]);
  });
});

describe('the rule beside the network allowlist', () => {
  const loopback = 'http://127.0.0.1:9/hook';
  const metadata = 'http://169.254.169.254/latest/meta-data/';

  it('an allowlist that admits everything still does not admit local addresses without the opt-in', async () => {
    const everything = new TargetPolicy(['0.0.0.0/0', '::/0']);
    await expect(assertWebhookAllowed(everything, metadata)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/link-local.*SWITCHBOARD_WEBHOOK_ALLOW_LOCAL/),
    });
    await expect(assertWebhookAllowed(everything, 'http://10.1.2.3/hook')).resolves.toBeUndefined();
  });

  it('the opt-in does not widen an allowlist', async () => {
    const tenOnly = new TargetPolicy(['10.0.0.0/8'], { webhooksMayTargetLocal: true });
    await expect(assertWebhookAllowed(tenOnly, loopback)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS/),
    });
    await expect(assertWebhookAllowed(tenOnly, 'http://10.1.2.3/hook')).resolves.toBeUndefined();
    await expect(assertWebhookAllowed(new TargetPolicy(['127.0.0.0/8'], { webhooksMayTargetLocal: true }), loopback)).resolves.toBeUndefined();
  });

  it('health checks keep their default: anywhere, loopback included', () => {
    const health = new TargetPolicy(loadSettings({}).healthAllowedNetworks);
    expect(health.allows('127.0.0.1')).toBe(true);
    expect(() => health.assertLiteralAllowed('169.254.169.254')).not.toThrow();
  });

  it('SWITCHBOARD_WEBHOOK_ALLOW_LOCAL is off unless set, and must be a boolean', () => {
    expect(loadSettings({}).alerts.webhookAllowLocal).toBe(false);
    expect(loadSettings({ SWITCHBOARD_WEBHOOK_ALLOW_LOCAL: 'true' }).alerts.webhookAllowLocal).toBe(true);
    expect(() => loadSettings({ SWITCHBOARD_WEBHOOK_ALLOW_LOCAL: 'sometimes' })).toThrow(/SWITCHBOARD_WEBHOOK_ALLOW_LOCAL must be true or false/);
  });
});
