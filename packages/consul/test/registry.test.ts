import { CreateTokenDocument } from '@switchboard/client';
import { MetaKey, type ConsulRegistry } from '@switchboard/consul';
import { ServiceDiscovery, type RegistryEvent, type ServiceInstance } from '@switchboard/sdk';
import { tsImport } from 'tsx/esm/api';
import { beforeAll, describe, expect, it } from 'vitest';
import { feedWaiters, feedWaitersReach } from '../../../test/support/feed-waiters.js';
import { useRegistryNode } from '../../../test/support/nodes.js';
import { eventually, withTimeout } from '../../../test/support/wait.js';
import { consulApi, consulRegistry, signal, warnings } from './support/helpers.js';
import { startRecordingProxy } from './support/recording-proxy.js';
import type * as ServicesFixture from './support/services.js';

/**
 * ConsulRegistry against Switchboard's own Consul-compatible API (/v1 on the node's port), which needs a
 * token for writes as production does. What the registry writes is also read back through the API as any
 * Consul client would see it.
 */
const ADMIN = 'consul-registry-test-admin-token-0123456789';
const fixture = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: ADMIN });

let address: string;
let api: ReturnType<typeof consulApi>;
beforeAll(() => {
  address = `127.0.0.1:${fixture.node.port}`;
  api = consulApi(address, ADMIN);
});

const ids = (instances: readonly Pick<ServiceInstance, 'id'>[]) => instances.map((instance) => instance.id).sort();

async function tokenWith(scopes: ('READ' | 'WRITE')[]): Promise<string> {
  const admin = fixture.clients.create(fixture.node.url, ADMIN);
  const { createToken } = await admin.request(CreateTokenDocument, { input: { name: `consul-pkg-${scopes.join('-')}`, scopes } });
  return createToken.token;
}

interface ConsulCheck {
  CheckID: string;
  Status: string;
  Type: string;
  Output: string;
  ServiceID: string;
}

describe('registration', () => {
  it('registers with a lease and an HTTP check, reads back what Consul has no field for, renews the lease, and unregisters', async () => {
    const registry = consulRegistry({ address, token: ADMIN });
    try {
      const registered = await registry.registerService({
        id: 'orders-1',
        name: 'orders',
        version: '1.2.3',
        address: '127.0.0.1',
        port: 7001,
        tags: ['api', 'eu'],
        metadata: { zone: 'eu-1' },
        endpoints: [{ path: '/orders/{id}', method: 'get', description: 'One order' }],
        protocols: ['http', 'grpc'],
        weight: 0,
        priority: 3,
        ttl: '30s',
        healthCheck: { http: 'http://127.0.0.1:9/health', interval: '1m', timeout: '1s' },
      });
      expect(registered).toMatchObject({
        id: 'orders-1',
        name: 'orders',
        version: '1.2.3',
        address: '127.0.0.1',
        port: 7001,
        tags: ['api', 'eu'],
        metadata: { zone: 'eu-1' },
        endpoints: [{ path: '/orders/{id}', method: 'GET', description: 'One order' }],
        protocols: ['http', 'grpc'],
        weight: 0,
        priority: 3,
        ttl: '30s',
      });
      // What another Consul client sees: the lease as a TTL check (passing: registering renewed it) and the HTTP check.
      const checks = (await api.get('/v1/health/checks/orders')).json<ConsulCheck[]>();
      expect(checks.map((check) => [check.CheckID, check.Type])).toEqual([
        ['service:orders-1', 'ttl'],
        ['service:orders-1:check', 'http'],
      ]);
      expect(checks.find((check) => check.Type === 'ttl')!.Status).toBe('passing');
      expect((await api.get('/v1/agent/service/orders-1')).json<{ Meta: Record<string, string> }>().Meta).toMatchObject({
        zone: 'eu-1',
        [MetaKey.version]: '1.2.3',
        [MetaKey.weight]: '0',
      });

      // Discovery with every filter.
      expect(ids(await registry.discoverServices('orders'))).toEqual(['orders-1']);
      expect(ids(await registry.discoverServices('orders', { version: '^1' }))).toEqual(['orders-1']);
      expect(await registry.discoverServices('orders', { version: '^2' })).toEqual([]);
      expect(ids(await registry.discoverServices('orders', { tags: ['eu', 'api'] }))).toEqual(['orders-1']);
      expect(await registry.discoverServices('orders', { tags: ['us'] })).toEqual([]);
      expect(ids(await registry.discoverServicesByTag('eu'))).toEqual(['orders-1']);
      await expect(registry.discoverServices('orders', { version: 'not a range' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    } finally {
      await registry.close();
    }
  });

  it('renews a lease that lapsed: renewService passes the TTL check, and discovery sees the instance passing again', async () => {
    const registry = consulRegistry({ address, token: ADMIN });
    try {
      await registry.registerService({ id: 'leased-1', name: 'leased', address: '127.0.0.1', port: 7002, ttl: '30s' });
      expect(ids(await registry.discoverServices('leased', { passingOnly: true }))).toEqual(['leased-1']);
      // The lease lapsing, as Consul marks it when no renewal comes in time.
      await api.put('/v1/agent/check/fail/service:leased-1?note=lapsed');
      expect(await registry.discoverServices('leased', { passingOnly: true })).toEqual([]);
      expect(await registry.getServiceHealth('leased-1')).toMatchObject({ status: 'CRITICAL', output: 'lapsed', checkCount: 1, failureCount: 1 });

      await registry.renewService('leased-1');
      expect(ids(await registry.discoverServices('leased', { passingOnly: true }))).toEqual(['leased-1']);
      expect(await registry.getServiceHealth('leased-1')).toMatchObject({ status: 'PASSING', failureCount: 0 });

      await registry.unregisterService('leased-1');
      expect(await registry.getService('leased-1')).toBeUndefined();
      expect(await registry.discoverServices('leased')).toEqual([]);
      await expect(registry.unregisterService('leased-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // A lease the agent no longer has: NOT_FOUND, which is what makes start()'s keeper register again.
      await expect(registry.renewService('leased-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await registry.close();
    }
  });

  it('adds checks of every kind to an instance, each answered as Consul then shows it', async () => {
    const registry = consulRegistry({ address, token: ADMIN, defaultInterval: '45s' });
    try {
      await registry.registerService({ id: 'checked-1', name: 'checked', address: '127.0.0.1', port: 7003 });
      expect(await registry.getServiceHealth('checked-1')).toMatchObject({ status: 'PASSING', checkCount: 0 });
      const ttl = await registry.registerHealthCheck('checked-1', { name: 'heartbeat', ttl: '1m' });
      expect(ttl).toMatchObject({ serviceId: 'checked-1', name: 'heartbeat', status: 'CRITICAL' });
      const tcp = await registry.registerHealthCheck('checked-1', { tcp: '127.0.0.1:9' });
      const grpc = await registry.registerHealthCheck('checked-1', { grpc: '127.0.0.1:9/health', grpcUseTls: false, interval: '20s' });
      const checks = (await api.get('/v1/health/checks/checked')).json<(ConsulCheck & { Interval: string })[]>();
      expect(checks.map((check) => [check.CheckID, check.Type, check.Interval]).sort()).toEqual(
        [
          [ttl.id, 'ttl', ''],
          [tcp.id, 'tcp', '45s'],
          [grpc.id, 'grpc', '20s'],
        ].sort(),
      );
      // Registering the same check again updates it: its id comes from its target.
      expect((await registry.registerHealthCheck('checked-1', { tcp: '127.0.0.1:9', timeout: '2s' })).id).toBe(tcp.id);
      expect((await api.get('/v1/health/checks/checked')).json<unknown[]>()).toHaveLength(3);

      // With no lease of its own, renewService passes the TTL check it was given.
      await registry.renewService('checked-1');
      const passed = (await api.get('/v1/health/checks/checked')).json<ConsulCheck[]>().find((check) => check.CheckID === ttl.id);
      expect(passed!.Status).toBe('passing');
      await expect(registry.registerHealthCheck('nobody-1', { ttl: '1m' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await registry.unregisterService('checked-1');
    } finally {
      await registry.close();
    }
  });

  it('refuses before sending: a bad definition, reserved metadata, endpoints too big for Meta, an ephemeral registration', async () => {
    const proxy = await startRecordingProxy(fixture.node.port!);
    const registry = consulRegistry({ address: proxy.address, token: ADMIN });
    try {
      await expect(registry.registerService({ name: 'bad name' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(registry.registerService({ name: 'reserved', metadata: { [MetaKey.weight]: '5' } })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      const endpoints = Array.from({ length: 100 }, (_, n) => ({ path: `/things/${n}`, method: 'GET', description: 'd'.repeat(400) }));
      await expect(registry.registerService({ name: 'too-big', endpoints })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        message: expect.stringMatching(/Meta/),
      });
      await expect(registry.registerService({ name: 'ephemeral' }, { ephemeral: true })).rejects.toMatchObject({
        code: 'NOT_SUPPORTED',
        message: expect.stringContaining(registry.backend),
      });
      await expect(registry.registerHealthCheck('x-1', { http: 'http://127.0.0.1/', tcp: '127.0.0.1:1' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(proxy.requests).toEqual([]);
    } finally {
      await registry.close();
      await proxy.close();
    }
  });

  it('keeps endpoints that take several Meta values, and reads an instance whose Meta it did not write', async () => {
    const { messages, onWarning } = warnings();
    const registry = consulRegistry({ address, token: ADMIN, onWarning });
    try {
      const endpoints = Array.from({ length: 12 }, (_, n) => ({ path: `/things/${n}`, method: 'GET', description: `Thing ${n}: ${'é'.repeat(100)}` }));
      const registered = await registry.registerService({ id: 'wide-1', name: 'wide', address: '127.0.0.1', port: 7004, endpoints });
      expect(registered.endpoints).toEqual(endpoints);
      const meta = (await api.get('/v1/agent/service/wide-1')).json<{ Meta: Record<string, string> }>().Meta;
      expect(Object.keys(meta).filter((key) => key.startsWith(MetaKey.endpoints)).length).toBeGreaterThan(3);

      // Another client's registration, with Meta under our keys that is not what we write.
      await api.put('/v1/agent/service/register', {
        ID: 'odd-1',
        Name: 'wide',
        Address: '127.0.0.2',
        Port: 7005,
        Meta: { [MetaKey.weight]: 'heavy', [MetaKey.version]: 'one', [`${MetaKey.endpoints}-0`]: '[{"path":', zone: 'x' },
        Weights: { Passing: 7, Warning: 1 },
      });
      const odd = (await registry.discoverServices('wide')).find((instance) => instance.id === 'odd-1');
      expect(odd).toMatchObject({ address: '127.0.0.2', port: 7005, weight: 7, version: null, endpoints: [], metadata: { zone: 'x' } });
      expect(messages.join('\n')).toMatch(/odd-1.*switchboard-weight/);
      expect(messages.join('\n')).toMatch(/odd-1.*switchboard-endpoints-0/);
      expect(ids(await registry.discoverServices('wide'))).toEqual(['odd-1', 'wide-1']);
      await registry.unregisterService('wide-1');
      await registry.unregisterService('odd-1');
    } finally {
      await registry.close();
    }
  });
});

describe('watching', () => {
  it('watchService delivers a change by blocking query, and stop() aborts the request held on the server', async () => {
    const proxy = await startRecordingProxy(fixture.node.port!);
    const watcher = consulRegistry({ address: proxy.address, token: ADMIN });
    const writer = consulRegistry({ address, token: ADMIN });
    try {
      const sets: string[][] = [];
      const arrived = signal();
      const parkedBefore = feedWaiters(fixture.node);
      const stop = await watcher.watchService('pushed', (instances) => {
        sets.push(ids(instances));
        if (ids(instances).includes('pushed-1')) arrived.resolve();
      });
      expect(sets).toEqual([[]]);
      await feedWaitersReach(fixture.node, parkedBefore + 1); // its blocking query is parked on the server
      await writer.registerService({ id: 'pushed-1', name: 'pushed', address: '127.0.0.1', port: 7010 });
      await withTimeout(arrived.promise, 5_000, 'the watch did not deliver the registration');
      expect(sets.at(-1)).toEqual(['pushed-1']);
      // It came as the answer to a blocking query: ?index=<the last X-Consul-Index>&wait=.
      const blocking = proxy.requests.filter((request) => request.path === '/v1/health/service/pushed' && request.query.some(([name]) => name === 'index'));
      expect(blocking.length).toBeGreaterThanOrEqual(1);
      expect(blocking[0]!.query.map(([name]) => name).sort()).toEqual(['index', 'wait']);

      await eventually(() => (proxy.held() === 1 ? true : undefined));
      await stop();
      // Aborted at once, not left to run out its minute's wait: the proxy and the server see the client leave.
      await eventually(() => (proxy.held() === 0 ? true : undefined), 2_000);
      await eventually(() => (feedWaiters(fixture.node) === parkedBefore ? true : undefined), 2_000);
      await writer.unregisterService('pushed-1');
    } finally {
      await watcher.close();
      await writer.close();
      await proxy.close();
    }
  });

  it("follows Consul's index rules: backwards resets to 0, 0 is never sent back, and a churning answer is rate limited", async () => {
    const proxy = await startRecordingProxy(fixture.node.port!);
    const registry = consulRegistry({ address: proxy.address, token: ADMIN, watchRateLimit: { burst: 2, interval: '150ms' } });
    const writer = consulRegistry({ address, token: ADMIN });
    const indexes = () =>
      proxy.requests.filter((request) => request.path === '/v1/health/service/indexed').map((request) => new Map(request.query).get('index'));
    // An instance first: the service's index is then above 1, and can be seen going below it.
    await writer.registerService({ id: 'indexed-0', name: 'indexed', address: '127.0.0.1', port: 7030 });
    const stop = await registry.watchService('indexed', () => {});
    try {
      await eventually(() => (indexes().length === 2 && proxy.held() === 1 ? true : undefined));
      const [first, blocking] = indexes();
      expect(first).toBeUndefined();
      expect(Number(blocking)).toBeGreaterThan(1);

      // The answer to the held query says an index below the one it was asked with: a restored snapshot, say.
      proxy.rewriteIndex((request) => (new Map(request.query).get('index') === blocking ? '1' : undefined));
      await writer.registerService({ id: 'indexed-1', name: 'indexed', address: '127.0.0.1', port: 7030 });
      await eventually(() => (indexes().length >= 4 ? true : undefined));
      const [, , reset, resumed] = indexes();
      expect(reset).toBeUndefined(); // index 0: read afresh, without blocking
      expect(Number(resumed)).toBeGreaterThan(Number(blocking)); // then block again on the real index

      // A server that answers index 0: the loop asks with 1 (which blocks on a real Consul); here every answer comes
      // at once, and the token bucket spaces the answers that bring nothing new: 2 at once, then one per 150 ms.
      proxy.rewriteIndex(() => '0');
      const from = indexes().length;
      const started = performance.now();
      await writer.registerService({ id: 'indexed-2', name: 'indexed', address: '127.0.0.1', port: 7030 });
      await eventually(() => (indexes().length >= from + 7 ? true : undefined), 10_000, 5);
      const elapsed = performance.now() - started;
      expect(indexes().slice(from, from + 7)).toEqual(['1', '1', '1', '1', '1', '1', '1']);
      // Seven requests: the one after the answer with indexed-2 free, two from the burst, then four intervals at
      // least (some timer slack allowed): not a hot loop.
      expect(elapsed).toBeGreaterThanOrEqual(3.5 * 150);
    } finally {
      proxy.rewriteIndex(undefined);
      await stop();
      await registry.close();
      await writer.unregisterService('indexed-0').catch(() => {});
      await writer.unregisterService('indexed-1').catch(() => {});
      await writer.unregisterService('indexed-2').catch(() => {});
      await writer.close();
      await proxy.close();
    }
  });

  it('delivers a stream of real changes as they happen: only answers without news spend the rate limit', async () => {
    // One token, refilled once a minute: were changes charged, the second would wait a minute.
    const registry = consulRegistry({ address, token: ADMIN, watchRateLimit: { burst: 1, interval: '60s' } });
    const writer = consulRegistry({ address, token: ADMIN });
    const sets: number[] = [];
    const stop = await registry.watchService('streamed', (instances) => sets.push(instances.length));
    try {
      for (let i = 1; i <= 5; i++) {
        await writer.registerService({ id: `streamed-${i}`, name: 'streamed', address: '127.0.0.1', port: 7040 + i });
        await eventually(() => (sets.at(-1) === i ? true : undefined), 5_000);
      }
    } finally {
      await stop();
      await registry.close();
      for (let i = 1; i <= 5; i++) await writer.unregisterService(`streamed-${i}`).catch(() => {});
      await writer.close();
    }
  });

  it('a ServiceDiscovery over a ConsulRegistry is told of a change pushed by its watch', async () => {
    const registry = consulRegistry({ address, token: ADMIN });
    const discovery = new ServiceDiscovery({ registry });
    try {
      await registry.registerService({ id: 'cached-1', name: 'cached', address: '127.0.0.1', port: 7011 });
      expect(ids(await discovery.instances('cached'))).toEqual(['cached-1']);
      const changed = signal();
      discovery.onChange((service) => service === 'cached' && changed.resolve());
      await registry.registerService({ id: 'cached-2', name: 'cached', address: '127.0.0.2', port: 7011 });
      await withTimeout(changed.promise, 5_000, 'the cache was not told');
      expect(ids(discovery.cached('cached')!.instances)).toEqual(['cached-1', 'cached-2']);
      expect(discovery.cached('cached')!.stale).toBe(false);
    } finally {
      await discovery.close();
      await registry.close();
    }
  });

  it('watchCatalog follows every service: one added, an instance removed, a service gone', async () => {
    const registry = consulRegistry({ address, token: ADMIN });
    const sets: string[][] = [];
    const stop = await registry.watchCatalog((instances) => sets.push(ids(instances).filter((id) => id.startsWith('cat-'))));
    try {
      await registry.registerService({ id: 'cat-a-1', name: 'cat-a', address: '127.0.0.1', port: 7020 });
      await eventually(() => (sets.at(-1)?.includes('cat-a-1') ? true : undefined));
      await registry.registerService({ id: 'cat-b-1', name: 'cat-b', address: '127.0.0.1', port: 7021 });
      await registry.registerService({ id: 'cat-b-2', name: 'cat-b', address: '127.0.0.2', port: 7021 });
      await eventually(() => (sets.at(-1)?.join() === 'cat-a-1,cat-b-1,cat-b-2' ? true : undefined));
      await registry.unregisterService('cat-b-1');
      await eventually(() => (sets.at(-1)?.join() === 'cat-a-1,cat-b-2' ? true : undefined));
      await registry.unregisterService('cat-a-1');
      await eventually(() => (sets.at(-1)?.join() === 'cat-b-2' ? true : undefined));
      await registry.unregisterService('cat-b-2');
      await eventually(() => (sets.at(-1)?.join() === '' ? true : undefined));
    } finally {
      await stop();
      await registry.close();
    }
  });
});

describe('configuration', () => {
  it('sets, gets and watches a key in KV, where other Consul clients read its JSON; a deletion and a foreign value are handled', async () => {
    const { messages, onWarning } = warnings();
    const registry = consulRegistry({ address, token: ADMIN, onWarning });
    const changes: unknown[][] = [];
    const stop = await registry.watchConfig('payments.limits', (...change) => changes.push(change));
    try {
      const entry = await registry.setConfig('payments.limits', { rps: 10, burst: [1, 2] });
      expect(entry).toMatchObject({ key: 'payments.limits', value: { rps: 10, burst: [1, 2] } });
      expect(entry.version).toBeGreaterThan(0);
      expect(await registry.getConfig('payments.limits')).toEqual({ rps: 10, burst: [1, 2] });
      const raw = await api.get('/v1/kv/switchboard/config/payments/limits?raw');
      expect(JSON.parse(raw.text)).toEqual({ rps: 10, burst: [1, 2] });
      await registry.setConfig('payments.limits', 'slow');
      await eventually(() => (changes.length === 2 ? true : undefined));

      // Another client writes something that is not JSON: warned of, not delivered, and read as absent.
      await api.put('/v1/kv/switchboard/config/payments/limits', 'not json at all');
      await eventually(() => (messages.some((message) => message.includes('does not hold JSON')) ? true : undefined));
      expect(await registry.getConfig('payments.limits')).toBeUndefined();
      await api.delete('/v1/kv/switchboard/config/payments/limits');
      await eventually(() => (changes.length === 3 ? true : undefined));
      expect(changes).toEqual([
        ['payments.limits', undefined, { rps: 10, burst: [1, 2] }],
        ['payments.limits', { rps: 10, burst: [1, 2] }, 'slow'],
        ['payments.limits', 'slow', undefined],
      ]);
      expect(await registry.getConfig('payments.limits')).toBeUndefined();
    } finally {
      await stop();
      await registry.close();
    }
  });

  it('refuses a bad key or a value over the limit before sending anything', async () => {
    const proxy = await startRecordingProxy(fixture.node.port!);
    const registry = consulRegistry({ address: proxy.address, token: ADMIN });
    try {
      await expect(registry.setConfig('a/b', 1)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(registry.setConfig('huge', 'x'.repeat(200 * 1024))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(registry.getConfig('no spaces')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(proxy.requests).toEqual([]);
    } finally {
      await registry.close();
      await proxy.close();
    }
  });
});

describe('components', () => {
  it('registers, lists by type, keeps the first registration time, skips what it did not write, and unregisters', async () => {
    const { messages, onWarning } = warnings();
    const registry = consulRegistry({ address, token: ADMIN, onWarning });
    try {
      const first = await registry.registerComponent({ type: 'STEP', name: 'http-client', version: '1.2.0', dependencies: ['retry@^1'], metadata: { a: 1 } });
      expect(first).toMatchObject({ id: 'http-client@1.2.0', type: 'STEP', dependencies: ['retry@^1'], metadata: { a: 1 }, description: null });
      const again = await registry.registerComponent({ type: 'STEP', name: 'http-client', version: '1.2.0', description: 'Calls out' });
      expect(again.registeredAt).toBe(first.registeredAt);
      expect(again.description).toBe('Calls out');
      await registry.registerComponent({ id: 'json-1', type: 'TRANSFORMER', name: 'Json Transformer', version: '1.0.0' });
      // Under the prefix, but not a component as written here.
      await api.put('/v1/kv/switchboard/components/garbage', '{"id": "garbage"}');
      await api.put('/v1/kv/switchboard/components/text', 'plain text');

      expect((await registry.listComponents()).map((component) => component.id)).toEqual(['http-client@1.2.0', 'json-1']);
      expect((await registry.listComponents('TRANSFORMER')).map((component) => component.id)).toEqual(['json-1']);
      expect(await registry.getComponent('http-client@1.2.0')).toEqual(again);
      expect(messages.join('\n')).toMatch(/components\/garbage.*not a component/);
      expect(messages.join('\n')).toMatch(/components\/text.*does not hold JSON/);

      await registry.unregisterComponent('http-client@1.2.0');
      expect(await registry.getComponent('http-client@1.2.0')).toBeUndefined();
      await expect(registry.unregisterComponent('http-client@1.2.0')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(registry.registerComponent({ type: 'NOPE' as 'STEP', name: 'x', version: '1.0.0' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    } finally {
      await registry.close();
    }
  });
});

describe('events', () => {
  it('delivers published events by pattern, in order, skipping what is not an event; refuses reserved types', async () => {
    const { messages, onWarning } = warnings();
    const publisher = consulRegistry({ address, token: ADMIN });
    const subscriber = consulRegistry({ address, token: ADMIN, onWarning });
    const received: RegistryEvent[] = [];
    const stop = await subscriber.subscribe(['deploy.*', 'audit.login'], (event) => received.push(event));
    try {
      const one = await publisher.publish({ type: 'deploy.started', source: 'ci', data: { sha: 'abc' } });
      await publisher.publish({ type: 'other.thing', source: 'ci' });
      const two = await publisher.publish({ type: 'audit.login', source: 'web', data: { user: 'ann' } });
      await api.put('/v1/kv/switchboard/events/209901010000/not-an-event', '{"type": "deploy.fake"}');
      const three = await publisher.publish({ type: 'deploy.finished', source: 'ci' });
      await eventually(() => (received.length === 3 ? true : undefined));
      expect(received.map((event) => event.id)).toEqual([one.id, two.id, three.id]);
      expect(received[0]).toEqual(one);
      expect(messages.join('\n')).toMatch(/not-an-event.*not an event/);

      await expect(publisher.publish({ type: 'service.registered', source: 'me' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(publisher.publish({ type: 'big.data', source: 'me', data: { blob: 'x'.repeat(70 * 1024) } })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    } finally {
      await stop();
      await api.delete('/v1/kv/switchboard/events/209901010000?recurse');
      await publisher.close();
      await subscriber.close();
    }
  });
});

describe('service events', () => {
  it('reads service.registered and service.unregistered off the catalog, whoever made the change', async () => {
    const registry = consulRegistry({ address, token: ADMIN });
    const received: RegistryEvent[] = [];
    const stop = await registry.subscribe('service.*', (event) => event.data['name'] === 'evented' && received.push(event));
    try {
      await registry.registerService({ id: 'evented-1', name: 'evented', address: '127.0.0.1', port: 7040, tags: ['a'] });
      await eventually(() => (received.length === 1 ? true : undefined));
      // Another client changes the registration, then removes it; a health change alone is not an event.
      await api.put('/v1/agent/service/register', { ID: 'evented-1', Name: 'evented', Address: '127.0.0.1', Port: 7040, Tags: ['b'], Check: { TTL: '1m' } });
      await eventually(() => (received.length === 2 ? true : undefined));
      await api.put('/v1/agent/check/pass/service:evented-1');
      await api.put('/v1/agent/service/deregister/evented-1');
      await eventually(() => (received.length === 3 ? true : undefined));
      expect(received.map((event) => [event.type, event.data['created'] ?? event.data['reason']])).toEqual([
        ['service.registered', true],
        ['service.registered', false],
        ['service.unregistered', 'deregistered'],
      ]);
      expect(received[0]!.data).toMatchObject({ id: 'evented-1', service_id: 'evented-1', service_name: 'evented', address: '127.0.0.1:7040' });
      expect(received[0]!.source).toBe('switchboard');
    } finally {
      await stop();
      await registry.close();
    }
  });

  it("start()'s keeper registers again an instance another client deregistered", async () => {
    const services = (await tsImport('./support/services.ts', import.meta.url)) as typeof ServicesFixture;
    const registry = consulRegistry({ address, token: ADMIN });
    const running = await services.start(services.plainService('kept'), { registry, handleSignals: false, address: '127.0.0.1' });
    try {
      expect(await registry.getService(running.id)).toBeDefined();
      await api.put(`/v1/agent/service/deregister/${running.id}`);
      expect((await api.get(`/v1/agent/service/${running.id}`)).status).toBe(404);
      await eventually(async () => ((await api.get(`/v1/agent/service/${running.id}`)).status === 200 ? true : undefined));
    } finally {
      await running.stop();
      await registry.close();
    }
    expect((await api.get(`/v1/agent/service/${running.id}`)).status).toBe(404);
  });
});

describe('tokens', () => {
  it('a wrong token or none is UNAUTHENTICATED, a READ token writing is FORBIDDEN, and each names the backend', async () => {
    const reader = await tokenWith(['READ']);
    const wrong = consulRegistry({ address, token: 'not-a-token-at-all-0000000000' });
    const none = consulRegistry({ address });
    const readOnly = consulRegistry({ address, token: reader });
    try {
      const refused = await wrong.discoverServices('orders').catch((error: unknown) => error);
      expect(refused).toMatchObject({ name: 'SwitchboardError', code: 'UNAUTHENTICATED', message: expect.stringContaining(`consul http://${address}`) });
      await expect(none.registerService({ name: 'anonymous' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(wrong.health()).resolves.toMatchObject({ healthy: false, error: expect.stringContaining('ACL not found') });

      expect(await readOnly.discoverServices('nothing-here')).toEqual([]);
      const forbidden = await readOnly.registerService({ name: 'read-only' }).catch((error: unknown) => error);
      expect(forbidden).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining(`consul http://${address}`) });
      await expect(readOnly.setConfig('read.only', 1)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(readOnly.watchService('orders', () => {})).resolves.toBeTypeOf('function');
    } finally {
      await Promise.all([wrong.close(), none.close(), readOnly.close()]);
    }
  });
});

describe('health', () => {
  it('answers from /v1/status/leader with its latency', async () => {
    const registry: ConsulRegistry = consulRegistry({ address, token: ADMIN });
    try {
      expect(registry.backend).toBe(`consul http://${address}`);
      const health = await registry.health();
      expect(health).toMatchObject({ backend: registry.backend, healthy: true, error: null });
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    } finally {
      await registry.close();
    }
  });
});
