import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DiscoverServicesByTagDocument,
  DiscoverServicesDocument,
  EventsDocument,
  HeartbeatDocument,
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  ServiceDocument,
  ServiceHealthDocument,
  ServicesDocument,
  UnregisterServiceDocument,
} from '@switchboard/client';
import { errorCode, instance } from './support/client.js';
import { useRegistryNode } from './support/nodes.js';
import { eventually } from './support/wait.js';

// A slow sweep, so a lapsed lease stays observable (ttl.test.ts covers the sweep).
const registry = useRegistryNode({ SWITCHBOARD_EXPIRY_SWEEP: '60s' });

/** Removes every instance through the API (so each server's catalog hears of it). */
async function removeAll() {
  const rows = await registry.database.sql<{ id: string }[]>`select id from services`;
  for (const { id } of rows) await registry.client.request(UnregisterServiceDocument, { id });
}

afterEach(removeAll);

/** Waits until the database's clock, which stamps writes, is a millisecond past `timestamp`: the next write's stamp is later. */
const databaseClockPast = (timestamp: string) =>
  eventually(
    async () => {
      const [row] = await registry.database.sql<{ past: boolean }[]>`select now() > ${timestamp}::timestamptz + interval '1 millisecond' as past`;
      return row!.past ? true : undefined;
    },
    5_000,
    5,
  );

const register = (overrides: Parameters<typeof instance>[0] = {}) =>
  registry.client.request(RegisterServiceDocument, { input: instance(overrides) }).then((result) => result.registerService);

describe('registration', () => {
  it('stores every field of the definition and stamps the times', async () => {
    const before = Date.now();
    const registered = await register({
      id: 'orders-1',
      name: 'orders',
      version: 'v2.3.4',
      address: 'orders-1.internal.example.com',
      port: 9090,
      tags: ['http', 'eu-west', 'http'],
      metadata: { zone: 'eu-west-1a', team: 'payments' },
      endpoints: [
        {
          path: '/orders/{id}',
          method: 'get',
          description: 'One order',
          parameters: [{ name: 'id', in: 'PATH', type: 'uuid', required: true }],
          responses: [{ status: 200, description: 'The order', schema: { type: 'object', properties: { id: { type: 'string' } } } }, { status: 404 }],
        },
      ],
      protocols: ['HTTP', 'grpc'],
      weight: 5,
      priority: 2,
      ttl: '1m30s',
    });

    expect(registered).toMatchObject({
      id: 'orders-1',
      name: 'orders',
      version: '2.3.4',
      address: 'orders-1.internal.example.com',
      port: 9090,
      tags: ['http', 'eu-west'],
      metadata: { zone: 'eu-west-1a', team: 'payments' },
      protocols: ['http', 'grpc'],
      weight: 5,
      priority: 2,
      ttl: '1m30s',
      health: { status: 'PASSING' },
    });
    expect(registered.endpoints).toEqual([
      {
        path: '/orders/{id}',
        method: 'GET',
        description: 'One order',
        parameters: [{ name: 'id', in: 'PATH', type: 'uuid', required: true, description: null }],
        responses: [
          { status: 200, description: 'The order', schema: { type: 'object', properties: { id: { type: 'string' } } } },
          { status: 404, description: null, schema: null },
        ],
      },
    ]);
    const registeredAt = Date.parse(registered.registeredAt);
    expect(registeredAt).toBeGreaterThanOrEqual(before - 5_000);
    expect(registered.updatedAt).toBe(registered.registeredAt);
    expect(Date.parse(registered.expiresAt!) - Date.parse(registered.lastHeartbeatAt!)).toBe(90_000);

    const { service } = await registry.client.request(ServiceDocument, { id: 'orders-1' });
    expect(service).toEqual(registered);
  });

  it('applies defaults for what the definition leaves out', async () => {
    const registered = await register({ id: 'minimal-1' });
    expect(registered).toMatchObject({ tags: [], metadata: {}, endpoints: [], protocols: [], weight: 1, priority: 0, ttl: null, expiresAt: null });
  });

  it('upserts by id: the second registration updates, keeps registeredAt, and emits one event per real change', async () => {
    const first = await register({ id: 'upsert-1', version: '1.0.0', port: 8000 });
    const latestEventId = (await registry.client.request(EventsDocument, { types: ['service.*'] })).events.at(-1)!.id;

    await databaseClockPast(first.updatedAt);
    const second = await register({ id: 'upsert-1', version: '1.1.0', port: 8001 });
    expect(second).toMatchObject({ id: 'upsert-1', version: '1.1.0', port: 8001, registeredAt: first.registeredAt });
    expect(Date.parse(second.updatedAt)).toBeGreaterThan(Date.parse(first.updatedAt));

    // Unchanged re-registration (what agents do on every restart): no event.
    const third = await register({ id: 'upsert-1', version: '1.1.0', port: 8001 });
    expect(third.updatedAt).toBe(second.updatedAt);

    const { events } = await registry.client.request(EventsDocument, { types: ['service.*'], after: latestEventId });
    expect(events.map((event) => [event.type, (event.data as { created: boolean }).created])).toEqual([['service.registered', false]]);
    const rows = await registry.database.sql`select count(*)::int as n from services where id = 'upsert-1'`;
    expect(rows[0]!['n']).toBe(1);
  });

  it('concurrent first registrations of one id make one instance and one "created" event', async () => {
    const latestEventId = (await registry.client.request(EventsDocument, {})).events.at(-1)?.id ?? '0';
    const versions = Array.from({ length: 20 }, (_, i) => `1.0.${i}`);
    const results = await Promise.all(versions.map((version) => register({ id: 'raced-1', version })));
    expect(results.every((result) => result.id === 'raced-1')).toBe(true);

    const rows = await registry.database.sql`select version from services where id = 'raced-1'`;
    expect(rows).toHaveLength(1);
    const { events } = await registry.client.request(EventsDocument, { after: latestEventId, types: ['service.registered'] });
    const created = events.filter((event) => (event.data as { created: boolean }).created);
    expect(created).toHaveLength(1);
    // The last event describes the state that won.
    expect((events.at(-1)!.data as { instance: { version: string } }).instance.version).toBe(rows[0]!['version']);
  });

  it('unregisters, and says NOT_FOUND for an id it does not know', async () => {
    await register({ id: 'gone-1' });
    expect((await registry.client.request(UnregisterServiceDocument, { id: 'gone-1' })).unregisterService).toBe(true);
    expect((await registry.client.request(ServiceDocument, { id: 'gone-1' })).service).toBeNull();
    expect(await errorCode(registry.client.request(UnregisterServiceDocument, { id: 'gone-1' }))).toBe('NOT_FOUND');

    const { events } = await registry.client.request(EventsDocument, { types: ['service.unregistered'] });
    expect(events.at(-1)!.data).toMatchObject({ id: 'gone-1', reason: 'deregistered', instance: { id: 'gone-1' } });
  });

  it('heartbeat renews the lease; an unknown id is NOT_FOUND', async () => {
    const registered = await register({ id: 'beat-1', ttl: '10s' });
    await databaseClockPast(registered.updatedAt);
    const { heartbeat } = await registry.client.request(HeartbeatDocument, { id: 'beat-1' });
    expect(Date.parse(heartbeat.expiresAt!)).toBeGreaterThan(Date.parse(registered.expiresAt!));
    expect(Date.parse(heartbeat.expiresAt!) - Date.parse(heartbeat.lastHeartbeatAt!)).toBe(10_000);
    expect(await errorCode(registry.client.request(HeartbeatDocument, { id: 'no-such-instance' }))).toBe('NOT_FOUND');
  });
});

describe('discovery', () => {
  beforeAll(removeAll);

  const seed = async () => {
    await register({ id: 'api-a', name: 'api', version: '1.4.0', tags: ['http', 'eu'] });
    await register({ id: 'api-b', name: 'api', version: '2.0.1', tags: ['http', 'us'] });
    await register({ id: 'api-c', name: 'api', version: '2.1.0-beta.1', tags: ['grpc', 'eu'] });
    await register({ id: 'web-a', name: 'web', version: '1.0.0', tags: ['http', 'eu'] });
  };

  const ids = (instances: { id: string }[]) => instances.map((entry) => entry.id);

  it('by name, with tags (all must match) and semver ranges', async () => {
    await seed();
    const discover = (variables: { tags?: string[]; version?: string }) =>
      registry.client.request(DiscoverServicesDocument, { name: 'api', ...variables }).then((result) => ids(result.discoverServices));

    expect(await discover({})).toEqual(['api-a', 'api-b', 'api-c']);
    expect(await discover({ tags: ['http'] })).toEqual(['api-a', 'api-b']);
    expect(await discover({ tags: ['http', 'eu'] })).toEqual(['api-a']);
    expect(await discover({ tags: ['nope'] })).toEqual([]);
    expect(await discover({ version: '^2' })).toEqual(['api-b']);
    expect(await discover({ version: '>=1.4 <2' })).toEqual(['api-a']);
    expect(await discover({ version: '^2.1.0-beta' })).toEqual(['api-c']);
    expect(await discover({ version: '1.x || 2.x', tags: ['eu'] })).toEqual(['api-a']);
    expect(ids((await registry.client.request(DiscoverServicesDocument, { name: 'nobody' })).discoverServices)).toEqual([]);
  });

  it('by tag across services', async () => {
    await seed();
    const { discoverServicesByTag } = await registry.client.request(DiscoverServicesByTagDocument, { tag: 'eu' });
    expect(ids(discoverServicesByTag)).toEqual(['api-a', 'api-c', 'web-a']);
  });

  it('passingOnly leaves out instances that are not healthy', async () => {
    await seed();
    // A TTL check starts critical until the service reports in.
    await registry.client.request(RegisterHealthCheckDocument, { serviceId: 'api-b', check: { name: 'self-report', ttl: '1h' } });

    const passing = await registry.client.request(DiscoverServicesDocument, { name: 'api', passingOnly: true });
    expect(ids(passing.discoverServices)).toEqual(['api-a', 'api-c']);
    const all = await registry.client.request(DiscoverServicesDocument, { name: 'api', passingOnly: false });
    expect(all.discoverServices.find((entry) => entry.id === 'api-b')!.health.status).toBe('CRITICAL');
    expect((await registry.client.request(ServiceHealthDocument, { id: 'api-b' })).serviceHealth).toMatchObject({ status: 'CRITICAL' });
    expect(await errorCode(registry.client.request(ServiceHealthDocument, { id: 'nope' }))).toBe('NOT_FOUND');

    const { services } = await registry.client.request(ServicesDocument, {});
    expect(services).toEqual([
      { name: 'api', instances: 3, passing: 2, versions: ['2.1.0-beta.1', '2.0.1', '1.4.0'], tags: ['eu', 'grpc', 'http', 'us'] },
      { name: 'web', instances: 1, passing: 1, versions: ['1.0.0'], tags: ['eu', 'http'] },
    ]);
  });

  it('rejects a version that is not a semver range', async () => {
    expect(await errorCode(registry.client.request(DiscoverServicesDocument, { name: 'api', version: 'latest!!' }))).toBe('BAD_USER_INPUT');
  });
});
