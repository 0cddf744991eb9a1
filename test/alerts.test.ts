import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertChangedDocument,
  AlertRulesDocument,
  AlertsDocument,
  CreateAlertRuleDocument,
  CreateSilenceDocument,
  CreateTokenDocument,
  DeleteAlertRuleDocument,
  EventsDocument,
  ExpireSilenceDocument,
  HeartbeatDocument,
  PublishEventDocument,
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  ReportCallOutcomeDocument,
  SelectInstanceDocument,
  ServiceHealthDocument,
  SetConfigDocument,
  SetServicePolicyDocument,
  SilencesDocument,
  UpdateAlertRuleDocument,
  UpdateTtlCheckDocument,
  WebhookDeliveriesDocument,
  type AlertRuleInput,
  type SwitchboardClient,
} from '@switchboard/client';
import { sql } from 'drizzle-orm';
import { connectDatabase } from '../src/db/client.js';
import { pruneWebhookDeliveries } from '../src/registry/alerts/index.js';
import { errorCode, instance, take } from './support/client.js';
import { eventually, sleep } from './support/wait.js';
import { rulesEvaluated } from './support/alert-probe.js';
import { useRegistryNode } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';
import { signatureValid, startWebhookReceiver } from './support/webhook-receiver.js';

/**
 * Alert rules of every kind firing and resolving on real state changes (a real HTTP check,
 * TTL lapses, configuration writes, published events, a circuit opened by reported calls),
 * delivered as signed Alertmanager-shaped webhooks to a real receiver, with silences,
 * retries, the network allowlist and bad input.
 */
const ADMIN = 'alerts-admin-token-0123456789';
const SECRET = 'receiver-secret-0123456789';
const MAX_ATTEMPTS = 4;
const BACKOFF_MS = 300;

const registry = useRegistryNode({
  SWITCHBOARD_ADMIN_TOKEN: ADMIN,
  SWITCHBOARD_ALERT_INTERVAL: '100ms',
  SWITCHBOARD_WEBHOOK_BACKOFF: `${BACKOFF_MS}ms`,
  SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  SWITCHBOARD_EXPIRY_SWEEP: '100ms',
  SWITCHBOARD_BREAKER_MIN_CALLS: '3',
  SWITCHBOARD_BREAKER_COOLDOWN: '300ms',
  SWITCHBOARD_HEALTH_ALLOWED_NETWORKS: '127.0.0.0/8',
  SWITCHBOARD_WEBHOOK_ALLOW_LOCAL: 'true', // the receiver listens on 127.0.0.1
});

let admin: SwitchboardClient;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let target: Awaited<ReturnType<typeof startHttpTarget>>;

beforeAll(async () => {
  admin = registry.clients.create(registry.node.url, ADMIN);
  [receiver, target] = await Promise.all([startWebhookReceiver(), startHttpTarget()]);
});

afterAll(async () => {
  await Promise.all([receiver?.close(), target?.close()]);
});

let serial = 0;
/** A rule with one signed receiver on a path of its own; returns the rule and that path. */
async function createRule(input: Omit<AlertRuleInput, 'name'> & { name?: string }, receivers = true) {
  serial += 1;
  const path = `/hook-${serial}`;
  const { createAlertRule } = await admin.request(CreateAlertRuleDocument, {
    input: {
      name: `rule ${serial}`,
      ...input,
      receivers: receivers ? [{ name: `receiver-${serial}`, url: receiver.url(path), secret: SECRET }] : [],
    } as AlertRuleInput,
  });
  return { rule: createAlertRule, path };
}

const alertsOf = async (ruleId: string) => (await admin.request(AlertsDocument, { ruleId })).alerts;

/** The rule's alert.firing / alert.resolved events, in order. */
async function transitionsOf(ruleId: string): Promise<{ type: string; silenced: boolean; labels: Record<string, string> }[]> {
  const { events } = await admin.request(EventsDocument, { types: ['alert.firing', 'alert.resolved'], first: 1000 });
  return events
    .map((event) => ({ type: event.type, data: event.data as { ruleId: string; silenced: boolean; labels: Record<string, string> } }))
    .filter((event) => event.data.ruleId === ruleId)
    .map((event) => ({ type: event.type, silenced: event.data.silenced, labels: event.data.labels }));
}

/** No webhook delivery was queued for the rule (one would be, in the transaction of a firing), and none arrived. */
async function expectNothingSent(ruleId: string, path: string) {
  expect((await admin.request(WebhookDeliveriesDocument, { ruleId })).webhookDeliveries).toEqual([]);
  expect(receiver.on(path)).toHaveLength(0);
}

async function alertInState(ruleId: string, state: string, timeoutMs = 8_000) {
  return eventually(async () => (await alertsOf(ruleId)).find((alert) => alert.state === state), timeoutMs, 50);
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

describe('rule kinds fire and resolve on real state changes', () => {
  it('NO_PASSING: a real HTTP check going critical fires a signed, Alertmanager-shaped webhook; passing again resolves it', async () => {
    target.answer('/api-health', { status: 200 });
    await admin.request(RegisterServiceDocument, { input: instance({ id: 'orders-1', name: 'orders' }) });
    await admin.request(RegisterHealthCheckDocument, { serviceId: 'orders-1', check: { http: target.url('/api-health'), interval: '1s' } });
    await eventually(async () => ((await admin.request(ServiceHealthDocument, { id: 'orders-1' })).serviceHealth.status === 'PASSING' ? true : undefined));

    const { rule, path } = await createRule({
      kind: 'NO_PASSING',
      service: 'orders',
      labels: { severity: 'page' },
      annotations: { runbook_url: 'https://runbooks.example/orders' },
    });
    await rulesEvaluated(admin, registry.database.sql); // evaluated while the check passes
    expect(receiver.on(path)).toHaveLength(0);
    expect(await alertsOf(rule.id)).toEqual([]);

    target.answer('/api-health', { status: 500 });
    const [firing] = await receiver.waitFor(path, 1, 10_000);
    expect(signatureValid(SECRET, firing!)).toBe(true);
    expect(signatureValid(SECRET, { ...firing!, rawBody: `${firing!.rawBody} ` })).toBe(false);
    expect(signatureValid('another-secret-0123456789', firing!)).toBe(false);
    expect(firing!.headers['content-type']).toBe('application/json');
    expect(Math.abs(Number(firing!.headers['x-switchboard-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    const labels = { alertname: rule.name, severity: 'page', service: 'orders' };
    expect(firing!.body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: `receiver-${serial}`,
      truncatedAlerts: 0,
      groupLabels: { alertname: rule.name },
      commonLabels: labels,
      commonAnnotations: { runbook_url: 'https://runbooks.example/orders' },
      externalURL: registry.node.url.replace(/\/graphql$/, ''),
    });
    expect(typeof firing!.body.groupKey).toBe('string');
    expect(firing!.body.alerts).toHaveLength(1);
    const [alert] = firing!.body.alerts;
    expect(alert).toMatchObject({ status: 'firing', labels, endsAt: ZERO_TIME });
    expect(alert!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(alert!.annotations['summary']).toContain('No passing instance of orders');
    expect(new Date(alert!.startsAt).getTime()).toBeGreaterThan(Date.now() - 30_000);
    expect(alert!.generatorURL).toMatch(/^http:\/\//);

    // The receiver answers before the sender records its answer: wait for the record.
    const stored = await eventually(async () => {
      const [found] = await alertsOf(rule.id);
      return found?.deliveries[0]?.status === 'DELIVERED' ? found : undefined;
    });
    expect(stored).toMatchObject({ state: 'FIRING', silenced: false, fingerprint: alert!.fingerprint, labels });
    expect(stored.deliveries).toMatchObject([{ status: 'DELIVERED', attempts: 1, lastStatusCode: 200, alertStatus: 'firing' }]);

    target.answer('/api-health', { status: 200 });
    const [, resolved] = await receiver.waitFor(path, 2, 10_000);
    expect(signatureValid(SECRET, resolved!)).toBe(true);
    expect(resolved!.body.status).toBe('resolved');
    expect(resolved!.body.alerts[0]!.status).toBe('resolved');
    expect(resolved!.body.alerts[0]!.startsAt).toBe(alert!.startsAt);
    expect(new Date(resolved!.body.alerts[0]!.endsAt).getTime()).toBeGreaterThanOrEqual(new Date(alert!.startsAt).getTime());
    expect(await transitionsOf(rule.id)).toEqual([
      { type: 'alert.firing', silenced: false, labels },
      { type: 'alert.resolved', silenced: false, labels },
    ]);
    expect((await alertsOf(rule.id))[0]!.state).toBe('RESOLVED');
  });

  it('FEWER_PASSING: an instance whose TTL lapses fires it; registering it again resolves it', async () => {
    const ids = ['ttl-svc-1', 'ttl-svc-2'];
    for (const id of ids) await admin.request(RegisterServiceDocument, { input: instance({ id, name: 'ttl-svc', ttl: '1s' }) });
    const registeredAt = Date.now();
    let beating = [...ids];
    const heart = setInterval(() => {
      for (const id of beating) void admin.request(HeartbeatDocument, { id }).catch(() => {});
    }, 200);
    try {
      const { rule, path } = await createRule({ kind: 'FEWER_PASSING', service: 'ttl-svc', minPassing: 2 });
      // Time passing is the subject: past the 1s TTL (and a sweep) of the registrations, the heartbeats keep both passing.
      await sleep(registeredAt + 1_200 - Date.now());
      await rulesEvaluated(admin, registry.database.sql);
      await expectNothingSent(rule.id, path);

      beating = ['ttl-svc-1']; // ttl-svc-2 stops renewing its lease
      const [firing] = await receiver.waitFor(path, 1, 10_000);
      expect(firing!.body.commonLabels).toMatchObject({ service: 'ttl-svc' });
      expect(firing!.body.commonAnnotations['summary']).toContain('1 of 1 instances of ttl-svc are passing; at least 2 should be');

      await admin.request(RegisterServiceDocument, { input: instance({ id: 'ttl-svc-2', name: 'ttl-svc', ttl: '1s' }) });
      beating = [...ids];
      const [, resolved] = await receiver.waitFor(path, 2, 10_000);
      expect(resolved!.body.status).toBe('resolved');
      expect((await transitionsOf(rule.id)).map((t) => t.type)).toEqual(['alert.firing', 'alert.resolved']);
    } finally {
      clearInterval(heart);
    }
  });

  it('FLAPPING: an instance with k health transitions within the window fires, and resolves once they leave the window', async () => {
    await admin.request(RegisterServiceDocument, { input: instance({ id: 'flappy-1', name: 'flappy' }) });
    await admin.request(RegisterServiceDocument, { input: instance({ id: 'steady-1', name: 'flappy' }) });
    const { registerHealthCheck: check } = await admin.request(RegisterHealthCheckDocument, { serviceId: 'flappy-1', check: { ttl: '1m' } });
    const { rule, path } = await createRule({ kind: 'FLAPPING', service: 'flappy', transitions: 3, window: '3s' });

    const firstTransitionAt = Date.now();
    for (const status of ['PASSING', 'CRITICAL'] as const) await admin.request(UpdateTtlCheckDocument, { checkId: check.id, status });
    await rulesEvaluated(admin, registry.database.sql);
    await expectNothingSent(rule.id, path); // two transitions (the check appearing is not one)
    await admin.request(UpdateTtlCheckDocument, { checkId: check.id, status: 'PASSING' });
    const [firing] = await receiver.waitFor(path, 1, 5_000);
    expect(firing!.body.alerts.map((alert) => alert.labels['instance'])).toEqual(['flappy-1']);

    const [, resolved] = await receiver.waitFor(path, 2, 10_000); // the window slides past the transitions
    expect(resolved!.body.status).toBe('resolved');
    // Not before the first transition left the 3s window (however long the three took to make).
    expect(new Date(resolved!.body.alerts[0]!.endsAt).getTime()).toBeGreaterThanOrEqual(firstTransitionAt + 3_000);
    expect((await alertsOf(rule.id)).map((alert) => alert.labels)).toEqual([{ alertname: rule.name, service: 'flappy', instance: 'flappy-1' }]);
  });

  it('CIRCUIT_OPEN with `for`: pending first, firing once the circuit stayed open that long, resolved when it closes', async () => {
    await admin.request(RegisterServiceDocument, { input: instance({ id: 'breaker-1', name: 'breaker' }) });
    const { rule, path } = await createRule({ kind: 'CIRCUIT_OPEN', service: 'breaker', for: '1s' });
    for (let i = 0; i < 3; i++) await admin.request(ReportCallOutcomeDocument, { id: 'breaker-1', success: false });

    const pending = await alertInState(rule.id, 'PENDING', 5_000);
    expect(receiver.on(path)).toHaveLength(0);
    const [firing] = await receiver.waitFor(path, 1, 5_000);
    const fired = (await alertsOf(rule.id))[0]!;
    expect(fired.state).toBe('FIRING');
    expect(new Date(fired.startsAt!).getTime() - new Date(pending.activeSince!).getTime()).toBeGreaterThanOrEqual(1_000);
    expect(firing!.body.commonLabels).toMatchObject({ service: 'breaker', instance: 'breaker-1' });

    // Past the cooldown a selection gets the half-open probe (before it, the open instance is excluded); its success closes the circuit.
    await eventually(async () => ((await admin.request(SelectInstanceDocument, { service: 'breaker' })).selectInstance?.id === 'breaker-1' ? true : undefined));
    await admin.request(ReportCallOutcomeDocument, { id: 'breaker-1', success: true });
    const [, resolved] = await receiver.waitFor(path, 2, 5_000);
    expect(resolved!.body.status).toBe('resolved');
  });

  it('CONFIG_CHANGED: a write under the prefix in the environment fires; others do not; it resolves after the hold', async () => {
    const holdMs = 500;
    const { rule, path } = await createRule({ kind: 'CONFIG_CHANGED', keyPrefix: 'payments.', environment: 'production', hold: `${holdMs}ms` });
    await admin.request(SetConfigDocument, { key: 'orders.timeout', value: 5, environment: 'production' });
    await admin.request(SetConfigDocument, { key: 'payments.timeout', value: 5 });
    await rulesEvaluated(admin, registry.database.sql);
    await expectNothingSent(rule.id, path);

    const wroteAt = Date.now();
    await admin.request(SetConfigDocument, { key: 'payments.timeout', value: 10, environment: 'production' });
    const [firing] = await receiver.waitFor(path, 1, 5_000);
    expect(firing!.body.commonLabels).toMatchObject({ key: 'payments.timeout', environment: 'production' });
    const [, resolved] = await receiver.waitFor(path, 2, 5_000);
    expect(resolved!.body.status).toBe('resolved');
    // `hold` counts from the change (the event), not from when the alert fired.
    expect(new Date(resolved!.body.alerts[0]!.endsAt).getTime()).toBeGreaterThanOrEqual(wroteAt + holdMs);
    expect(await alertsOf(rule.id)).toHaveLength(1);
  });

  it('EVENT_SEEN: a published event fires once however many follow; alertChanged streams the transitions and resumes after an id', async () => {
    const { rule, path } = await createRule({ kind: 'EVENT_SEEN', eventType: 'deploy.*', hold: '1s' });
    const open = registry.node.counters!.openSubscriptions;
    const changes = admin.subscribe(AlertChangedDocument, { ruleId: rule.id });
    await eventually(() => (registry.node.counters!.openSubscriptions > open ? true : undefined)); // open on the server: it sees what follows
    await admin.request(PublishEventDocument, { input: { type: 'deploy.finished', source: 'ci', data: { version: '1.2.3' } } });
    await admin.request(PublishEventDocument, { input: { type: 'deploy.finished', source: 'ci', data: { version: '1.2.4' } } });
    await admin.request(PublishEventDocument, { input: { type: 'build.finished', source: 'ci' } });
    const [firing, resolved] = (await take(changes, 2, 10_000)).map((step) => step.alertChanged);
    expect(firing).toMatchObject({
      status: 'firing',
      ruleId: rule.id,
      ruleName: rule.name,
      kind: 'EVENT_SEEN',
      labels: { event_type: 'deploy.finished' },
      silenced: false,
    });
    expect(resolved).toMatchObject({ status: 'resolved', fingerprint: firing!.fingerprint });
    await changes.return?.();
    expect((await receiver.waitFor(path, 2)).map((webhook) => webhook.body.status)).toEqual(['firing', 'resolved']);

    const resumed = admin.subscribe(AlertChangedDocument, { ruleId: rule.id, after: firing!.eventId });
    const [again] = await take(resumed, 1);
    expect(again!.alertChanged.eventId).toBe(resolved!.eventId);
    await resumed.return?.();
  });

  it('SERVICE_STATE: a service entering SCALING fires (one alert per state), and resolves once it is ACTIVE again', async () => {
    const { rule, path } = await createRule({ kind: 'SERVICE_STATE', service: 'scaler', states: ['SCALING', 'DOWN'], window: '2s' });
    await rulesEvaluated(admin, registry.database.sql);
    await expectNothingSent(rule.id, path); // no such service: not listed, nothing fires

    await admin.request(RegisterServiceDocument, { input: instance({ id: 'scaler-1', name: 'scaler' }) });
    const [firing] = await receiver.waitFor(path, 1, 5_000);
    expect(firing!.body.commonLabels).toMatchObject({ service: 'scaler', state: 'SCALING' });
    expect(firing!.body.commonAnnotations['summary']).toMatch(/^scaler is SCALING: /);
    const [, resolved] = await receiver.waitFor(path, 2, 8_000); // the registration leaves the window
    expect(resolved!.body.status).toBe('resolved');

    await admin.request(SetServicePolicyDocument, { service: 'scaler', minInstances: 2 });
    const [, , again] = await receiver.waitFor(path, 3, 5_000);
    expect(again!.body.status).toBe('firing');
    expect(again!.body.commonAnnotations['summary']).toContain('minInstances 2');
    expect((await transitionsOf(rule.id)).map((t) => `${t.type} ${t.labels['state']}`)).toEqual([
      'alert.firing SCALING',
      'alert.resolved SCALING',
      'alert.firing SCALING',
    ]);
  });
});

describe('silences', () => {
  it('a silenced alert still shows (flagged) but sends no webhook; after the silence is expired, transitions send again', async () => {
    const { rule, path } = await createRule({ kind: 'EVENT_SEEN', eventType: 'quiet.happened', hold: '500ms' });
    const { createSilence: silence } = await admin.request(CreateSilenceDocument, {
      input: { ruleId: rule.id, duration: '1h', comment: 'maintenance window' },
    });
    expect(silence).toMatchObject({ ruleId: rule.id, active: true, comment: 'maintenance window', createdBy: 'admin' });

    await admin.request(PublishEventDocument, { input: { type: 'quiet.happened', source: 'test' } });
    const silenced = await alertInState(rule.id, 'FIRING', 5_000);
    expect(silenced.silenced).toBe(true);
    await alertInState(rule.id, 'RESOLVED', 5_000);
    expect(await transitionsOf(rule.id)).toMatchObject([
      { type: 'alert.firing', silenced: true },
      { type: 'alert.resolved', silenced: true },
    ]);
    // Deliveries are queued in the transaction that writes a transition: none queued, none will be sent.
    expect((await alertsOf(rule.id))[0]!.deliveries).toEqual([]);
    expect(receiver.on(path)).toHaveLength(0);

    const { expireSilence } = await admin.request(ExpireSilenceDocument, { id: silence.id });
    expect(expireSilence.active).toBe(false);
    expect((await admin.request(SilencesDocument, { active: true })).silences.map((s) => s.id)).not.toContain(silence.id);
    await admin.request(PublishEventDocument, { input: { type: 'quiet.happened', source: 'test' } });
    const [firing] = await receiver.waitFor(path, 1, 5_000);
    expect(firing!.body.status).toBe('firing');
  });

  it('a silence by labels ends by itself at its expiry, and webhooks flow again', async () => {
    const { rule, path } = await createRule({ kind: 'EVENT_SEEN', eventType: 'lapse.happened', hold: '300ms' });
    const { createSilence: silence } = await admin.request(CreateSilenceDocument, {
      input: { matchers: { event_type: 'lapse.happened' }, duration: '3s', comment: 'short' },
    });
    await admin.request(PublishEventDocument, { input: { type: 'lapse.happened', source: 'test' } });
    await alertInState(rule.id, 'FIRING', 5_000);
    await alertInState(rule.id, 'RESOLVED', 5_000);
    expect(receiver.on(path)).toHaveLength(0);

    await eventually(
      async () => ((await admin.request(SilencesDocument, { active: false })).silences.some((s) => s.id === silence.id) ? true : undefined),
      5_000,
      100,
    );
    await admin.request(PublishEventDocument, { input: { type: 'lapse.happened', source: 'test' } });
    const [firing] = await receiver.waitFor(path, 1, 5_000);
    expect(firing!.body.status).toBe('firing');
    expect((await transitionsOf(rule.id)).map((t) => t.silenced)).toEqual([true, true, false]);
  });
});

describe('webhook delivery', () => {
  it('a receiver failing twice then succeeding gets the delivery retried with growing backoff, and the state shows each step', async () => {
    const { rule, path } = await createRule({ kind: 'EVENT_SEEN', eventType: 'retry.happened', hold: '1h' });
    receiver.failNext(path, 500, 503);
    await admin.request(PublishEventDocument, { input: { type: 'retry.happened', source: 'test' } });
    await receiver.waitFor(path, 1, 5_000);
    const failing = await eventually(async () => {
      const [delivery] = (await admin.request(WebhookDeliveriesDocument, { ruleId: rule.id })).webhookDeliveries;
      return delivery?.lastStatusCode === 500 ? delivery : undefined;
    });
    expect(failing).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'the receiver answered 500' });
    expect(new Date(failing.nextAttemptAt).getTime()).toBeGreaterThan(new Date(failing.createdAt).getTime());

    const attempts = await receiver.waitFor(path, 3, 10_000);
    const [first, second, third] = attempts.map((webhook) => webhook.at);
    expect(second! - first!).toBeGreaterThanOrEqual(BACKOFF_MS / 2 - 20);
    expect(third! - second!).toBeGreaterThanOrEqual(BACKOFF_MS - 20); // doubled
    expect(new Set(attempts.map((webhook) => webhook.headers['x-switchboard-delivery'])).size).toBe(1);
    expect(attempts.every((webhook) => signatureValid(SECRET, webhook))).toBe(true);
    const delivered = await eventually(async () => {
      const [alert] = await alertsOf(rule.id);
      return alert?.deliveries[0]?.status === 'DELIVERED' ? alert.deliveries[0] : undefined;
    });
    expect(delivered).toMatchObject({ attempts: 3, lastStatusCode: 200, lastError: null });
    expect(delivered.deliveredAt).not.toBeNull();
  });

  it('gives up after the attempt limit, and at once on a 4xx answer', async () => {
    const { rule: down, path: downPath } = await createRule({ kind: 'EVENT_SEEN', eventType: 'down.happened', hold: '1h' });
    const { rule: gone, path: gonePath } = await createRule({ kind: 'EVENT_SEEN', eventType: 'gone.happened', hold: '1h' });
    receiver.failNext(downPath, ...Array.from({ length: MAX_ATTEMPTS }, () => 500));
    receiver.failNext(gonePath, 404);
    await admin.request(PublishEventDocument, { input: { type: 'down.happened', source: 'test' } });
    await admin.request(PublishEventDocument, { input: { type: 'gone.happened', source: 'test' } });
    const failed = async (ruleId: string) =>
      eventually(
        async () => {
          const [delivery] = (await admin.request(WebhookDeliveriesDocument, { ruleId, status: 'FAILED' })).webhookDeliveries;
          return delivery;
        },
        15_000,
        100,
      );
    expect(await failed(down.id)).toMatchObject({ attempts: MAX_ATTEMPTS, lastStatusCode: 500 });
    expect(await failed(gone.id)).toMatchObject({ attempts: 1, lastStatusCode: 404 });
    await sleep(BACKOFF_MS * 2); // time passing is the subject: no attempt follows a failed delivery
    expect(receiver.on(downPath)).toHaveLength(MAX_ATTEMPTS);
    expect(receiver.on(gonePath)).toHaveLength(1);
  });

  it('finished deliveries older than the retention are pruned; pending ones and recent ones stay', async () => {
    const { rule, path } = await createRule({ kind: 'EVENT_SEEN', eventType: 'pruned.happened', hold: '1h' });
    await admin.request(PublishEventDocument, { input: { type: 'pruned.happened', source: 'test' } });
    await receiver.waitFor(path, 1, 5_000);
    await eventually(async () => (await admin.request(WebhookDeliveriesDocument, { ruleId: rule.id, status: 'DELIVERED' })).webhookDeliveries[0]);
    const database = connectDatabase(registry.database.url, { poolSize: 1 });
    try {
      const { db } = database;
      // Age this rule's delivery, and add an old pending one that must survive.
      await db.execute(sql`update webhook_deliveries set created_at = now() - interval '2 hours' where rule_id = ${rule.id}`);
      await db.execute(sql`
        insert into webhook_deliveries (rule_id, alert_status, receiver, url, payload, status, next_attempt_at, created_at)
        values (${rule.id}, 'firing', 'kept', 'http://127.0.0.1:9/', '{}'::jsonb, 'PENDING', now() + interval '1 day', now() - interval '2 hours')`);
      const all = async () => (await admin.request(WebhookDeliveriesDocument, { ruleId: rule.id })).webhookDeliveries.map((delivery) => delivery.status).sort();
      expect(await all()).toEqual(['DELIVERED', 'PENDING']);
      const count = async () => (await db.execute<{ count: number }>(sql`select count(*)::int as count from webhook_deliveries`))[0]!.count;
      const before = await count();

      expect(await pruneWebhookDeliveries(db, 60 * 60 * 1000)).toBe(1);
      expect(await all()).toEqual(['PENDING']);
      expect(await count()).toBe(before - 1); // no other rule's recent delivery went
    } finally {
      await database.close();
    }
  });

  it('the network allowlist refuses a webhook target at rule creation, and again at delivery', async () => {
    for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:9/hook']) {
      const failure = admin.request(CreateAlertRuleDocument, {
        input: { name: `ssrf ${url}`, kind: 'EVENT_SEEN', eventType: 'ssrf.test', receivers: [{ url, secret: SECRET }] },
      });
      await expect(failure).rejects.toThrow(/SWITCHBOARD_HEALTH_ALLOWED_NETWORKS/);
      expect(
        await errorCode(admin.request(CreateAlertRuleDocument, { input: { name: 'ssrf', kind: 'EVENT_SEEN', eventType: 'ssrf.test', receivers: [{ url }] } })),
      ).toBe('FORBIDDEN');
    }
    const { rule, path } = await createRule({ kind: 'EVENT_SEEN', eventType: 'ssrf.happened', hold: '1h' });
    expect(
      await errorCode(
        admin.request(UpdateAlertRuleDocument, {
          id: rule.id,
          input: { name: rule.name, kind: 'EVENT_SEEN', eventType: 'ssrf.happened', receivers: [{ url: 'http://10.9.9.9/x' }] },
        }),
      ),
    ).toBe('FORBIDDEN');
    expect((await admin.request(AlertRulesDocument)).alertRules.find((r) => r.id === rule.id)!.receivers[0]!.url).toBe(receiver.url(path));

    // Stored before the allowlist narrowed (as a rule written under an older setting would be): the sender refuses it.
    await registry.database
      .sql`update alert_rules set receivers = jsonb_build_array(jsonb_build_object('name', 'old', 'url', 'http://10.255.255.1:9/hook', 'secret', ${SECRET}::text)) where id = ${rule.id}`;
    await admin.request(PublishEventDocument, { input: { type: 'ssrf.happened', source: 'test' } });
    const refused = await eventually(
      async () => (await admin.request(WebhookDeliveriesDocument, { ruleId: rule.id, status: 'FAILED' })).webhookDeliveries[0],
      5_000,
      50,
    );
    expect(refused).toMatchObject({ attempts: 1, lastStatusCode: null, url: 'http://10.255.255.1:9/hook' });
    expect(refused.lastError).toMatch(/refused: 10\.255\.255\.1 is outside SWITCHBOARD_HEALTH_ALLOWED_NETWORKS/);
  });
});

describe('managing rules', () => {
  it('never returns a receiver secret; an update without one keeps it; delete resolves firing alerts without a webhook', async () => {
    const { rule, path } = await createRule({ kind: 'EVENT_SEEN', eventType: 'keep.secret', hold: '1h' });
    expect(rule.receivers).toEqual([{ name: `receiver-${serial}`, url: receiver.url(path), hasSecret: true }]);
    const { updateAlertRule } = await admin.request(UpdateAlertRuleDocument, {
      id: rule.id,
      input: { name: rule.name, kind: 'EVENT_SEEN', eventType: 'keep.secret', hold: '1h', receivers: [{ name: 'renamed', url: receiver.url(path) }] },
    });
    expect(updateAlertRule.receivers).toEqual([{ name: 'renamed', url: receiver.url(path), hasSecret: true }]);
    expect(JSON.stringify(await admin.request(AlertRulesDocument))).not.toContain(SECRET);

    await admin.request(PublishEventDocument, { input: { type: 'keep.secret', source: 'test' } });
    const [firing] = await receiver.waitFor(path, 1, 5_000);
    expect(signatureValid(SECRET, firing!)).toBe(true);
    expect(firing!.body.receiver).toBe('renamed');

    await admin.request(DeleteAlertRuleDocument, { id: rule.id });
    expect((await admin.request(AlertRulesDocument)).alertRules.map((r) => r.id)).not.toContain(rule.id);
    expect(await alertsOf(rule.id)).toEqual([]);
    expect((await transitionsOf(rule.id)).map((t) => t.type)).toEqual(['alert.firing', 'alert.resolved']);
    const { events } = await admin.request(EventsDocument, { types: ['alert.*'], first: 1000 });
    expect(JSON.stringify(events)).not.toContain(SECRET);
    await sleep(300); // time passing is the subject: no resolved webhook follows the delete
    expect(receiver.on(path)).toHaveLength(1);
  });

  it('bad input and missing rights get a code and change nothing', async () => {
    const before = (await admin.request(AlertRulesDocument)).alertRules.length;
    const valid = { name: 'valid', kind: 'NO_PASSING', service: 'x' } as const;
    const create = (input: Record<string, unknown>) => admin.request(CreateAlertRuleDocument, { input: { ...valid, ...input } as AlertRuleInput });
    expect(await errorCode(create({ kind: 'FEWER_PASSING', minPassing: -1 }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ for: '-5s' }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ for: 'soon' }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ service: null }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ keyPrefix: 'a.' }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ kind: 'FLAPPING', transitions: 1, window: '1m' }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ kind: 'EVENT_SEEN', service: null, eventType: 'Not A Type' }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ labels: { 'bad-name': 'x' } }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ kind: 'SERVICE_STATE', states: [] }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ labels: 'not an object' }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ receivers: [{ url: 'ftp://127.0.0.1/x' }] }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ receivers: [{ url: 'http://user:pw@127.0.0.1/x' }] }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(create({ receivers: [{ url: receiver.url('/x'), secret: 'short' }] }))).toBe('BAD_USER_INPUT');
    const message = await create({ kind: 'FEWER_PASSING', minPassing: 0 }).catch((error: Error) => error.message);
    expect(message).toMatch(/minPassing must be at least 1/);

    const { createAlertRule: taken } = await create({ name: 'taken' });
    expect(await errorCode(create({ name: 'taken' }))).toBe('CONFLICT');
    expect(await errorCode(admin.request(UpdateAlertRuleDocument, { id: 'no-such-rule', input: valid }))).toBe('NOT_FOUND');
    expect(await errorCode(admin.request(DeleteAlertRuleDocument, { id: 'no-such-rule' }))).toBe('NOT_FOUND');
    expect(await errorCode(admin.request(ExpireSilenceDocument, { id: 'no-such-silence' }))).toBe('NOT_FOUND');
    expect(await errorCode(admin.request(CreateSilenceDocument, { input: { ruleId: 'no-such-rule', duration: '1h', comment: 'x' } }))).toBe('NOT_FOUND');
    expect(await errorCode(admin.request(CreateSilenceDocument, { input: { ruleId: taken.id, comment: 'no end' } }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(admin.request(CreateSilenceDocument, { input: { ruleId: taken.id, duration: '-1m', comment: 'x' } }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(admin.request(CreateSilenceDocument, { input: { ruleId: taken.id, until: '2001-01-01T00:00:00Z', comment: 'x' } }))).toBe(
      'BAD_USER_INPUT',
    );
    expect(await errorCode(admin.request(CreateSilenceDocument, { input: { duration: '1h', comment: 'matches everything' } }))).toBe('BAD_USER_INPUT');

    const anonymous = registry.clients.create(registry.node.url);
    expect(await errorCode(anonymous.request(AlertsDocument, {}))).toBe('UNAUTHENTICATED');
    expect(await errorCode(anonymous.request(CreateAlertRuleDocument, { input: { ...valid, name: 'anonymous' } }))).toBe('UNAUTHENTICATED');
    const { createToken } = await admin.request(CreateTokenDocument, { input: { name: 'alert-reader', scopes: ['READ'] } });
    const reader = registry.clients.create(registry.node.url, createToken.token);
    expect(Array.isArray((await reader.request(AlertsDocument, {})).alerts)).toBe(true);
    expect(Array.isArray((await reader.request(AlertRulesDocument)).alertRules)).toBe(true);
    expect(await errorCode(reader.request(CreateAlertRuleDocument, { input: { ...valid, name: 'reader' } }))).toBe('FORBIDDEN');
    expect(await errorCode(reader.request(DeleteAlertRuleDocument, { id: taken.id }))).toBe('FORBIDDEN');
    expect(await errorCode(reader.request(CreateSilenceDocument, { input: { ruleId: taken.id, duration: '1h', comment: 'x' } }))).toBe('FORBIDDEN');

    const after = (await admin.request(AlertRulesDocument)).alertRules;
    expect(after.length).toBe(before + 1); // only "taken"
    expect((await admin.request(SilencesDocument, {})).silences.filter((s) => s.ruleId === taken.id)).toEqual([]);
  });
});
