import WebSocket from 'ws';
import { SetMaintenanceDocument } from '@switchboard/client';
import { LoadBalancer, ServiceDiscovery, type BalancingStrategy } from '@switchboard/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/wait.js';
import { useRegistryNode } from '../../../test/support/nodes.js';
import { picks as serverPicks, registerInstances, shares } from '../../../test/support/selection.js';

/** The SDK's balancer over the discovery cache chooses as the server's `selectInstance` does. */
const registry = useRegistryNode();
let discovery: ServiceDiscovery;

beforeAll(() => {
  discovery = new ServiceDiscovery({ registry: { url: registry.node.url, webSocketImpl: WebSocket } });
});

afterAll(async () => {
  await discovery.close();
});

let serial = 0;
const service = (instances: { weight?: number; priority?: number }[]) => registerInstances(registry.client, `sdk-lb-${process.pid}-${++serial}`, instances);

function sdkPicks(
  balancer: LoadBalancer,
  instances: Parameters<LoadBalancer['select']>[0],
  count: number,
  strategy: BalancingStrategy,
  keyOf?: (i: number) => string,
) {
  return Array.from({ length: count }, (_, i) => balancer.select(instances, { strategy, ...(keyOf ? { hashKey: keyOf(i) } : {}) })?.id ?? null);
}

describe('the same choices as selectInstance', () => {
  it('CONSISTENT_HASH: 300 keys map to the same instances as on the server (weights included)', async () => {
    const { name } = await service([{ weight: 1 }, { weight: 3 }, { weight: 1 }, { weight: 2 }]);
    const keyOf = (i: number) => `user-${i}`;
    const local = sdkPicks(new LoadBalancer(), await discovery.instances(name), 300, 'CONSISTENT_HASH', keyOf);
    expect(local).toEqual(await serverPicks(registry.node.url, name, 300, 'CONSISTENT_HASH', keyOf));
    expect(new Set(local).size).toBe(4);
  });

  it('WEIGHTED: 3,000 picks over weights 1:2:7 land within 3 points of 10/20/70 %, as the server’s do', async () => {
    const { name, ids } = await service([{ weight: 1 }, { weight: 2 }, { weight: 7 }]);
    const local = shares(ids, sdkPicks(new LoadBalancer(), await discovery.instances(name), 3000, 'WEIGHTED'));
    const remote = shares(ids, await serverPicks(registry.node.url, name, 3000, 'WEIGHTED'));
    [0.1, 0.2, 0.7].forEach((expected, i) => {
      expect(Math.abs(local[i]! - expected), `sdk, instance ${i}: ${local[i]}`).toBeLessThanOrEqual(0.03);
      expect(Math.abs(remote[i]! - expected), `server, instance ${i}: ${remote[i]}`).toBeLessThanOrEqual(0.03);
    });
  });

  it('ROUND_ROBIN cycles through the tier in the server’s order', async () => {
    const { name, ids } = await service([{}, {}, {}, { priority: 1 }]);
    const local = sdkPicks(new LoadBalancer(), await discovery.instances(name), 9, 'ROUND_ROBIN');
    const remote = await serverPicks(registry.node.url, name, 3, 'ROUND_ROBIN');
    expect(new Set(local.slice(0, 3))).toEqual(new Set(ids.slice(0, 3)));
    for (let i = 3; i < 9; i++) expect(local[i]).toBe(local[i - 3]);
    // Both rotations start at a random point: the same cycle, each from its own start.
    const start = local.indexOf(remote[0]!);
    expect([0, 1, 2].map((i) => local[start + i])).toEqual(remote);
  });

  it('PRIORITY: the lowest tier only; when none of it passes, the next tier, as the server fails over', async () => {
    const { name, ids } = await service([
      { priority: 0, weight: 1 },
      { priority: 0, weight: 1 },
      { priority: 1, weight: 1 },
    ]);
    const balancer = new LoadBalancer({ strategy: 'PRIORITY' });
    expect(new Set(sdkPicks(balancer, await discovery.instances(name, { passingOnly: false }), 200, 'PRIORITY'))).toEqual(new Set(ids.slice(0, 2)));

    for (const id of ids.slice(0, 2)) await registry.client.request(SetMaintenanceDocument, { id, enabled: true });
    // Pushed to the cache: no request.
    await eventually(() => (discovery.cached(name)!.instances.length === 1 ? true : undefined), 10_000);
    const cached = discovery.cached(name, { passingOnly: false })!.instances;
    expect(cached.map((entry) => entry.health.status)).toEqual(['CRITICAL', 'CRITICAL', 'PASSING']);
    expect(new Set(sdkPicks(balancer, cached, 50, 'PRIORITY'))).toEqual(new Set([ids[2]]));
    expect(new Set(await serverPicks(registry.node.url, name, 50, 'PRIORITY'))).toEqual(new Set([ids[2]]));
  });
});

describe('what only the SDK does', () => {
  it('LEAST_OUTSTANDING sends the next call to the instance with the fewest in flight', async () => {
    const { name, ids } = await service([{}, {}, {}]);
    const instances = await discovery.instances(name);
    const balancer = new LoadBalancer({ strategy: 'LEAST_OUTSTANDING' });
    const releases = ids.slice(0, 2).map((id) => balancer.acquire(instances.find((entry) => entry.id === id)!));
    expect(sdkPicks(balancer, instances, 5, 'LEAST_OUTSTANDING')).toEqual(Array(5).fill(ids[2]));
    releases.forEach((release) => release());
    expect(new Set(sdkPicks(balancer, instances, 3, 'LEAST_OUTSTANDING'))).toEqual(new Set(ids));
  });

  it('updateWeights: weight 0 drains an instance for this process', async () => {
    const { name, ids } = await service([{}, {}, {}]);
    const instances = await discovery.instances(name);
    const balancer = new LoadBalancer({ strategy: 'WEIGHTED' });
    balancer.updateWeights(ids[0]!, 0);
    balancer.updateWeights(ids[1]!, 0);
    expect(new Set(sdkPicks(balancer, instances, 100, 'WEIGHTED'))).toEqual(new Set([ids[2]]));
    balancer.resetWeight(ids[0]!);
    expect(new Set(sdkPicks(balancer, instances, 100, 'WEIGHTED'))).toEqual(new Set([ids[0], ids[2]]));
  });
});
