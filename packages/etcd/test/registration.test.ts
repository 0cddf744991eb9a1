import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SwitchboardError } from '@switchboard/contracts';
import { ServiceDiscovery } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { eventually, sleep, withTimeout } from '../../../test/support/wait.js';
import { etcdMissing } from './support/etcd-server.js';
import { openClient, openRegistry, useEtcd } from './support/registries.js';

/** Registration, leases, discovery and health checks of the EtcdRegistry against a real etcd. */
const missing = etcdMissing();
if (missing) console.warn(`etcd tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('EtcdRegistry: registration and discovery', () => {
  const etcd = useEtcd();

  it('registers, discovers by name, tag and version, gets and unregisters an instance', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: observer } = openRegistry(etcd.server.endpoint);
    try {
      const registered = await registry.registerService({
        id: 'orders-1',
        name: 'orders',
        version: 'v1.2.3',
        address: '127.0.0.1',
        port: 7001,
        tags: ['api', 'eu'],
        metadata: { zone: 'eu-1' },
        weight: 5,
      });
      await registry.registerService({ id: 'orders-2', name: 'orders', version: '2.0.0', address: '127.0.0.2', port: 7002, tags: ['api'] });
      expect(registered).toMatchObject({ id: 'orders-1', name: 'orders', version: '1.2.3', address: '127.0.0.1', port: 7001, weight: 5, ttl: '30s' });
      expect(registered.health).toEqual({ status: 'PASSING', output: '' });
      expect(registry.backend).toBe(`etcd ${etcd.server.address}`);

      const found = await observer.discoverServices('orders');
      expect(found.map((instance) => instance.id)).toEqual(['orders-1', 'orders-2']);
      // The answer to the registration and the next read are built from the same value.
      const { lastHeartbeatAt: _a, expiresAt: _b, ...answer } = registered;
      expect(found[0]).toMatchObject(answer);
      expect((await observer.discoverServices('orders', { version: '^1' })).map((instance) => instance.id)).toEqual(['orders-1']);
      expect((await observer.discoverServices('orders', { tags: ['eu'] })).map((instance) => instance.id)).toEqual(['orders-1']);
      expect((await observer.discoverServicesByTag('eu')).map((instance) => instance.id)).toEqual(['orders-1']);
      const got = await observer.getService('orders-1');
      expect(got).toMatchObject({ id: 'orders-1', metadata: { zone: 'eu-1' } });
      expect(Date.parse(got!.expiresAt!)).toBeGreaterThan(Date.now());

      await registry.unregisterService('orders-1');
      expect((await observer.discoverServices('orders')).map((instance) => instance.id)).toEqual(['orders-2']);
      expect(await observer.getService('orders-1')).toBeUndefined();
      // Another process's instance is unregistered too (its key deleted); an unknown id is NOT_FOUND.
      await observer.unregisterService('orders-2');
      expect(await registry.discoverServices('orders')).toEqual([]);
      await expect(observer.unregisterService('orders-2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await Promise.all([registry.close(), observer.close()]);
    }
  });

  it('replaces an instance registered again with the same id, under a new lease', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    try {
      await registry.registerService({ id: 'cart-1', name: 'cart', address: '10.0.0.1', port: 80 });
      const firstLease = (await raw.client.get('/services/cart/cart-1').exec()).kvs[0]!.lease;
      await registry.registerService({ id: 'cart-1', name: 'cart', address: '10.0.0.2', port: 81 });
      const instances = await registry.discoverServices('cart');
      expect(instances.map(({ id, address, port }) => ({ id, address, port }))).toEqual([{ id: 'cart-1', address: '10.0.0.2', port: 81 }]);
      const secondLease = (await raw.client.get('/services/cart/cart-1').exec()).kvs[0]!.lease;
      expect(secondLease).not.toBe(firstLease);
      // The first lease was revoked, not left to keep nothing alive.
      expect((await raw.client.leaseClient.leaseTimeToLive({ ID: firstLease })).TTL).toBe('-1');
      // Under another name: the key moves.
      await registry.registerService({ id: 'cart-1', name: 'basket', address: '10.0.0.2', port: 81 });
      expect(await registry.discoverServices('cart')).toEqual([]);
      expect((await registry.discoverServices('basket')).map((instance) => instance.id)).toEqual(['cart-1']);
      await registry.unregisterService('cart-1');
    } finally {
      await Promise.all([registry.close(), raw.close()]);
    }
  });

  it('refuses a bad definition before anything is written', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    try {
      const refused = await registry.registerService({ id: 'bad-1', name: 'bad', port: 70_000 }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(SwitchboardError);
      expect(refused).toMatchObject({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'port' }] } });
      const script = await registry
        .registerService({ id: 'bad-2', name: 'bad', healthCheck: { script: '/bin/true', interval: '10s' } })
        .catch((error: unknown) => error);
      expect(script).toMatchObject({ code: 'NOT_SUPPORTED' });
      expect((script as Error).message).toContain('etcd');
      expect(await raw.client.getAll().prefix('/services/bad/').keys()).toEqual([]);
    } finally {
      await Promise.all([registry.close(), raw.close()]);
    }
  });

  it('lets an instance lapse with its lease when the process stops renewing it', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: observer } = openRegistry(etcd.server.endpoint);
    try {
      await registry.registerService({ id: 'lapse-1', name: 'lapse', address: '127.0.0.1', port: 7100, ttl: '2s' });
      expect((await observer.getService('lapse-1'))?.ttl).toBe('2s');
      const stoppedAt = Date.now();
      // close() ends the keep-alives, as a process that stops does; the key goes with its lease.
      await registry.close();
      await eventually(async () => ((await observer.getService('lapse-1')) === undefined ? true : undefined), 10_000);
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1_000);
    } finally {
      await Promise.all([registry.close(), observer.close()]);
    }
  });

  it('keeps renewing the lease, and puts the instance again when its lease is revoked behind its back', async () => {
    const { registry, warnings } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    try {
      await registry.registerService({ id: 'kept-1', name: 'kept', address: '127.0.0.1', port: 7200, ttl: '2s' });
      const lease = (await raw.client.get('/services/kept/kept-1').exec()).kvs[0]!.lease;
      // Time passing is the subject: three lease lengths later the instance is still there, its lease kept alive.
      await sleep(6_000);
      expect(await raw.client.get('/services/kept/kept-1').exists()).toBe(true);
      await registry.renewService('kept-1');

      await raw.client.leaseClient.leaseRevoke({ ID: lease });
      expect(await raw.client.get('/services/kept/kept-1').exists()).toBe(false);
      const again = await eventually(async () => (await raw.client.get('/services/kept/kept-1').exec()).kvs[0], 10_000);
      expect(again.lease).not.toBe(lease);
      expect(warnings.some((warning) => warning.includes('"kept-1" was lost'))).toBe(true);
      expect((await registry.getService('kept-1'))?.port).toBe(7200);
      await registry.unregisterService('kept-1');
    } finally {
      await Promise.all([registry.close(), raw.close()]);
    }
  }, 30_000);

  it('runs an HTTP check in the registering process and writes its status into the instance', async () => {
    let healthy = true;
    const target = await listen((_request, response) => response.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'down'));
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: observer } = openRegistry(etcd.server.endpoint);
    try {
      const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/health`;
      const registered = await registry.registerService({
        id: 'checked-1',
        name: 'checked',
        address: '127.0.0.1',
        port: 7300,
        healthCheck: { http: url, interval: '1s' },
      });
      // A new check starts CRITICAL (nothing is trusted before it passed), as on the server.
      expect(registered.health.status).toBe('CRITICAL');
      await eventually(async () => ((await observer.getServiceHealth('checked-1')).status === 'PASSING' ? true : undefined));
      expect((await observer.discoverServices('checked', { passingOnly: true })).map((instance) => instance.id)).toEqual(['checked-1']);

      healthy = false;
      const critical = await eventually(async () => {
        const health = await observer.getServiceHealth('checked-1');
        return health.status === 'CRITICAL' ? health : undefined;
      });
      expect(critical.output).toContain('503');
      expect(critical.failureCount).toBeGreaterThanOrEqual(1);
      expect(await observer.discoverServices('checked', { passingOnly: true })).toEqual([]);

      // A TCP check replaces it: the target listens, so it passes.
      const check = await registry.registerHealthCheck('checked-1', { tcp: `127.0.0.1:${(target.address() as AddressInfo).port}`, interval: '1s' });
      expect(check).toMatchObject({ serviceId: 'checked-1', name: expect.stringContaining('TCP') });
      await eventually(async () => ((await observer.getServiceHealth('checked-1')).status === 'PASSING' ? true : undefined));
      await expect(observer.registerHealthCheck('checked-1', { tcp: '127.0.0.1:1' })).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
      await expect(observer.getServiceHealth('nobody')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await registry.unregisterService('checked-1');
    } finally {
      await Promise.all([registry.close(), observer.close()]);
      await new Promise((resolve) => target.close(resolve));
    }
  });

  it('feeds a ServiceDiscovery cache by push', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: observer } = openRegistry(etcd.server.endpoint);
    const discovery = new ServiceDiscovery({ registry: observer });
    try {
      await registry.registerService({ id: 'pushed-1', name: 'pushed', address: '127.0.0.1', port: 7401 });
      expect((await discovery.instances('pushed')).map((instance) => instance.id)).toEqual(['pushed-1']);
      const changed = new Promise<void>((resolve) => discovery.onChange((service) => service === 'pushed' && resolve()));
      await registry.registerService({ id: 'pushed-2', name: 'pushed', address: '127.0.0.1', port: 7402 });
      await withTimeout(changed, 5_000, 'the cache was not told of the new instance');
      expect(discovery.cached('pushed')?.instances.map((instance) => instance.id)).toEqual(['pushed-1', 'pushed-2']);
      await registry.unregisterService('pushed-1');
      await eventually(() => (discovery.cached('pushed')?.instances.length === 1 ? true : undefined));
    } finally {
      await discovery.close();
      await Promise.all([registry.close(), observer.close()]);
    }
  });
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
