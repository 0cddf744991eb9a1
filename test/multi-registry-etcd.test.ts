import { EtcdRegistry } from '@switchboard/etcd';
import { MultiRegistry, MultiRegistryError, SwitchboardRegistry, type Registry } from '@switchboard/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { etcdMissing, startEtcd, type EtcdServer } from '../packages/etcd/test/support/etcd-server.js';
import { useRegistryNode } from './support/nodes.js';

/**
 * A MultiRegistry over a real Switchboard server and a real etcd, and etcd stopped mid-run: what each
 * strategy does then, and that a watch over both carries on from Switchboard and catches up with etcd.
 */
const switchboard = useRegistryNode();
const missing = etcdMissing();

describe.skipIf(missing)('MultiRegistry over Switchboard and etcd, etcd stopped mid-run', () => {
  let etcd: EtcdServer;
  let native: Registry;
  let etcdRegistry: Registry;

  beforeAll(async () => {
    etcd = await startEtcd();
    native = new SwitchboardRegistry(switchboard.clients.create(switchboard.node.url), { registerAttempts: 1 });
    etcdRegistry = new EtcdRegistry({ endpoints: [etcd.endpoint], dialTimeout: '1s' });
  });
  afterAll(async () => {
    await etcdRegistry?.close();
    await etcd?.close();
  });

  it('keeps serving per strategy, takes back a refused registration, and the merged watch catches up', async () => {
    const multi = (strategy: 'first-success' | 'all') => new MultiRegistry([native, etcdRegistry], { strategy, rewatchMs: 200, onPartialFailure: () => {} });
    await multi('all').registerService({ id: 'inventory-1', name: 'inventory', address: '127.0.0.1', port: 7801, ttl: '1m' });
    const sets: { ids: string[]; backends: string[][] }[] = [];
    const stale: unknown[] = [];
    const stop = await multi('first-success').watchService('inventory', (instances) =>
      sets.push({ ids: instances.map((each) => each.id), backends: instances.map((each) => each.provenance?.backends ?? []) }),
    );
    const strictStop = await multi('all').watchService('inventory', () => {}, { onStale: (error) => stale.push(error) });
    expect(sets.at(-1)).toEqual({ ids: ['inventory-1'], backends: [[native.backend, etcdRegistry.backend]] });

    await etcd.stop();
    await vi.waitFor(() => expect(stale).toHaveLength(1), { timeout: 10_000 });

    // all: refused after etcd's dial timeout, and the registration Switchboard took is taken back.
    const refused = await multi('all')
      .registerService({ id: 'inventory-2', name: 'inventory', address: '127.0.0.1', port: 7802, ttl: '1m' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MultiRegistryError);
    expect((refused as MultiRegistryError).split).toMatchObject({ succeeded: [native.backend], compensated: [native.backend] });
    expect((refused as Error).message).toContain(etcdRegistry.backend);
    expect(await native.getService('inventory-2')).toBeUndefined();

    // first-success: written to Switchboard, seen by the watch at once.
    await multi('first-success').registerService({ id: 'inventory-3', name: 'inventory', address: '127.0.0.1', port: 7803, ttl: '1m' });
    await vi.waitFor(() => expect(sets.at(-1)?.ids).toEqual(['inventory-1', 'inventory-3']), { timeout: 10_000 });

    // etcd back: what was written there meanwhile by another client reaches the merged set.
    await etcd.start();
    const writer = new EtcdRegistry({ endpoints: [etcd.endpoint] });
    try {
      await writer.registerService({ id: 'inventory-4', name: 'inventory', address: '127.0.0.1', port: 7804, ttl: '1m' });
      await vi.waitFor(
        () =>
          expect(sets.at(-1)).toEqual({
            ids: ['inventory-1', 'inventory-3', 'inventory-4'],
            backends: [[native.backend, etcdRegistry.backend], [native.backend], [etcdRegistry.backend]],
          }),
        { timeout: 15_000 },
      );
    } finally {
      await stop();
      await strictStop();
      await writer.close();
    }
  });
});
