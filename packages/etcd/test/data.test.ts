import type { RegistryEvent } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/wait.js';
import { etcdMissing } from './support/etcd-server.js';
import { openClient, openRegistry, useEtcd } from './support/registries.js';

/** Configuration, events and components of the EtcdRegistry, under their prefixes of a real etcd. */
const missing = etcdMissing();
if (missing) console.warn(`etcd tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('EtcdRegistry: configuration, events, components', () => {
  const etcd = useEtcd();

  it('sets and gets configuration as plain JSON under the config prefix, with the key version', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    try {
      expect(await registry.setConfig('api.timeout', 5000)).toMatchObject({ key: 'api.timeout', value: 5000, version: 1 });
      expect(await registry.setConfig('api.timeout', 7000)).toMatchObject({ value: 7000, version: 2 });
      expect(await registry.getConfig('api.timeout')).toBe(7000);
      expect(await raw.client.get('/config/api.timeout').string()).toBe('7000');
      // What another tool writes is read back too; an absent key reads as undefined.
      await raw.client.put('/config/feature.flags').value('{"dark":true}');
      expect(await registry.getConfig('feature.flags')).toEqual({ dark: true });
      expect(await registry.getConfig('never.set')).toBeUndefined();
      await expect(registry.setConfig('not a key', 1)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      // A value past the limit is refused before it is sent.
      await expect(registry.setConfig('huge.value', 'x'.repeat(200 * 1024))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(await raw.client.get('/config/huge.value').exists()).toBe(false);
    } finally {
      await Promise.all([registry.close(), raw.close()]);
    }
  });

  it('watchConfig tells each change with the old and the new value, a deletion included', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: watcher } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    const changes: unknown[][] = [];
    try {
      await registry.setConfig('watched.limit', 1);
      const stop = await watcher.watchConfig('watched.limit', (...change) => changes.push(change));
      await registry.setConfig('watched.limit', { rps: 2 });
      await registry.setConfig('watched.other', 'not this key');
      await raw.client.delete().key('/config/watched.limit');
      await eventually(() => (changes.length === 2 ? true : undefined));
      expect(changes).toEqual([
        ['watched.limit', 1, { rps: 2 }],
        ['watched.limit', { rps: 2 }, undefined],
      ]);
      await stop();
    } finally {
      await Promise.all([registry.close(), watcher.close(), raw.close()]);
    }
  });

  it('publishes events that subscribers of the type or its pattern receive, and that expire', async () => {
    const { registry } = openRegistry(etcd.server.endpoint, { eventRetention: '30s' });
    const { registry: subscriber } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    const byPattern: RegistryEvent[] = [];
    const exact: RegistryEvent[] = [];
    try {
      const stops = [
        await subscriber.subscribe('deploy.*', (event) => byPattern.push(event)),
        await subscriber.subscribe('deploy.finished', (event) => exact.push(event)),
      ];
      // Published first: by the time the others arrive (one watch, in revision order) it would have too.
      await registry.publish({ type: 'backup.finished', source: 'cron' });
      const started = await registry.publish({ type: 'deploy.started', source: 'ci', data: { build: 1 } });
      const finished = await registry.publish({ type: 'deploy.finished', source: 'ci', data: { build: 1 } });
      expect(Number(finished.id)).toBeGreaterThan(Number(started.id));
      await eventually(() => (byPattern.length === 2 && exact.length === 1 ? true : undefined));
      expect(byPattern).toEqual([started, finished]);
      expect(exact).toEqual([finished]);

      // Kept under a lease of the retention (and a tenth more, the events of a window sharing it).
      const stored = (await raw.client.getAll().prefix('/events/deploy.finished/').exec()).kvs[0]!;
      const { TTL } = await raw.client.leaseClient.leaseTimeToLive({ ID: stored.lease });
      expect(Number(TTL)).toBeGreaterThan(20);
      expect(Number(TTL)).toBeLessThanOrEqual(33);

      await expect(registry.publish({ type: 'service.registered', source: 'me' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(registry.publish({ type: 'Deploy', source: 'me' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await Promise.all(stops.map((stop) => stop()));
    } finally {
      await Promise.all([registry.close(), subscriber.close(), raw.close()]);
    }
  });

  it('delivers service.registered and service.unregistered, read off the service prefix', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: subscriber } = openRegistry(etcd.server.endpoint);
    const events: RegistryEvent[] = [];
    try {
      const stop = await subscriber.subscribe('service.*', (event) => events.push(event));
      await registry.registerService({ id: 'evented-1', name: 'evented', address: '127.0.0.1', port: 7701 });
      await registry.unregisterService('evented-1');
      await eventually(() => (events.length === 2 ? true : undefined));
      expect(events.map((event) => event.type)).toEqual(['service.registered', 'service.unregistered']);
      expect(events[0]!.data).toMatchObject({ id: 'evented-1', service_id: 'evented-1', service_name: 'evented', address: '127.0.0.1:7701', created: true });
      expect(events[1]!.data).toMatchObject({ service_id: 'evented-1', reason: 'deregistered' });
      await stop();
    } finally {
      await Promise.all([registry.close(), subscriber.close()]);
    }
  });

  it('registers, gets, lists by type and unregisters components', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    try {
      const step = await registry.registerComponent({
        type: 'STEP',
        name: 'http-client',
        version: '1.2.0',
        dependencies: ['retry@^1'],
        metadata: { owner: 'core' },
      });
      expect(step).toMatchObject({ id: 'http-client@1.2.0', type: 'STEP', dependencies: ['retry@^1'], metadata: { owner: 'core' } });
      await registry.registerComponent({ id: 'upper', type: 'TRANSFORMER', name: 'Upper Case', version: '1.0.0' });
      const again = await registry.registerComponent({ type: 'STEP', name: 'http-client', version: '1.2.0', description: 'now described' });
      expect(again.registeredAt).toBe(step.registeredAt);
      expect(await registry.getComponent('http-client@1.2.0')).toEqual(again);
      expect((await registry.listComponents('STEP')).map((component) => component.id)).toEqual(['http-client@1.2.0']);
      expect((await registry.listComponents()).map((component) => component.id)).toEqual(['http-client@1.2.0', 'upper']);
      await registry.unregisterComponent('upper');
      expect(await registry.getComponent('upper')).toBeUndefined();
      await expect(registry.unregisterComponent('upper')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(registry.registerComponent({ type: 'NOPE' as 'STEP', name: 'x', version: '1.0.0' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    } finally {
      await registry.close();
    }
  });
});

describe.skipIf(missing !== undefined)('EtcdRegistry: large values under the prefix', () => {
  const etcd = useEtcd();

  it('reads a service whose values add up past gRPC’s 4 MiB default answer size', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    try {
      // Five values of 1 MiB, each within etcd's own request limit: one range answer of 5 MiB.
      const padding = 'x'.repeat(1024 * 1024);
      for (let i = 1; i <= 5; i++) {
        await raw.client.put(`/services/bulky/bulky-${i}`).value(JSON.stringify({ Op: 0, Addr: `127.0.0.1:${7700 + i}`, Metadata: { padding } }));
      }
      const found = await registry.discoverServices('bulky');
      expect(found.map((instance) => instance.id)).toEqual(['bulky-1', 'bulky-2', 'bulky-3', 'bulky-4', 'bulky-5']);
    } finally {
      await raw.client.delete().prefix('/services/bulky/');
      await raw.close();
      await registry.close();
    }
  });
});
