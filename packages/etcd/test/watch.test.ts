import type { ServiceInstance } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { eventually, withTimeout } from '../../../test/support/wait.js';
import { etcdMissing } from './support/etcd-server.js';
import { openClient, openRegistry, useEtcd } from './support/registries.js';
import { startTcpProxy } from './support/tcp-proxy.js';

/** Watches that outlive etcd restarts, partitions and compaction, and still end at the right state. */
const missing = etcdMissing();
if (missing) console.warn(`etcd tests skipped: ${missing}`);

const ids = (instances: readonly ServiceInstance[]) => instances.map((instance) => instance.id);

describe.skipIf(missing !== undefined)('EtcdRegistry: watches', () => {
  const etcd = useEtcd();

  it('applies every key of one transaction (they share its revision), as Go naming writes several endpoints at once', async () => {
    const { registry: watcher } = openRegistry(etcd.server.endpoint);
    const raw = openClient(etcd.server.endpoint);
    const sets: string[][] = [];
    try {
      const stop = await watcher.watchService('batched', (instances) => sets.push(ids(instances)));
      const value = (port: number) => JSON.stringify({ Op: 0, Addr: `127.0.0.1:${port}`, Metadata: {} });
      await raw.client
        .if('/services/batched/batched-1', 'Create', '==', 0)
        .then(
          raw.client.put('/services/batched/batched-1').value(value(7601)),
          raw.client.put('/services/batched/batched-2').value(value(7602)),
          raw.client.put('/services/batched/batched-3').value(value(7603)),
        )
        .commit();
      await eventually(() => (sets.at(-1)?.length === 3 ? true : undefined), 5_000);
      expect(sets.at(-1)).toEqual(['batched-1', 'batched-2', 'batched-3']);
      await raw.client.delete().prefix('/services/batched/');
      await eventually(() => (sets.at(-1)?.length === 0 ? true : undefined), 5_000);
      await stop();
    } finally {
      await raw.close();
      await watcher.close();
    }
  });

  it('watchService resumes after etcd restarts under it, says it was stale meanwhile, and misses no change', async () => {
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: watcher } = openRegistry(etcd.server.endpoint);
    const sets: string[][] = [];
    const stale: unknown[] = [];
    try {
      await registry.registerService({ id: 'restart-1', name: 'restart', address: '127.0.0.1', port: 7501 });
      await registry.registerService({ id: 'restart-2', name: 'restart', address: '127.0.0.1', port: 7502 });
      const stop = await watcher.watchService('restart', (instances) => sets.push(ids(instances)), { onStale: (error) => stale.push(error) });
      expect(sets).toEqual([['restart-1', 'restart-2']]);

      await etcd.server.stop();
      await eventually(() => (stale.length > 0 ? true : undefined));
      expect(stale).toHaveLength(1);
      expect(stale[0]).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(watcher.backend) });
      await etcd.server.start();
      // Changed by another client the moment etcd is back, before the watch has resumed.
      const raw = openClient(etcd.server.endpoint);
      try {
        const value = JSON.stringify({ Op: 0, Addr: '127.0.0.1:7503', Metadata: {} });
        await raw.client.put('/services/restart/restart-3').value(value);
        await raw.client.delete().key('/services/restart/restart-1');
      } finally {
        await raw.close();
      }
      await eventually(() => (sets.at(-1)?.join() === 'restart-2,restart-3' ? true : undefined), 15_000);
      // And a change after the resumption arrives as well.
      await registry.unregisterService('restart-2');
      await eventually(() => (sets.at(-1)?.join() === 'restart-3' ? true : undefined));

      // An outage with no change at all still ends with the set delivered again: current, no longer stale.
      const delivered = sets.length;
      await etcd.server.restart();
      await eventually(() => (sets.length > delivered ? true : undefined), 15_000);
      expect(sets.at(-1)).toEqual(['restart-3']);
      expect(stale).toHaveLength(2);
      await stop();
    } finally {
      await Promise.all([registry.close(), watcher.close()]);
    }
  }, 40_000);

  it('relists and watches again after etcd compacted the revisions a watch needed', async () => {
    const target = new URL(etcd.server.endpoint);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: watcher } = openRegistry(proxy.endpoint);
    const raw = openClient(etcd.server.endpoint);
    const sets: string[][] = [];
    let stale = 0;
    try {
      await registry.registerService({ id: 'compact-1', name: 'compact', address: '127.0.0.1', port: 7601 });
      await registry.registerService({ id: 'compact-2', name: 'compact', address: '127.0.0.1', port: 7602 });
      const stop = await watcher.watchCatalog((instances) => sets.push(ids(instances).filter((id) => id.startsWith('compact-'))), {
        onStale: () => (stale += 1),
      });
      expect(sets.at(-1)).toEqual(['compact-1', 'compact-2']);

      // The watcher is cut off while etcd goes on: changes it cannot see, then a compaction past all of them.
      await proxy.cut();
      await eventually(() => (stale > 0 ? true : undefined));
      await registry.unregisterService('compact-1');
      await registry.registerService({ id: 'compact-3', name: 'compact', address: '127.0.0.1', port: 7603 });
      const { header } = await raw.client.get('/services/').exec();
      await raw.client.kv.compact({ revision: header.revision, physical: true });

      await proxy.restore();
      await eventually(() => (sets.at(-1)?.join() === 'compact-2,compact-3' ? true : undefined), 15_000);
      // The watch etcd cancelled was replaced: a later change is seen too.
      await registry.registerService({ id: 'compact-4', name: 'compact', address: '127.0.0.1', port: 7604 });
      await withTimeout(
        eventually(() => (sets.at(-1)?.join() === 'compact-2,compact-3,compact-4' ? true : undefined)),
        10_000,
        'a change after the compaction was not delivered',
      );
      await stop();
    } finally {
      await Promise.all([registry.close(), watcher.close(), raw.close(), proxy.close()]);
    }
  }, 40_000);

  it('a subscription delivers the events published while it was cut off, each once', async () => {
    const target = new URL(etcd.server.endpoint);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    const { registry } = openRegistry(etcd.server.endpoint);
    const { registry: subscriber } = openRegistry(proxy.endpoint);
    const received: string[] = [];
    try {
      const stop = await subscriber.subscribe('cut.*', (event) => received.push(String(event.data['n'])));
      await registry.publish({ type: 'cut.before', source: 'test', data: { n: 1 } });
      await eventually(() => (received.length === 1 ? true : undefined));
      await proxy.cut();
      await registry.publish({ type: 'cut.during', source: 'test', data: { n: 2 } });
      await registry.publish({ type: 'cut.during', source: 'test', data: { n: 3 } });
      await proxy.restore();
      await registry.publish({ type: 'cut.after', source: 'test', data: { n: 4 } });
      await eventually(() => (received.length >= 4 ? true : undefined), 15_000);
      // One more, through the same watch: anything it replayed from before it has arrived by then.
      await registry.publish({ type: 'cut.after', source: 'test', data: { n: 5 } });
      await eventually(() => (received.includes('5') ? true : undefined));
      expect(received).toEqual(['1', '2', '3', '4', '5']);
      await stop();
    } finally {
      await Promise.all([registry.close(), subscriber.close(), proxy.close()]);
    }
  }, 30_000);
});
