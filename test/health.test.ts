import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiscoverServicesDocument,
  EventsDocument,
  HealthCheckDocument,
  HealthHistoryDocument,
  HeartbeatDocument,
  InstanceHealthDocument,
  LatestEventIdDocument,
  OnHealthChangedDocument,
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  ServiceDocument,
  ServiceHealthDocument,
  SetMaintenanceDocument,
  UpdateTtlCheckDocument,
  type HealthCheckFieldsFragment,
  type HealthCheckInput,
} from '@switchboard/client';
import { errorCode, instance, take } from './support/client.js';
import { eventually } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';
import { createScriptTarget, Serving, startGrpcHealthServer, startHttpTarget, startTcpTargets } from './support/targets.js';

// Script checks are enabled on this node; health-security.test.ts covers the opposite.
const registry = useRegistryNode({ SWITCHBOARD_ENABLE_SCRIPT_CHECKS: 'true', SWITCHBOARD_EXPIRY_SWEEP: '200ms' });

let http: Awaited<ReturnType<typeof startHttpTarget>>;
let tcp: Awaited<ReturnType<typeof startTcpTargets>>;
let grpc: Awaited<ReturnType<typeof startGrpcHealthServer>>;

beforeAll(async () => {
  [http, tcp, grpc] = await Promise.all([startHttpTarget(), startTcpTargets(), startGrpcHealthServer()]);
});

afterAll(async () => {
  await Promise.all([http?.close(), tcp?.close(), grpc?.close()]);
});

let serial = 0;

/** A fresh instance with one check; returns the check as registered. */
async function withCheck(check: HealthCheckInput, name = 'health'): Promise<HealthCheckFieldsFragment> {
  serial += 1;
  const id = `${name}-${serial}`;
  await registry.client.request(RegisterServiceDocument, { input: instance({ id, name }) });
  const { registerHealthCheck } = await registry.client.request(RegisterHealthCheckDocument, { serviceId: id, check });
  return registerHealthCheck;
}

const readCheck = async (id: string) => (await registry.client.request(HealthCheckDocument, { id })).healthCheck!;

/** Waits until the check satisfies `predicate` (checks run every second, so this takes a few). */
async function until(id: string, predicate: (check: HealthCheckFieldsFragment) => boolean, timeoutMs = 15_000): Promise<HealthCheckFieldsFragment> {
  return eventually(
    async () => {
      const check = await readCheck(id);
      return predicate(check) ? check : undefined;
    },
    timeoutMs,
    100,
  );
}

/** Waits for `runs` more runs than the check has now, and returns it then. */
async function afterRuns(id: string, runs: number): Promise<HealthCheckFieldsFragment> {
  const start = (await readCheck(id)).checkCount;
  return until(id, (check) => check.checkCount >= start + runs, 10_000 + runs * 2_000);
}

describe.concurrent('check kinds', () => {
  it('HTTP: 2xx passing, 429 warning, 5xx critical, a timeout critical; output is the status line and body', async () => {
    http.answer('/http-kinds', { status: 200, body: 'all good' });
    const check = await withCheck({ http: http.url('/http-kinds'), interval: '1s', timeout: '500ms' });
    expect(check).toMatchObject({ kind: 'HTTP', status: 'CRITICAL', method: 'GET', interval: '1s', timeout: '500ms' });

    const passing = await until(check.id, (c) => c.status === 'PASSING');
    expect(passing.output).toBe('200 OK Output: all good');

    http.answer('/http-kinds', { status: 429, body: 'slow down' });
    expect((await until(check.id, (c) => c.status === 'WARNING')).output).toContain('429 Too Many Requests');

    http.answer('/http-kinds', { status: 503, body: 'x'.repeat(10_000) });
    const critical = await until(check.id, (c) => c.status === 'CRITICAL');
    expect(critical.output).toContain('503 Service Unavailable');
    expect(critical.output.length).toBeLessThanOrEqual(4096);

    http.answer('/http-kinds', { status: 200, body: 'ok' });
    await until(check.id, (c) => c.status === 'PASSING');
    http.answer('/http-kinds', { status: 200, body: 'late', delayMs: 2_000 });
    expect((await until(check.id, (c) => c.status === 'CRITICAL')).output).toContain('timed out');
  });

  it('HTTP: method and headers are sent; a redirect is not followed', async () => {
    http.answer('/moved', { status: 301 });
    const check = await withCheck({ http: http.url('/moved'), method: 'HEAD', headers: { 'x-probe': 'yes' }, interval: '1s' });
    const settled = await afterRuns(check.id, 1);
    expect(settled.status).toBe('CRITICAL');
    expect(settled.name).toBe(`HTTP HEAD ${http.url('/moved')}`);
    expect(settled.output).toContain('301');
    expect(http.lastRequest('/moved')).toMatchObject({ method: 'HEAD', headers: { 'x-probe': 'yes' } });
  });

  it('TCP: an open port is passing, a closed one critical', async () => {
    const open = await withCheck({ tcp: tcp.open, interval: '1s' });
    const closed = await withCheck({ tcp: tcp.closed, interval: '1s' });
    expect((await until(open.id, (c) => c.status === 'PASSING')).output).toBe('Connected.');
    const refused = await afterRuns(closed.id, 1);
    expect(refused.status).toBe('CRITICAL');
    expect(refused.output).toMatch(/ECONNREFUSED/);
  });

  it('gRPC: SERVING is passing; NOT_SERVING, an unknown service and a dead server are critical', async () => {
    grpc.set('orders.v1.Orders', Serving.SERVING);
    const server = await withCheck({ grpc: grpc.address, interval: '1s' });
    const service = await withCheck({ grpc: `${grpc.address}/orders.v1.Orders`, interval: '1s' });
    const unknown = await withCheck({ grpc: `${grpc.address}/nobody.v1.Nobody`, interval: '1s' });

    expect((await until(server.id, (c) => c.status === 'PASSING')).output).toBe('SERVING');
    await until(service.id, (c) => c.status === 'PASSING');
    grpc.set('orders.v1.Orders', Serving.NOT_SERVING);
    expect((await until(service.id, (c) => c.status === 'CRITICAL')).output).toContain('NOT_SERVING');
    const notFound = await afterRuns(unknown.id, 1);
    expect(notFound).toMatchObject({ status: 'CRITICAL' });
    expect(notFound.output).toContain('NOT_FOUND');

    const dead = await withCheck({ grpc: tcp.closed, interval: '1s', timeout: '1s' });
    expect((await afterRuns(dead.id, 1)).status).toBe('CRITICAL');
  });

  it('script: exit 0 passing, 1 warning, other critical; killed at the timeout', async () => {
    const target = createScriptTarget();
    try {
      const check = await withCheck({ script: target.script, interval: '1s', timeout: '1s' });
      expect((await until(check.id, (c) => c.status === 'PASSING')).output).toContain('disk ok: 0');
      target.set(1);
      await until(check.id, (c) => c.status === 'WARNING');
      target.set(2);
      await until(check.id, (c) => c.status === 'CRITICAL');
      target.set(0);
      await until(check.id, (c) => c.status === 'PASSING');
      target.set(0, 5); // sleeps past the 1 s timeout
      expect((await until(check.id, (c) => c.status === 'CRITICAL')).output).toContain('timed out');
    } finally {
      target.close();
    }
  });

  it('TTL: critical until updated, passing while updated, critical once the TTL lapses; a heartbeat passes it', async () => {
    const check = await withCheck({ ttl: '1s', name: 'db-connection' });
    expect(check).toMatchObject({ kind: 'TTL', status: 'CRITICAL', ttl: '1s', interval: null });

    const updated = await registry.client.request(UpdateTtlCheckDocument, { checkId: check.id, status: 'PASSING', output: 'pool: 4/20 in use' });
    expect(updated.updateTtlCheck).toMatchObject({ status: 'PASSING', output: 'pool: 4/20 in use' });
    const lapsed = await until(check.id, (c) => c.status === 'CRITICAL');
    expect(lapsed.output).toBe('TTL expired: no update within 1s.');

    await registry.client.request(HeartbeatDocument, { id: check.serviceId });
    expect((await readCheck(check.id)).status).toBe('PASSING');
    await registry.client.request(UpdateTtlCheckDocument, { checkId: check.id, status: 'WARNING', output: 'pool nearly full' });
    expect((await readCheck(check.id)).status).toBe('WARNING');

    const notTtl = await withCheck({ tcp: tcp.open, interval: '1s' });
    expect(await errorCode(registry.client.request(UpdateTtlCheckDocument, { checkId: notTtl.id, status: 'PASSING' }))).toBe('BAD_USER_INPUT');
    expect(await errorCode(registry.client.request(UpdateTtlCheckDocument, { checkId: 'nope', status: 'PASSING' }))).toBe('NOT_FOUND');
  });

  it('hysteresis: successBeforePassing and failuresBeforeCritical', async () => {
    http.answer('/flappy', { status: 200 });
    const check = await withCheck({ http: http.url('/flappy'), interval: '1s', successBeforePassing: 3, failuresBeforeCritical: 2 });
    const afterOne = await afterRuns(check.id, 1);
    expect(afterOne.status).toBe('CRITICAL'); // one pass is not enough
    const passing = await until(check.id, (c) => c.status === 'PASSING');
    expect(passing.checkCount).toBeGreaterThanOrEqual(3);

    http.answer('/flappy', { status: 500 });
    const oneFailure = await until(check.id, (c) => c.consecutiveFailures === 1);
    expect(oneFailure.status).toBe('PASSING'); // one failure is not enough
    const critical = await until(check.id, (c) => c.status === 'CRITICAL');
    expect(critical.consecutiveFailures).toBe(2);
  });
});

describe('instance health', () => {
  it('a failing HTTP check is named once in the output: 429, 500, connection refused, timeout', async () => {
    http.answer('/prefix-429', { status: 429, body: 'slow down' });
    http.answer('/prefix-500', { status: 500, body: 'boom' });
    http.answer('/prefix-slow', { status: 200, delayMs: 2_000 });
    const cases = [
      { url: http.url('/prefix-429'), status: 'WARNING', says: '429 Too Many Requests Output: slow down' },
      { url: http.url('/prefix-500'), status: 'CRITICAL', says: '500 Internal Server Error Output: boom' },
      { url: `http://${tcp.closed}/healthz`, status: 'CRITICAL', says: 'ECONNREFUSED' },
      { url: http.url('/prefix-slow'), status: 'CRITICAL', says: 'timed out' },
    ];
    await Promise.all(
      cases.map(async ({ url, status, says }) => {
        const registered = await withCheck({ http: url, interval: '1s', timeout: '500ms' }, 'prefixed');
        const check = await until(registered.id, (c) => c.checkCount > 0 && c.status === status);
        const prefix = `HTTP GET ${url}`;
        expect(check.name).toBe(prefix);
        expect(check.output).toContain(says);
        const { service } = await registry.client.request(InstanceHealthDocument, { id: registered.serviceId });
        expect(service!.health).toMatchObject({ status, output: `${prefix}: ${check.output}` });
        expect(service!.health.output.split(prefix)).toHaveLength(2); // exactly once
      }),
    );
  });

  it('worst check wins; counts add up; passingOnly discovery and the history follow it', async () => {
    http.answer('/agg-ok', { status: 200 });
    http.answer('/agg-warn', { status: 429 });
    const ok = await withCheck({ http: http.url('/agg-ok'), interval: '1s' }, 'aggregate');
    const serviceId = ok.serviceId;
    const warn = (await registry.client.request(RegisterHealthCheckDocument, { serviceId, check: { http: http.url('/agg-warn'), interval: '1s' } }))
      .registerHealthCheck;

    await until(ok.id, (c) => c.status === 'PASSING');
    await until(warn.id, (c) => c.status === 'WARNING');
    const { service } = await registry.client.request(InstanceHealthDocument, { id: serviceId });
    expect(service!.health.status).toBe('WARNING');
    expect(service!.health.output).toContain('429');
    expect(service!.health.checkCount).toBe(service!.checks.reduce((sum, check) => sum + check.checkCount, 0));
    expect(service!.health.failureCount).toBeGreaterThan(0);

    const passingIds = async () =>
      (await registry.client.request(DiscoverServicesDocument, { name: 'aggregate', passingOnly: true })).discoverServices.map((entry) => entry.id);
    expect(await passingIds()).not.toContain(serviceId);
    http.answer('/agg-warn', { status: 200 });
    await until(warn.id, (c) => c.status === 'PASSING');
    expect(await passingIds()).toContain(serviceId);
    expect((await registry.client.request(ServiceHealthDocument, { id: serviceId })).serviceHealth.status).toBe('PASSING');

    const { healthHistory } = await registry.client.request(HealthHistoryDocument, { id: serviceId });
    const entries = healthHistory.map((entry) => `${entry.checkId === ok.id ? 'ok' : 'warn'}:${entry.from}->${entry.to}`);
    expect(entries[0]).toBe('warn:WARNING->PASSING'); // newest first
    expect(healthHistory[0]!.instanceStatus).toBe('PASSING');
    expect([...entries].sort()).toEqual(
      ['ok:null->CRITICAL', 'warn:null->CRITICAL', 'ok:CRITICAL->PASSING', 'warn:CRITICAL->WARNING', 'warn:WARNING->PASSING'].sort(),
    );
  });

  it('events are written on transitions only, not on every run', async () => {
    http.answer('/steady', { status: 200 });
    const check = await withCheck({ http: http.url('/steady'), interval: '1s' }, 'steady');
    await until(check.id, (c) => c.status === 'PASSING');
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    const before = (await readCheck(check.id)).checkCount;
    await afterRuns(check.id, 3);
    const { events } = await registry.client.request(EventsDocument, { after: latestEventId, types: ['service.health.changed'] });
    expect(events.filter((event) => (event.data as { checkId: string }).checkId === check.id)).toEqual([]);
    expect((await readCheck(check.id)).checkCount).toBeGreaterThanOrEqual(before + 3);
  });

  it('maintenance takes an instance out of passing discovery without deregistering it', async () => {
    serial += 1;
    const id = `maint-${serial}`;
    await registry.client.request(RegisterServiceDocument, { input: instance({ id, name: 'maint' }) });
    const passing = async () =>
      (await registry.client.request(DiscoverServicesDocument, { name: 'maint', passingOnly: true })).discoverServices.map((entry) => entry.id);
    expect(await passing()).toEqual([id]);

    const { setMaintenance } = await registry.client.request(SetMaintenanceDocument, { id, enabled: true, reason: 'kernel upgrade' });
    expect(setMaintenance).toMatchObject({
      maintenance: { reason: 'kernel upgrade' },
      health: { status: 'CRITICAL', output: 'Maintenance mode: kernel upgrade' },
    });
    expect(await passing()).toEqual([]);
    expect((await registry.client.request(ServiceDocument, { id })).service).not.toBeNull();

    await registry.client.request(SetMaintenanceDocument, { id, enabled: false });
    expect(await passing()).toEqual([id]);
    const { healthHistory } = await registry.client.request(HealthHistoryDocument, { id });
    expect(healthHistory.map((entry) => [entry.checkId, entry.output])).toEqual([
      [null, 'Maintenance mode disabled.'],
      [null, 'Maintenance mode enabled: kernel upgrade'],
    ]);
    expect(await errorCode(registry.client.request(SetMaintenanceDocument, { id: 'nope', enabled: true }))).toBe('NOT_FOUND');
  });

  it('deregisterCriticalServiceAfter removes an instance critical that long, saying why', async () => {
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    const check = await withCheck({ tcp: tcp.closed, interval: '1s', deregisterCriticalServiceAfter: '1s' }, 'doomed');
    await eventually(async () => ((await registry.client.request(ServiceDocument, { id: check.serviceId })).service === null ? true : undefined), 15_000);
    const { events } = await registry.client.request(EventsDocument, { after: latestEventId, types: ['service.unregistered'] });
    expect(events.find((event) => (event.data as { id: string }).id === check.serviceId)?.data).toMatchObject({
      reason: 'critical-too-long',
      check: { id: check.id },
    });
  });

  it('healthChanged streams transitions of one service name', async () => {
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    const stream = registry.client.subscribe(OnHealthChangedDocument, { name: 'watched', after: latestEventId });
    http.answer('/watched', { status: 200 });
    const check = await withCheck({ http: http.url('/watched'), interval: '1s' }, 'watched');
    const [added, passed] = await take(stream, 2, 15_000);
    expect(added!.healthChanged).toMatchObject({ checkId: check.id, previousStatus: null, status: 'CRITICAL', instanceStatus: 'CRITICAL' });
    expect(passed!.healthChanged).toMatchObject({
      checkId: check.id,
      previousStatus: 'CRITICAL',
      status: 'PASSING',
      instanceStatus: 'PASSING',
      name: 'watched',
    });
    await stream.return!();
  });

  it('checks can be declared with the instance, and are updated, not duplicated, on re-registration', async () => {
    const input = instance({ id: 'declared-1', name: 'declared', healthCheck: { tcp: tcp.open, interval: '1s' } });
    await registry.client.request(RegisterServiceDocument, { input });
    await registry.client.request(RegisterServiceDocument, { input });
    const { service } = await registry.client.request(InstanceHealthDocument, { id: 'declared-1' });
    expect(service!.checks).toHaveLength(1);
    expect(service!.checks[0]).toMatchObject({ kind: 'TCP', tcp: tcp.open });
  });

  it('re-registering with another check keeps the old one beside it by default (replaceExistingChecks absent or false)', async () => {
    const first = instance({ id: 'keep-1', name: 'keep', healthCheck: { ttl: '1m', name: 'old' } });
    await registry.client.request(RegisterServiceDocument, { input: first });
    await registry.client.request(RegisterServiceDocument, { input: { ...first, healthCheck: { ttl: '1m', name: 'new' } } });
    const names = async () => (await registry.client.request(InstanceHealthDocument, { id: 'keep-1' })).service!.checks.map((check) => check.name).sort();
    expect(await names()).toEqual(['new', 'old']);
    await registry.client.request(RegisterServiceDocument, { input: { ...first, healthCheck: { ttl: '1m', name: 'newer' }, replaceExistingChecks: false } });
    expect(await names()).toEqual(['new', 'newer', 'old']);
  });

  it('replaceExistingChecks: true removes the checks the registration does not define, as a deregistration does', async () => {
    const { latestEventId } = await registry.client.request(LatestEventIdDocument);
    const first = instance({
      id: 'replace-1',
      name: 'replace',
      healthChecks: [
        { ttl: '1m', name: 'old' },
        { ttl: '1m', name: 'kept' },
      ],
    });
    await registry.client.request(RegisterServiceDocument, { input: first });
    const before = (await registry.client.request(InstanceHealthDocument, { id: 'replace-1' })).service!.checks;
    const kept = before.find((check) => check.name === 'kept')!;
    const old = before.find((check) => check.name === 'old')!;
    await registry.client.request(UpdateTtlCheckDocument, { checkId: kept.id, status: 'PASSING' });

    // Only "kept" is defined now: "old" (critical) goes, and the instance passes, in the answer and the next read.
    const { registerService } = await registry.client.request(RegisterServiceDocument, {
      input: { ...first, healthChecks: [{ ttl: '1m', name: 'kept' }], replaceExistingChecks: true },
    });
    expect(registerService.health.status).toBe('PASSING');
    const { service } = await registry.client.request(InstanceHealthDocument, { id: 'replace-1' });
    expect(service!.checks.map((check) => check.id)).toEqual([kept.id]);
    expect(service!.health.status).toBe('PASSING');
    expect(await registry.database.sql`select id from health_checks where id = ${old.id}`).toHaveLength(0);
    const { healthHistory } = await registry.client.request(HealthHistoryDocument, { id: 'replace-1' });
    expect(healthHistory[0]).toMatchObject({ checkId: old.id, from: 'CRITICAL', to: null, output: 'Check removed.', instanceStatus: 'PASSING' });
    const { events } = await registry.client.request(EventsDocument, { after: latestEventId, types: ['service.health.changed'] });
    expect(
      events
        .map((event) => event.data as { checkId: string; to: string | null })
        .filter((data) => data.checkId === old.id)
        .map((data) => data.to),
    ).toEqual(['CRITICAL', null]);

    // With no checks defined at all, replacing removes every check.
    await registry.client.request(RegisterServiceDocument, { input: { ...first, healthChecks: [], replaceExistingChecks: true } });
    expect((await registry.client.request(InstanceHealthDocument, { id: 'replace-1' })).service!.checks).toEqual([]);
  });
});

describe('bad check definitions', () => {
  it.each([
    ['no kind', {}],
    ['two kinds', { tcp: '127.0.0.1:1', http: 'http://127.0.0.1/' }],
    ['not a URL', { http: 'not a url' }],
    ['a non-HTTP URL', { http: 'file:///etc/passwd' }],
    ['credentials in the URL', { http: 'http://user:secret@127.0.0.1/' }],
    ['tcp without a port', { tcp: '127.0.0.1' }],
    ['interval under a second', { tcp: '127.0.0.1:80', interval: '100ms' }],
    ['a TTL check with an interval', { ttl: '10s', interval: '5s' }],
    ['a negative threshold', { tcp: '127.0.0.1:80', successBeforePassing: -1 }],
    ['a header with a bad name', { http: 'http://127.0.0.1/', headers: { 'bad header': 'x' } }],
  ])('%s -> BAD_USER_INPUT', async (_label, check) => {
    serial += 1;
    const id = `bad-check-${serial}`;
    await registry.client.request(RegisterServiceDocument, { input: instance({ id }) });
    expect(await errorCode(registry.client.request(RegisterHealthCheckDocument, { serviceId: id, check: check as HealthCheckInput }))).toBe('BAD_USER_INPUT');
    expect((await registry.client.request(InstanceHealthDocument, { id })).service!.checks).toEqual([]);
  });

  it('an unknown instance is NOT_FOUND', async () => {
    expect(await errorCode(registry.client.request(RegisterHealthCheckDocument, { serviceId: 'ghost', check: { tcp: '127.0.0.1:1' } }))).toBe('NOT_FOUND');
  });
});
