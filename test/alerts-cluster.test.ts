import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateAlertRuleDocument, EventsDocument, PublishEventDocument, WebhookDeliveriesDocument } from '@switchboard/client';
import { type SwitchboardClient } from './support/client.js';
import { eventually } from './support/wait.js';
import { rulesEvaluated } from './support/alert-probe.js';
import { useServerPair, type NodeProcess } from './support/nodes.js';
import { signatureValid, startWebhookReceiver } from './support/webhook-receiver.js';

/**
 * Two `switchboard serve` processes sharing one database: rules are evaluated by one of them
 * at a time (the holder of the evaluator leadership), so each transition is one event and one
 * webhook POST; when the holder dies, the other takes over once its leadership lapses.
 */
const LEADER_TTL_MS = 1_000;
const SECRET = 'cluster-secret-0123456789';

const servers = useServerPair({
  SWITCHBOARD_ALERT_LEADER_TTL: `${LEADER_TTL_MS}ms`,
  SWITCHBOARD_ALERT_INTERVAL: '200ms',
  SWITCHBOARD_WEBHOOK_ALLOW_LOCAL: 'true', // the receiver listens on 127.0.0.1
});
let onA: SwitchboardClient;
let onB: SwitchboardClient;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  onA = servers.clients.create(servers.a.url);
  onB = servers.clients.create(servers.b.url);
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await receiver?.close();
});

async function createRule(client: SwitchboardClient, name: string, eventType: string, hold: string) {
  const path = `/${name}`;
  const { createAlertRule } = await client.request(CreateAlertRuleDocument, {
    input: { name, kind: 'EVENT_SEEN', eventType, hold, receivers: [{ url: receiver.url(path), secret: SECRET }] },
  });
  return { rule: createAlertRule, path };
}

/** The alert events of a rule, as the server `client` talks to reads them (it must be one still running). */
async function alertEvents(ruleId: string, client: SwitchboardClient = onA): Promise<{ type: string; fingerprint: string }[]> {
  const { events } = await client.request(EventsDocument, { types: ['alert.firing', 'alert.resolved'], first: 1000 });
  return events
    .map((event) => ({ type: event.type, data: event.data as { ruleId: string; fingerprint: string } }))
    .filter((event) => event.data.ruleId === ruleId)
    .map((event) => ({ type: event.type, fingerprint: event.data.fingerprint }));
}

/** The server process holding the evaluator leadership (its holder id starts with "<host>-<pid>/"). */
async function leader(): Promise<NodeProcess | undefined> {
  const rows = await servers.database.sql<{ holder: string }[]>`select holder from leaders where name = 'alert-evaluator' and expires_at > now()`;
  if (rows.length !== 1) return undefined;
  const pid = Number(/-(\d+)\/[0-9a-f]+$/.exec(rows[0]!.holder)?.[1]);
  return servers.nodes.find((node) => node.child.pid === pid);
}

describe('evaluated once across two servers', () => {
  it('each transition is one alert event and one webhook POST, whichever server saw the change', async () => {
    const { rule, path } = await createRule(onA, 'pair', 'pair.*', '500ms');
    const types = Array.from({ length: 10 }, (_, i) => `pair.e${i}`);
    for (const [i, type] of types.entries()) await (i % 2 ? onA : onB).request(PublishEventDocument, { input: { type, source: 'test' } });

    const webhooks = await receiver.waitFor(path, types.length * 2, 20_000);
    // Any duplicate would be here by now: the leader has evaluated every rule again since (a second
    // evaluation of the events would queue more deliveries), and every delivery is settled (each
    // recorded once its POST was answered, so a second sender's POST would have come with it).
    await rulesEvaluated(onA, servers.database.sql);
    const deliveries = await eventually(async () => {
      const all = (await onB.request(WebhookDeliveriesDocument, { ruleId: rule.id })).webhookDeliveries;
      return all.some((delivery) => delivery.status === 'PENDING') ? undefined : all;
    });
    expect(receiver.on(path)).toHaveLength(types.length * 2);
    expect(webhooks.every((webhook) => signatureValid(SECRET, webhook))).toBe(true);
    const byType = new Map<string, string[]>();
    for (const webhook of receiver.on(path)) {
      const type = webhook.body.alerts[0]!.labels['event_type']!;
      byType.set(type, [...(byType.get(type) ?? []), webhook.body.status]);
    }
    expect([...byType.keys()].sort()).toEqual(types);
    for (const statuses of byType.values()) expect(statuses).toEqual(['firing', 'resolved']);

    const events = await alertEvents(rule.id);
    expect(events.filter((event) => event.type === 'alert.firing')).toHaveLength(types.length);
    expect(events.filter((event) => event.type === 'alert.resolved')).toHaveLength(types.length);
    expect(new Set(events.map((event) => event.fingerprint)).size).toBe(types.length);
    expect(deliveries).toHaveLength(types.length * 2);
    expect(deliveries.every((delivery) => delivery.status === 'DELIVERED' && delivery.attempts === 1)).toBe(true);
  });

  it('when the leader is killed, the other server takes over once its leadership lapses', async () => {
    const holder = await eventually(leader, 5_000, 50);
    const survivor = holder === servers.a ? servers.b : servers.a;
    const client = survivor === servers.a ? onA : onB;
    const { rule, path } = await createRule(client, 'takeover', 'takeover.*', '1h');

    await holder.stop('SIGKILL');
    const killedAt = Date.now();
    await client.request(PublishEventDocument, { input: { type: 'takeover.happened', source: 'test' } });
    const [firing] = await receiver.waitFor(path, 1, 10_000);
    const takeoverMs = firing!.at - killedAt;
    expect(takeoverMs).toBeLessThan(LEADER_TTL_MS + 3_000);
    expect(await leader()).toBe(survivor);
    await rulesEvaluated(client, servers.database.sql); // the survivor evaluated the rule again since: no second firing
    expect(receiver.on(path)).toHaveLength(1);
    // Asked of the survivor: the killed holder may be either server.
    expect((await alertEvents(rule.id, client)).map((event) => event.type)).toEqual(['alert.firing']);
  });
});
