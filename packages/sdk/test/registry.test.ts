import {
  RegisterComponentDocument,
  RegisterHealthCheckDocument,
  RegisterServiceDocument,
  SwitchboardRequestError,
  type SwitchboardClient,
} from '@switchboard/client';
import { SwitchboardError } from '@switchboard/contracts';
import { SwitchboardRegistry, type Component, type HealthCheck, type RegistryEvent, type ServiceDefinition } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/wait.js';
import { useRegistryNode } from '../../../test/support/nodes.js';

/** Every Registry method against a real server, and the SDK's own checks before a request is sent. */
const fixture = useRegistryNode();

/** A registry whose client counts the requests it sends, and fails the first `failures` with a network error. */
function countingRegistry(failures = 0) {
  const counter = { requests: 0 };
  const fetchImpl: typeof fetch = async (input, init) => {
    counter.requests += 1;
    if (counter.requests <= failures) throw new TypeError('fetch failed');
    return fetch(input, init);
  };
  const client = fixture.clients.create(fixture.node.url, undefined, { fetch: fetchImpl });
  return { registry: new SwitchboardRegistry(client, { registerBackoffMs: 20 }), counter, client };
}

describe('Registry methods round-trip', () => {
  it('registers, finds, checks and unregisters a service', async () => {
    const { registry } = countingRegistry();
    const registered = await registry.registerService({
      id: 'orders-1',
      name: 'orders',
      version: '1.2.3',
      address: '127.0.0.1',
      port: 7001,
      tags: ['api', 'eu'],
      metadata: { zone: 'eu-1' },
      endpoints: [{ path: '/orders/{id}', method: 'get', parameters: [{ name: 'id', in: 'path' }] }],
      ttl: '1m',
    });
    expect(registered).toMatchObject({ id: 'orders-1', name: 'orders', version: '1.2.3', port: 7001, metadata: { zone: 'eu-1' }, ttl: '1m' });
    expect(registered.endpoints).toEqual([{ path: '/orders/{id}', method: 'GET', description: null }]);

    expect(await registry.getService('orders-1')).toMatchObject({ id: 'orders-1', tags: ['api', 'eu'] });
    expect((await registry.discoverServices('orders', { version: '^1' })).map((instance) => instance.id)).toEqual(['orders-1']);
    expect(await registry.discoverServices('orders', { version: '^2' })).toEqual([]);
    expect((await registry.discoverServicesByTag('eu')).map((instance) => instance.id)).toEqual(['orders-1']);
    await registry.renewService('orders-1');

    const check = await registry.registerHealthCheck('orders-1', { name: 'alive', ttl: 30_000 });
    expect(check).toMatchObject({ serviceId: 'orders-1', name: 'alive', status: 'CRITICAL' });
    expect(await registry.getServiceHealth('orders-1')).toMatchObject({ status: 'CRITICAL' });
    expect(await registry.discoverServices('orders', { passingOnly: true })).toEqual([]);

    await registry.unregisterService('orders-1');
    expect(await registry.getService('orders-1')).toBeUndefined();
    await expect(registry.unregisterService('orders-1')).rejects.toMatchObject({ name: 'SwitchboardError', code: 'NOT_FOUND' });
  });

  it('registers, gets, lists and unregisters components', async () => {
    const { registry } = countingRegistry();
    const component: Component = { type: 'STEP', name: 'http-call', version: '1.0.0', dependencies: ['http-client@^1.2'], metadata: { retries: 2 } };
    const registered = await registry.registerComponent(component);
    expect(registered).toMatchObject({ id: 'http-call@1.0.0', type: 'STEP', dependencies: ['http-client@^1.2'], metadata: { retries: 2 } });
    expect(await registry.getComponent('http-call@1.0.0')).toMatchObject({ name: 'http-call' });
    expect((await registry.listComponents('STEP')).map((each) => each.id)).toContain('http-call@1.0.0');
    expect((await registry.listComponents('FLOW')).map((each) => each.id)).not.toContain('http-call@1.0.0');
    await registry.unregisterComponent('http-call@1.0.0');
    expect(await registry.getComponent('http-call@1.0.0')).toBeUndefined();
  });

  it('sets and gets configuration; watchConfig hears (key, old, new) until stopped', async () => {
    const { registry } = countingRegistry();
    expect(await registry.getConfig('api.rate_limit')).toBeUndefined();
    expect(await registry.setConfig('api.rate_limit', 100)).toMatchObject({ key: 'api.rate_limit', value: 100, version: 1 });
    expect(await registry.getConfig('api.rate_limit')).toBe(100);

    const heard: unknown[][] = [];
    const stop = await registry.watchConfig('api.rate_limit', (...args) => heard.push(args));
    await registry.setConfig('api.rate_limit', 250);
    await registry.setConfig('api.other', 1);
    await eventually(() => (heard.length >= 1 ? true : undefined));
    expect(heard).toEqual([['api.rate_limit', 100, 250]]);

    await stop();
    // A second watch on the same connection hears the next change: had the stopped one still been subscribed, the
    // server would have pushed it the same change alongside.
    const witnessed: unknown[][] = [];
    const stopWitness = await registry.watchConfig('api.rate_limit', (...args) => witnessed.push(args));
    try {
      await registry.setConfig('api.rate_limit', 300);
      await eventually(() => (witnessed.length >= 1 ? true : undefined), 10_000);
      expect(witnessed).toEqual([['api.rate_limit', 250, 300]]);
    } finally {
      await stopWitness();
    }
    expect(heard).toHaveLength(1);
  });

  it('subscribe delivers published events of its type only; publish returns the stored event', async () => {
    const { registry } = countingRegistry();
    const received: RegistryEvent[] = [];
    const stop = await registry.subscribe('deploy.finished', (event) => received.push(event));
    await registry.publish({ type: 'deploy.started', source: 'ci', data: { build: 6 } });
    const published = await registry.publish({ type: 'deploy.finished', source: 'ci', data: { build: 7 } });
    expect(published).toMatchObject({ type: 'deploy.finished', source: 'ci', data: { build: 7 } });
    await eventually(() => (received.length >= 1 ? true : undefined));
    await stop();
    expect(received).toEqual([published]);
  });
});

/** What the server itself answers to `send` (a request made without the SDK's checks). */
async function serverRefusal(client: SwitchboardClient, send: (client: SwitchboardClient) => Promise<unknown>) {
  try {
    await send(client);
  } catch (error) {
    if (!(error instanceof SwitchboardRequestError)) throw error;
    const { code, ...details } = error.errors[0]!.extensions!;
    return { code, message: error.errors[0]!.message, details };
  }
  throw new Error('the server accepted it');
}

async function localRefusal(attempt: Promise<unknown>) {
  const error = await attempt.then(
    () => {
      throw new Error('the registry accepted it');
    },
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SwitchboardError);
  const { code, message, details } = error as SwitchboardError;
  return { code, message, details };
}

describe('bad input', () => {
  const definitions: [string, ServiceDefinition][] = [
    ['a port out of range', { name: 'payments', port: 70_000 }],
    ['a name with spaces and a bad version', { name: 'pay ments', version: 'two' }],
    ['metadata that is not strings', { name: 'payments', metadata: { zone: 1 as unknown as string } }],
    ['a lease too short', { name: 'payments', ttl: '10ms' }],
    ['a check with an interval too short', { name: 'payments', healthCheck: { http: 'http://127.0.0.1:1/healthz', interval: '10ms' } }],
  ];

  it.each(definitions)('a definition with %s is refused before any request, with the issues the server gives', async (_what, definition) => {
    const { registry, counter, client } = countingRegistry();
    const local = await localRefusal(registry.registerService(definition));
    expect(counter.requests).toBe(0);
    // Durations here are written as the wire writes them: the definition goes as it is.
    const server = await serverRefusal(client, (raw) => raw.request(RegisterServiceDocument, { input: definition as never }));
    expect(local).toEqual(server);
    expect(local.code).toBe('BAD_USER_INPUT');
  });

  it('a bad check or component is refused before any request, with the issues the server gives', async () => {
    const { registry, counter, client } = countingRegistry();
    await registry.registerService({ name: 'checked', address: '127.0.0.1' });
    counter.requests = 0;
    const check: HealthCheck = { ttl: '1h', headers: { 'bad header': 'x' }, timeout: '1ms' };
    expect(await localRefusal(registry.registerHealthCheck('checked', check))).toEqual(
      await serverRefusal(client, (raw) => raw.request(RegisterHealthCheckDocument, { serviceId: 'checked', check: check as never })),
    );
    const component: Component = { type: 'STEP', name: 'step', version: '1.0', dependencies: ['not a reference'] };
    expect(await localRefusal(registry.registerComponent(component))).toEqual(
      await serverRefusal(client, (raw) =>
        raw.request(RegisterComponentDocument, { input: { ...component, dependencies: ['not a reference'], flows: undefined } }),
      ),
    );
    expect(counter.requests).toBe(2); // the raw requests only
  });

  it("surfaces the server's BAD_USER_INPUT unchanged when only the server can tell, without retrying it", async () => {
    const { registry, counter, client } = countingRegistry();
    // Two kinds in one check: the contracts' schema allows each field, the server's registration refuses the pair.
    const definition: ServiceDefinition = { name: 'twofold', address: '127.0.0.1', healthCheck: { http: 'http://127.0.0.1:1/', tcp: '127.0.0.1:1' } };
    const refused = await localRefusal(registry.registerService(definition));
    expect(counter.requests).toBe(1);
    expect(refused).toEqual(await serverRefusal(client, (raw) => raw.request(RegisterServiceDocument, { input: definition as never })));
  });
});

describe('registration retry (the seed: 3 attempts, doubling backoff)', () => {
  it('retries a registration the network lost, up to 3 attempts', async () => {
    const { registry, counter } = countingRegistry(2);
    const started = Date.now();
    expect(await registry.registerService({ name: 'flaky', address: '127.0.0.1' })).toMatchObject({ id: 'flaky' });
    expect(counter.requests).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(20 + 40);
  });

  it('gives up after the third attempt', async () => {
    const { registry, counter } = countingRegistry(3);
    await expect(registry.registerService({ name: 'flakier', address: '127.0.0.1' })).rejects.toThrow('fetch failed');
    expect(counter.requests).toBe(3);
    expect(await registry.getService('flakier')).toBeUndefined();
  });
});
