import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateAlertRuleDocument,
  CreateTokenDocument,
  DiscoverServicesDocument,
  OnConfigChangedDocument,
  PublishEventDocument,
  RegisterComponentDocument,
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  ReportCallOutcomeDocument,
  SetConfigDocument,
  UnregisterServiceDocument,
} from '@switchboard/client';
import type { SwitchboardNode } from '../src/server/node.js';
import { instance } from './support/client.js';
import { eventually } from './support/wait.js';
import { scrape, sumOf, type Sample } from './support/metrics.js';
import { startTestWorker, useRegistryNode } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';

const TOKEN = 'metrics-test-admin-token-0123456789';
// Health checks run on the worker only, so its metrics port is what shows them.
const registry = useRegistryNode({
  SWITCHBOARD_ADMIN_TOKEN: TOKEN,
  SWITCHBOARD_HEALTH_WORKER: 'false',
  SWITCHBOARD_BREAKER_MIN_CALLS: '2',
  SWITCHBOARD_WEBHOOK_ALLOW_LOCAL: 'true', // the alert receiver listens on 127.0.0.1
  SWITCHBOARD_DB_POOL_SIZE: '7', // the pool's size metric must show this setting
});
const admin = () => registry.clients.create(registry.node.url, TOKEN);
const metricsUrl = () => new URL('/metrics', registry.node.url).toString();
const serve = () => scrape(metricsUrl(), TOKEN);

let worker: SwitchboardNode;
let target: Awaited<ReturnType<typeof startHttpTarget>>;
beforeAll(async () => {
  // Workers send webhooks too, so this one needs the opt-in as well.
  worker = await startTestWorker(registry.database.url, {
    SWITCHBOARD_ADMIN_TOKEN: TOKEN,
    SWITCHBOARD_METRICS_PORT: '0',
    SWITCHBOARD_WEBHOOK_ALLOW_LOCAL: 'true',
  });
  target = await startHttpTarget();
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

/** Scrapes until `predicate` holds; returns that scrape. */
const until = (read: () => Promise<Sample[]>, predicate: (samples: Sample[]) => boolean, timeoutMs = 10_000) =>
  eventually(async () => {
    const samples = await read();
    return predicate(samples) ? samples : undefined;
  }, timeoutMs);

describe('/metrics on serve', () => {
  it('needs a token when one is configured: 401 without or with a wrong one, 200 with the admin token or a READ token', async () => {
    const without = await fetch(metricsUrl());
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Bearer');
    expect(await without.json()).toEqual({
      errors: [
        {
          message: '/metrics needs a token: send "Authorization: Bearer <token>" with the admin token or an API token with the READ scope.',
          extensions: { code: 'UNAUTHENTICATED' },
        },
      ],
    });
    expect((await fetch(metricsUrl(), { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);

    const withAdmin = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(withAdmin.status).toBe(200);
    expect(withAdmin.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await withAdmin.text();
    expect(text).toContain('# TYPE switchboard_instances gauge');
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');

    const { createToken } = await admin().request(CreateTokenDocument, { input: { name: 'prometheus', scopes: ['READ'] } });
    expect((await fetch(metricsUrl(), { headers: { authorization: `Bearer ${createToken.token}` } })).status).toBe(200);

    const post = await fetch(metricsUrl(), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(post.status).toBe(405);
    expect(((await post.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('registering and removing instances moves the service and instance gauges, the events appended and the group-commit batches', async () => {
    const before = await serve();
    const passing = sumOf(before, 'switchboard_instances', { status: 'passing' });
    const services = sumOf(before, 'switchboard_services');
    const registered = sumOf(before, 'switchboard_events_appended_total', { type: 'service.registered' });
    const batches = sumOf(before, 'switchboard_group_commit_batch_size_count', { writer: 'registrations' });
    for (const id of ['gauge-1', 'gauge-2', 'gauge-3']) await admin().request(RegisterServiceDocument, { input: instance({ id, name: 'gauge-web' }) });

    const after = await until(serve, (samples) => sumOf(samples, 'switchboard_instances', { status: 'passing' }) === passing + 3);
    expect(sumOf(after, 'switchboard_services')).toBe(services + 1);
    expect(sumOf(after, 'switchboard_events_appended_total', { type: 'service.registered' })).toBe(registered + 3);
    expect(sumOf(after, 'switchboard_group_commit_batch_size_count', { writer: 'registrations' })).toBeGreaterThan(batches);
    expect(sumOf(after, 'switchboard_group_commit_duration_seconds_count', { writer: 'registrations' })).toBeGreaterThan(batches);

    await admin().request(UnregisterServiceDocument, { id: 'gauge-3' });
    await until(serve, (samples) => sumOf(samples, 'switchboard_instances', { status: 'passing' }) === passing + 2);
  });

  it('an HTTP check whose target starts answering 500 moves the critical gauge, and the worker counts the failed runs', async () => {
    target.answer('/metrics-health', { status: 200, body: 'ok' });
    await admin().request(RegisterServiceDocument, { input: instance({ id: 'checked-1', name: 'checked' }) });
    await admin().request(RegisterHealthCheckDocument, {
      serviceId: 'checked-1',
      check: { http: target.url('/metrics-health'), interval: '1s', timeout: '500ms' },
    });
    const workerScrape = () => scrape(worker.metricsUrl!, TOKEN);
    // A new check starts critical; its first passing run makes it passing.
    await until(workerScrape, (samples) => sumOf(samples, 'switchboard_health_checks_run_total', { kind: 'http' }) > 0);
    const passing = await until(serve, (samples) => sumOf(samples, 'switchboard_instances', { status: 'critical' }) === 0);
    const failedBefore = sumOf(await workerScrape(), 'switchboard_health_checks_failed_total', { kind: 'http' });

    target.answer('/metrics-health', { status: 500, body: 'broken' });
    const critical = await until(serve, (samples) => sumOf(samples, 'switchboard_instances', { status: 'critical' }) === 1);
    expect(sumOf(critical, 'switchboard_instances', { status: 'passing' })).toBe(sumOf(passing, 'switchboard_instances', { status: 'passing' }) - 1);
    const worked = await workerScrape();
    expect(sumOf(worked, 'switchboard_health_checks_failed_total', { kind: 'http' })).toBeGreaterThan(failedBefore);
    // Two transitions so far (critical -> passing -> critical), each written by the worker.
    expect(sumOf(worked, 'switchboard_health_transitions_total')).toBeGreaterThanOrEqual(2);
    expect(sumOf(worked, 'switchboard_health_check_lag_seconds_count')).toBe(sumOf(worked, 'switchboard_health_checks_run_total'));
    expect(sumOf(worked, 'switchboard_health_claim_batch_size_count')).toBeGreaterThan(0);
    expect(sumOf(worked, 'switchboard_health_claim_batch_size_sum')).toBeGreaterThanOrEqual(sumOf(worked, 'switchboard_health_checks_run_total'));
  });

  it('records GraphQL operation durations by operation name, whether graphql-jit or graphql-js ran them', async () => {
    const labels = { operation_name: 'DiscoverServices', operation_type: 'query' };
    const before = sumOf(await serve(), 'switchboard_graphql_operation_duration_seconds_count', labels);
    const compiledBefore = registry.node.counters!.compiledRuns;
    for (let i = 0; i < 3; i++) await admin().request(DiscoverServicesDocument, { name: 'gauge-web' });
    const after = await serve();
    expect(sumOf(after, 'switchboard_graphql_operation_duration_seconds_count', labels)).toBe(before + 3);
    expect(sumOf(after, 'switchboard_graphql_operation_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(before + 3);
    // The plugin sat beside graphql-jit without displacing it: the later runs were compiled.
    expect(registry.node.counters!.compiledRuns).toBeGreaterThan(compiledBefore);
  });

  it('counts subscriptions and WebSocket connections open, and they go back when closed', async () => {
    const before = await serve();
    const subscriptions = sumOf(before, 'switchboard_subscriptions_open');
    const sockets = sumOf(before, 'switchboard_websocket_connections_open');
    const client = admin();
    const stream = client.subscribe(OnConfigChangedDocument, { key: 'metrics.watch' });
    const next = stream.next();
    await until(serve, (samples) => sumOf(samples, 'switchboard_subscriptions_open') === subscriptions + 1);
    expect(sumOf(await serve(), 'switchboard_websocket_connections_open')).toBe(sockets + 1);
    await stream.return!();
    await next.catch(() => undefined);
    await client.close();
    await until(
      serve,
      (samples) => sumOf(samples, 'switchboard_subscriptions_open') === subscriptions && sumOf(samples, 'switchboard_websocket_connections_open') === sockets,
    );
  });

  it('counts components, configuration values and breaker transitions', async () => {
    const before = await serve();
    await admin().request(RegisterComponentDocument, { input: { id: 'metrics-step', type: 'STEP', name: 'Metrics step', version: '1.0.0' } });
    await admin().request(SetConfigDocument, { key: 'metrics.a', value: 1 });
    await admin().request(SetConfigDocument, { key: 'metrics.a', value: 2, environment: 'prod' });
    await admin().request(RegisterServiceDocument, { input: instance({ id: 'breaking-1', name: 'breaking' }) });
    for (let i = 0; i < 3; i++) await admin().request(ReportCallOutcomeDocument, { id: 'breaking-1', success: false });

    const after = await until(serve, (samples) => sumOf(samples, 'switchboard_circuit_breaker_transitions_total', { state: 'open' }) > 0);
    expect(sumOf(before, 'switchboard_circuit_breaker_transitions_total', { state: 'open' })).toBe(0);
    expect(sumOf(after, 'switchboard_components')).toBe(sumOf(before, 'switchboard_components') + 1);
    expect(sumOf(after, 'switchboard_config_keys')).toBe(sumOf(before, 'switchboard_config_keys') + 2);
    expect(sumOf(after, 'switchboard_group_commit_batch_size_count', { writer: 'call_outcomes' })).toBeGreaterThan(0);
  });

  it('counts alerts by state and webhook deliveries by status', async () => {
    const before = await serve();
    const receiver = target.url('/metrics-alert-receiver');
    await admin().request(CreateAlertRuleDocument, {
      input: { name: 'metrics-seen', kind: 'EVENT_SEEN', eventType: 'metrics.seen', receivers: [{ url: receiver }] },
    });
    await admin().request(PublishEventDocument, { input: { type: 'metrics.seen', source: 'metrics-test', data: {} } });

    const after = await until(
      serve,
      (samples) =>
        sumOf(samples, 'switchboard_webhook_deliveries', { status: 'delivered' }) > sumOf(before, 'switchboard_webhook_deliveries', { status: 'delivered' }),
    );
    expect(sumOf(after, 'switchboard_alerts', { state: 'firing' })).toBe(sumOf(before, 'switchboard_alerts', { state: 'firing' }) + 1);
    expect(target.hits('/metrics-alert-receiver')).toHaveLength(1);
  });

  it('shows the event feed behind an event it has not read yet, then caught up', async () => {
    // Appended without a NOTIFY: the feed only finds it at its next safety-net poll (every 5 s).
    await registry.database.sql`insert into events (type, source, data) values ('metrics.unnoticed', 'test', '{}'::jsonb)`;
    const behind = await serve();
    expect(sumOf(behind, 'switchboard_event_feed_lag_events')).toBe(1);
    await until(serve, (samples) => sumOf(samples, 'switchboard_event_feed_lag_events') === 0, 10_000);
  });

  it('still answers while a database read stalls: that gauge keeps its value and switchboard_database_up is 0', async () => {
    const components = sumOf(await serve(), 'switchboard_components');
    let release!: () => void;
    const locked = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // A transaction holding an exclusive lock on components: the scrape's count waits behind it.
    const transaction = registry.database.sql.begin(async (sql) => {
      await sql`lock table components in access exclusive mode`;
      holding();
      await locked;
    });
    try {
      await held;
      const started = performance.now();
      const stalled = await serve();
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(sumOf(stalled, 'switchboard_database_up')).toBe(0);
      expect(sumOf(stalled, 'switchboard_components')).toBe(components);
      expect(sumOf(stalled, 'switchboard_instances', { status: 'passing' })).toBeGreaterThan(0);
    } finally {
      release();
      await transaction;
    }
    await until(serve, (samples) => sumOf(samples, 'switchboard_database_up') === 1);
  });

  it('reports the database pool: its size and connections open', async () => {
    const samples = await serve();
    expect(sumOf(samples, 'switchboard_db_pool_max_connections')).toBe(7);
    expect(sumOf(samples, 'switchboard_database_up')).toBe(1);
    // At least the event feed's LISTEN connection and the pool's idle ones.
    expect(sumOf(samples, 'switchboard_db_connections', { state: 'idle' })).toBeGreaterThan(0);
  });
});

describe('SWITCHBOARD_METRICS_PORT on a worker', () => {
  it('serves /metrics (with the token) and /healthz, and its own process metrics without the catalog', async () => {
    const url = worker.metricsUrl!;
    expect((await fetch(url)).status).toBe(401);
    const samples = await scrape(url, TOKEN);
    expect(samples.some((sample) => sample.name === 'process_resident_memory_bytes')).toBe(true);
    expect(samples.some((sample) => sample.name === 'switchboard_health_checks_run_total')).toBe(true);
    // The catalog lives on serving nodes only.
    expect(samples.some((sample) => sample.name === 'switchboard_instances')).toBe(false);
    const health = await fetch(new URL('/healthz', url));
    expect(health.status).toBe(200);
    expect((await fetch(new URL('/graphql', url))).status).toBe(404);
  });
});
