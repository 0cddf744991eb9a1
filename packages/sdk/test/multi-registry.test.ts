import { MultiRegistry, MultiRegistryError, SwitchboardRegistry, type MultiStrategy, type Registry, type ServiceInstance } from '@switchboard/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { clientFactory } from '../../../test/support/client.js';
import { startTestNode, useRegistryNode, type TestNode } from '../../../test/support/nodes.js';
import { describeRegistryConformance } from './support/conformance.js';

/**
 * MultiRegistry over two independent Switchboard servers (each on its own database): the conformance suite,
 * merging with provenance, and each strategy when one backend is stopped mid-run. The seed's own example over
 * Consul and etcd is in packages/consul/test (it needs both backends).
 */
const a = useRegistryNode();
const b = useRegistryNode();
const clients = clientFactory();
afterAll(() => clients.closeAll());

const registryOf = (node: { url: string }) => new SwitchboardRegistry(clients.create(node.url), { registerAttempts: 1 });
const settles = <T>(check: () => T | Promise<T>): Promise<T> => vi.waitFor(check, { timeout: 10_000, interval: 50 });

describeRegistryConformance('multi (two Switchboard servers)', {
  create: async () => new MultiRegistry([registryOf(a.node), registryOf(b.node)]),
  registers: true,
  config: true,
  events: true,
  components: true,
});

describe('merging by instance id', () => {
  it('writes to every backend, and each instance says which backends returned it', async () => {
    const multi = new MultiRegistry([registryOf(a.node), registryOf(b.node)]);
    await multi.registerService({ id: 'orders-1', name: 'orders', address: '10.0.0.1', port: 80 });
    expect((await registryOf(a.node).getService('orders-1'))?.port).toBe(80);
    expect((await registryOf(b.node).getService('orders-1'))?.port).toBe(80);
    const [found] = await multi.discoverServices('orders');
    expect(found?.provenance).toEqual({ backends: [registryOf(a.node).backend, registryOf(b.node).backend], divergences: [] });
  });

  it('reports where backends disagree, and a watcher sees the divergence appear', async () => {
    const multi = new MultiRegistry([registryOf(a.node), registryOf(b.node)]);
    await multi.registerService({ id: 'ledger-1', name: 'ledger', address: '10.0.0.2', port: 81 });
    const sets: ServiceInstance[][] = [];
    const stop = await multi.watchService('ledger', (instances) => sets.push(instances));
    try {
      // Behind the MultiRegistry's back, b moves the instance: both are kept, and the caller can see the split.
      await registryOf(b.node).registerService({ id: 'ledger-1', name: 'ledger', address: '10.0.0.3', port: 82 });
      await settles(() =>
        expect(sets.at(-1)?.[0]?.provenance?.divergences).toEqual([
          { field: 'address', values: { [registryOf(a.node).backend]: '10.0.0.2', [registryOf(b.node).backend]: '10.0.0.3' } },
          { field: 'port', values: { [registryOf(a.node).backend]: 81, [registryOf(b.node).backend]: 82 } },
        ]),
      );
      // The first backend's fields stand.
      expect(sets.at(-1)?.[0]).toMatchObject({ address: '10.0.0.2', port: 81 });
    } finally {
      await stop();
    }
  });

  it('believes the backend that saw an instance fail: the worst health wins', async () => {
    const multi = new MultiRegistry([registryOf(a.node), registryOf(b.node)]);
    await registryOf(a.node).registerService({ id: 'mail-1', name: 'mail', port: 25 });
    // A TTL check not yet passed is critical.
    await registryOf(b.node).registerService({ id: 'mail-1', name: 'mail', port: 25, healthCheck: { ttl: '1m' } });
    const [merged] = await multi.discoverServices('mail');
    expect(merged?.health.status).toBe('CRITICAL');
    expect(merged?.provenance?.divergences.map((divergence) => divergence.field)).toEqual(['health']);
    expect(await multi.discoverServices('mail', { passingOnly: true })).toEqual([]);
    expect((await multi.getServiceHealth('mail-1')).status).toBe('CRITICAL');
  });
});

describe('a backend stopped mid-run', () => {
  let database: TestDatabase;
  let doomed: TestNode;
  let survivor: Registry;
  let lost: Registry;
  const multi = (strategy: MultiStrategy, onPartialFailure?: (failure: MultiRegistryError) => void) =>
    new MultiRegistry([survivor, lost], { strategy, rewatchMs: 100, ...(onPartialFailure ? { onPartialFailure } : {}) });

  beforeAll(async () => {
    database = await createTestDatabase();
    doomed = await startTestNode(database.url);
    survivor = registryOf(a.node);
    lost = registryOf(doomed);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('follows each strategy once the second backend is gone', async () => {
    await multi('all').registerService({ id: 'search-1', name: 'search', port: 9200 });
    const watched: string[][] = [];
    const staleness: unknown[] = [];
    const firstSuccessWatch = await multi('first-success').watchService('search', (instances) => watched.push(instances.map((each) => each.id)));
    const allWatch = await multi('all').watchService('search', () => {}, { onStale: (error) => staleness.push(error) });

    await doomed.stop();

    // all (and majority of two) refuse the write, and take the registration back from the backend that took it.
    const refused = await multi('all')
      .registerService({ id: 'search-2', name: 'search', port: 9201 })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MultiRegistryError);
    expect((refused as MultiRegistryError).split).toMatchObject({
      strategy: 'all',
      succeeded: [survivor.backend],
      failed: [{ backend: lost.backend }],
      compensated: [survivor.backend],
    });
    expect(await survivor.getService('search-2')).toBeUndefined();
    await expect(multi('majority').registerService({ id: 'search-2', name: 'search' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    // first-success takes it, and says where it is missing.
    const partial: MultiRegistryError[] = [];
    await multi('first-success', (failure) => partial.push(failure)).registerService({ id: 'search-3', name: 'search', port: 9203 });
    expect(partial[0]?.split).toMatchObject({ operation: 'registerService', succeeded: [survivor.backend], failed: [{ backend: lost.backend }] });
    expect((await survivor.getService('search-3'))?.port).toBe(9203);

    // Reads: first-success answers from the backend left; all cannot.
    expect((await multi('first-success').discoverServices('search')).map((each) => each.id)).toEqual(['search-1', 'search-3']);
    await expect(multi('all').discoverServices('search')).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    // Watches: first-success keeps delivering the survivor's changes; all is stale.
    await settles(() => expect(watched.at(-1)).toEqual(['search-1', 'search-3']));
    await settles(() => expect(staleness).toHaveLength(1));

    // monitorRegistryHealth: which backend is down, and whether the strategy still holds.
    const health = await multi('all').health();
    expect(health).toMatchObject({
      healthy: false,
      backends: [
        { backend: survivor.backend, healthy: true },
        { backend: lost.backend, healthy: false },
      ],
    });
    expect((await multi('first-success').health()).healthy).toBe(true);

    await firstSuccessWatch();
    await allWatch();
  });
});
