import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateTokenDocument,
  DeleteServicePolicyDocument,
  EventsDocument,
  OnServiceStatesChangedDocument,
  RegisterServiceDocument,
  ServicePoliciesDocument,
  ServicePolicyDocument,
  ServiceStatesDocument,
  SetServicePolicyDocument,
  UnregisterServiceDocument,
  type ServiceStateReportFieldsFragment,
  type ServiceStatusFieldsFragment,
} from '@switchboard/client';
import { errorCode, instance, take } from './support/client.js';
import { eventually, sleep, withTimeout } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestNode, useRegistryNode, type TestNode } from './support/nodes.js';
import { SettingsError, loadSettings } from '../src/settings.js';
import { connectDatabase } from '../src/db/client.js';
import { readServiceStates } from '../src/registry/states/index.js';
import { startStatementProxy, type StatementProxy } from './support/statement-proxy.js';
import { startHttpTarget } from './support/targets.js';

const ADMIN = 'service-states-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN, SWITCHBOARD_EXPIRY_SWEEP: '200ms' });
const admin = () => registry.clients.create(registry.node.url, ADMIN);

let http: Awaited<ReturnType<typeof startHttpTarget>>;
beforeAll(async () => {
  http = await startHttpTarget();
});
afterAll(async () => {
  await http?.close();
});

async function states(variables: { window?: string; prefix?: string } = {}): Promise<ServiceStateReportFieldsFragment> {
  return (await admin().request(ServiceStatesDocument, variables)).serviceStates;
}

async function statusOf(name: string, window?: string): Promise<ServiceStatusFieldsFragment | undefined> {
  return (await states({ prefix: name, ...(window ? { window } : {}) })).services.find((service) => service.name === name);
}

/** Polls until the service's status satisfies `predicate`. */
function statusWhen(name: string, predicate: (status: ServiceStatusFieldsFragment) => boolean, window?: string, timeoutMs = 10_000) {
  return eventually(
    async () => {
      const status = await statusOf(name, window);
      return status && predicate(status) ? status : undefined;
    },
    timeoutMs,
    100,
  );
}

async function register(name: string, id: string, healthPath?: string) {
  const healthCheck = healthPath ? { http: http.url(healthPath), interval: '1s', timeout: '1s' } : undefined;
  await admin().request(RegisterServiceDocument, { input: instance({ id, name, ...(healthCheck ? { healthCheck } : {}) }) });
}

async function registeredAt(id: string): Promise<number> {
  const { events } = await admin().request(EventsDocument, { types: ['service.registered'], first: 1000 });
  const event = events.filter((entry) => (entry.data as { id: string }).id === id).at(-1)!;
  return Date.parse(event.timestamp as string);
}

describe('service states', () => {
  it('goes HEALING when an instance goes critical, DOWN when none passes, and stays HEALING while recovering', async () => {
    http.answer('/flip-a', { status: 200 });
    http.answer('/flip-b', { status: 200 });
    await register('flip', 'flip-a', '/flip-a');
    await register('flip', 'flip-b', '/flip-b');
    // Starting up (checks begin critical) is not failing: once both pass, it is only SCALING (two just registered).
    const started = await statusWhen('flip', (status) => status.passing === 2);
    expect(started.state).toBe('SCALING');
    expect(started.reasons).toEqual(['instance count changed within the last 5m (2 registered)']);

    http.answer('/flip-a', { status: 500 });
    const healing = await statusWhen('flip', (status) => status.critical === 1);
    expect(healing.state).toBe('HEALING');
    expect(healing.reasons[0]).toBe('1 of 2 instances critical');
    expect(healing.until).toBeNull(); // only a change can end a critical instance

    http.answer('/flip-b', { status: 500 });
    const down = await statusWhen('flip', (status) => status.critical === 2);
    expect(down.state).toBe('DOWN');
    expect(down.reasons[0]).toBe('none of 2 instances passing');

    http.answer('/flip-a', { status: 200 });
    http.answer('/flip-b', { status: 200 });
    const recovering = await statusWhen('flip', (status) => status.passing === 2);
    expect(recovering.state).toBe('HEALING');
    expect(recovering.reasons[0]).toBe('2 instances critical within the last 5m');
    // Recovering ends by time alone: 5m after the last critical moment (the second recovery).
    const { events } = await admin().request(EventsDocument, { types: ['service.health.changed'], first: 1000 });
    const lastRecovery = events
      .filter(
        (event) =>
          (event.data as { name: string; instanceFrom: string }).name === 'flip' && (event.data as { instanceFrom: string }).instanceFrom === 'CRITICAL',
      )
      .at(-1)!;
    const until = Date.parse(recovering.until as string);
    expect(until - (Date.parse(lastRecovery.timestamp as string) + 300_000)).toBeGreaterThanOrEqual(0);
    expect(until - (Date.parse(lastRecovery.timestamp as string) + 300_000)).toBeLessThanOrEqual(1);
  });

  it('is SCALING when its instance count changed within the window, then ACTIVE exactly at `until`', async () => {
    await register('scale', 'scale-1');
    const first = await statusOf('scale', '2s');
    expect(first).toMatchObject({ state: 'SCALING', instances: 1, passing: 1 });
    // A state that ends by time alone is the subject: wait out the time until `until`.
    await sleep(Math.max(Date.parse(first!.until as string) - Date.now(), 0));
    expect(await statusOf('scale', '2s')).toMatchObject({ state: 'ACTIVE', reasons: [], until: null });

    await register('scale', 'scale-2');
    const scaling = await statusOf('scale', '2s');
    expect(scaling).toMatchObject({ state: 'SCALING', instances: 2, reasons: ['instance count changed within the last 2s (1 registered)'] });
    const expected = (await registeredAt('scale-2')) + 2_000;
    const until = Date.parse(scaling!.until as string);
    expect(until - expected, 'until is the registration plus the window').toBeGreaterThanOrEqual(0);
    expect(until - expected).toBeLessThanOrEqual(1);
    await sleep(Math.max(until - Date.now(), 0));
    expect((await statusOf('scale', '2s'))!.state).toBe('ACTIVE');

    await admin().request(UnregisterServiceDocument, { id: 'scale-2' });
    expect(await statusOf('scale', '2s')).toMatchObject({ state: 'SCALING', reasons: ['instance count changed within the last 2s (1 removed)'] });
  });

  it('is SCALING while outside its policy, and DOWN with none while the policy asks for some', async () => {
    const { setServicePolicy } = await admin().request(SetServicePolicyDocument, { service: 'pool', minInstances: 3 });
    expect(setServicePolicy).toMatchObject({ service: 'pool', minInstances: 3, maxInstances: null });
    expect(await statusOf('pool', '1s')).toMatchObject({
      state: 'DOWN',
      instances: 0,
      reasons: ['no instance registered; minInstances is 3'],
      minInstances: 3,
    });

    await register('pool', 'pool-1');
    await register('pool', 'pool-2');
    // Past the 1s window after the last registration (time passing is the subject): only the policy speaks.
    await sleep(Math.max((await registeredAt('pool-2')) + 1_000 + 50 - Date.now(), 0));
    expect(await statusOf('pool', '1s')).toMatchObject({ state: 'SCALING', reasons: ['1 instance fewer than minInstances 3'], until: null, instances: 2 });

    await admin().request(SetServicePolicyDocument, { service: 'pool', minInstances: 0, maxInstances: 1 });
    expect(await statusOf('pool', '1s')).toMatchObject({ state: 'SCALING', reasons: ['1 instance more than maxInstances 1'], maxInstances: 1 });

    await admin().request(SetServicePolicyDocument, { service: 'pool', minInstances: 2, maxInstances: 2 });
    expect(await statusOf('pool', '1s')).toMatchObject({ state: 'ACTIVE', reasons: [] });

    expect((await admin().request(DeleteServicePolicyDocument, { service: 'pool' })).deleteServicePolicy).toBe(true);
    expect((await admin().request(DeleteServicePolicyDocument, { service: 'pool' })).deleteServicePolicy).toBe(false);
    expect((await admin().request(ServicePolicyDocument, { service: 'pool' })).servicePolicy).toBeNull();
    expect(await statusOf('pool', '1s')).toMatchObject({ minInstances: null, maxInstances: null });
    const { events } = await admin().request(EventsDocument, { types: ['service.policy.changed'], first: 100 });
    expect(events.filter((event) => (event.data as { name: string }).name === 'pool').map((event) => event.data)).toEqual([
      { name: 'pool', minInstances: 3, maxInstances: null, deleted: false, previous: null },
      { name: 'pool', minInstances: 0, maxInstances: 1, deleted: false, previous: { minInstances: 3, maxInstances: null } },
      { name: 'pool', minInstances: 2, maxInstances: 2, deleted: false, previous: { minInstances: 0, maxInstances: 1 } },
      { name: 'pool', minInstances: null, maxInstances: null, deleted: true, previous: { minInstances: 2, maxInstances: 2 } },
    ]);
  });

  it('is HEALING after deregisterCriticalServiceAfter removed an instance', async () => {
    http.answer('/reaped-bad', { status: 500 });
    await register('reaped', 'reaped-good');
    await admin().request(RegisterServiceDocument, {
      input: instance({
        id: 'reaped-bad',
        name: 'reaped',
        healthCheck: { http: http.url('/reaped-bad'), interval: '1s', deregisterCriticalServiceAfter: '1s' },
      }),
    });
    const status = await statusWhen('reaped', (entry) => entry.instances === 1);
    expect(status.state).toBe('HEALING');
    expect(status.reasons).toContain('1 instance removed within the last 5m after staying critical (deregisterCriticalServiceAfter)');
    expect(status.until).not.toBeNull();
  });

  it('counts services per state and filters by prefix', async () => {
    const report = await states();
    const counted = { active: 0, scaling: 0, healing: 0, down: 0 };
    for (const service of report.services) counted[service.state.toLowerCase() as keyof typeof counted] += 1;
    expect(report.counts).toEqual(counted);
    expect(report.window).toBe('5m');
    expect((await states({ prefix: 'fli' })).services.map((service) => service.name)).toEqual(['flip']);
  });

  it('refuses bad input and writes nothing', async () => {
    const before = (await admin().request(ServicePoliciesDocument)).servicePolicies;
    const cases: [string, Promise<unknown>][] = [
      ['negative', admin().request(SetServicePolicyDocument, { service: 'bad', minInstances: -1 })],
      ['min above max', admin().request(SetServicePolicyDocument, { service: 'bad', minInstances: 3, maxInstances: 2 })],
      ['bad name', admin().request(SetServicePolicyDocument, { service: '-bad name', minInstances: 1 })],
      ['bad name to delete', admin().request(DeleteServicePolicyDocument, { service: '' })],
      ['short window', admin().request(ServiceStatesDocument, { window: '10ms' })],
      ['bad prefix', admin().request(ServiceStatesDocument, { prefix: 'a b' })],
    ];
    for (const [what, request] of cases) expect(await errorCode(request), what).toBe('BAD_USER_INPUT');

    const token = async (scopes: ('READ' | 'WRITE')[], servicePrefix?: string) =>
      (await admin().request(CreateTokenDocument, { input: { name: `policy-${scopes.join('-')}`, scopes, servicePrefix } })).createToken.token;
    const teamA = registry.clients.create(registry.node.url, await token(['WRITE'], 'team-a-'));
    const reader = registry.clients.create(registry.node.url, await token(['READ']));
    expect(await errorCode(teamA.request(SetServicePolicyDocument, { service: 'team-b-api', minInstances: 1 }))).toBe('FORBIDDEN');
    expect(await errorCode(reader.request(SetServicePolicyDocument, { service: 'team-a-api', minInstances: 1 }))).toBe('FORBIDDEN');
    expect(await errorCode(registry.client.request(ServiceStatesDocument, {}))).toBe('UNAUTHENTICATED');
    expect((await admin().request(ServicePoliciesDocument)).servicePolicies).toEqual(before);

    expect((await teamA.request(SetServicePolicyDocument, { service: 'team-a-api', maxInstances: 4 })).setServicePolicy.maxInstances).toBe(4);
    expect((await reader.request(ServicePolicyDocument, { service: 'team-a-api' })).servicePolicy?.maxInstances).toBe(4);
    await admin().request(DeleteServicePolicyDocument, { service: 'team-a-api' });
  });

  it('lets concurrent first writers of a policy all succeed, recording one change', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => admin().request(SetServicePolicyDocument, { service: 'raced', minInstances: 2, maxInstances: 5 })),
    );
    expect(answers.map((answer) => answer.setServicePolicy.minInstances)).toEqual(Array(12).fill(2));
    const { events } = await admin().request(EventsDocument, { types: ['service.policy.changed'], first: 1000 });
    expect(events.filter((event) => (event.data as { name: string }).name === 'raced')).toHaveLength(1);
    await admin().request(DeleteServicePolicyDocument, { service: 'raced' });
  });

  it('reads the same states from the tables alone, for a process without a catalog', async () => {
    const database = connectDatabase(registry.database.url, { poolSize: 2 });
    try {
      const summary = (services: readonly { name: string; state: string; reasons: readonly string[]; instances: number; critical: number }[]) =>
        services.map(({ name, state, reasons, instances, critical }) => ({ name, state, reasons, instances, critical }));
      const fromTables = await readServiceStates(database.db, {}, 300_000);
      const fromCatalog = await states();
      expect(fromTables.services.length).toBeGreaterThan(3);
      expect(summary(fromTables.services)).toEqual(summary(fromCatalog.services));
      expect(fromTables.counts).toEqual(fromCatalog.counts);
    } finally {
      await database.close();
    }
  });

  it('reads its default window from SWITCHBOARD_STATE_WINDOW', () => {
    expect(loadSettings({}).stateWindowMs).toBe(300_000);
    expect(loadSettings({ SWITCHBOARD_STATE_WINDOW: '90s' }).stateWindowMs).toBe(90_000);
    expect(() => loadSettings({ SWITCHBOARD_STATE_WINDOW: '10ms' })).toThrow(SettingsError);
    expect(loadSettings({}).selfRegister).toBe(true);
    expect(loadSettings({ SWITCHBOARD_SELF_REGISTER: 'false' }).selfRegister).toBe(false);
  });
});

describe('serviceStatesChanged', () => {
  it('coalesces a burst of changes into reports at least 250ms apart', async () => {
    const stream = admin().subscribe(OnServiceStatesChangedDocument, { prefix: 'burst-' });
    try {
      await take(stream, 1);
      const started = Date.now();
      for (let i = 0; i < 15; i++) await register('burst-api', `burst-${i}`);
      const elapsed = Date.now() - started;
      const reports: ServiceStateReportFieldsFragment[] = [];
      while (reports.at(-1)?.services[0]?.instances !== 15) {
        const [next] = await take(stream, 1);
        reports.push(next!.serviceStatesChanged);
      }
      const times = reports.map((report) => Date.parse(report.computedAt as string));
      const gaps = times.slice(1).map((time, i) => time - times[i]!);
      expect(Math.min(...gaps), `gaps ${gaps.join(', ')} over ${elapsed}ms of registrations`).toBeGreaterThanOrEqual(240);
      expect(reports.length).toBeLessThan(15);
    } finally {
      await stream.return?.();
    }
  });
  it('sends a report at once, a new one on a change, none for changes that move no state, and one when `until` passes', async () => {
    const stream = admin().subscribe(OnServiceStatesChangedDocument, { prefix: 'watched-', window: '2s' });
    try {
      const [first] = await take(stream, 1);
      expect(first!.serviceStatesChanged.services).toEqual([]);

      await register('watched-api', 'watched-1');
      const [added] = await take(stream, 1);
      expect(added!.serviceStatesChanged.services).toMatchObject([{ name: 'watched-api', state: 'SCALING', instances: 1 }]);

      // A change outside the prefix, and one inside that moves nothing (an update, same count): no report.
      await register('unwatched', 'unwatched-1');
      await admin().request(RegisterServiceDocument, { input: instance({ id: 'watched-1', name: 'watched-api', weight: 7 }) });
      const next = stream.next();
      const early = await withTimeout(next, 900, 'none').catch(() => undefined);
      // …until the window passes (2s after the registration): the report then says ACTIVE, sent unasked.
      const expiry = early ?? (await withTimeout(next, 5_000, 'no report when the window passed'));
      const report = (expiry as { value: { serviceStatesChanged: ServiceStateReportFieldsFragment } }).value.serviceStatesChanged;
      expect(report.services).toMatchObject([{ name: 'watched-api', state: 'ACTIVE' }]);
      expect(Date.parse(report.computedAt as string)).toBeGreaterThanOrEqual(Date.parse(added!.serviceStatesChanged.services[0]!.until as string));
    } finally {
      await stream.return?.();
    }
  });
});

describe('1,000 services', () => {
  let database: TestDatabase;
  let proxy: StatementProxy;
  let node: TestNode;

  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await startStatementProxy(database.url);
    node = await startTestNode(proxy.url, { SWITCHBOARD_HEALTH_WORKER: 'false', SWITCHBOARD_EXPIRY_SWEEP: '60s' });
  });
  afterAll(async () => {
    await node?.stop();
    await proxy?.stop();
    await database?.drop();
  });

  it('are judged with a fixed number of SQL statements', { timeout: 120_000 }, async () => {
    const client = registry.clients.create(node.url);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          client.request(RegisterServiceDocument, { input: instance({ id: `bulk-${batch}-${i}`, name: `bulk-${batch * 100 + i}` }) }),
        ),
      );
    }
    await client.request(SetServicePolicyDocument, { service: 'bulk-7', minInstances: 2 });
    const before = proxy.statements;
    const started = performance.now();
    const { serviceStates } = await client.request(ServiceStatesDocument, {});
    const elapsed = performance.now() - started;
    const statements = proxy.texts.slice(before);
    expect(serviceStates.services).toHaveLength(1000);
    expect(serviceStates.counts).toEqual({ active: 0, scaling: 1000, healing: 0, down: 0 });
    expect(serviceStates.services.find((service) => service.name === 'bulk-7')!.reasons).toContain('1 instance fewer than minInstances 2');
    // One statement judges them all; the rest is the event feed reading new events in the background.
    expect(statements.filter((text) => text.includes('service_policies')).length).toBe(1);
    expect(statements.length, statements.join('\n---\n')).toBeLessThanOrEqual(3);
    console.log(`serviceStates over 1,000 services: ${elapsed.toFixed(1)} ms, ${statements.length} SQL statement(s)`);
  });
});
