import type { ServiceInstance } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/wait.js';
import { endpointSlice, pod, useStandIn } from './support/cluster.js';

/**
 * What a long-lived watch meets: connections cut, history compacted under it (410 Gone), quiet periods that
 * bookmarks bridge, and an API server that stops answering for a while.
 */
const cluster = useStandIn();

const idsOf = (set: readonly ServiceInstance[] | undefined) => (set ?? []).map((instance) => instance.id).join();

/** The stand-in's requests for a namespace's collection: lists, and watches with the resourceVersion they resumed from. */
function requestsFor(namespace: string, resource: 'endpointslices' | 'pods') {
  const mine = cluster.standIn.requests.filter((request) => request.path.endsWith(`/namespaces/${namespace}/${resource}`));
  return {
    lists: mine.filter((request) => !request.watch),
    watches: mine.filter((request) => request.watch).map((request) => request.query.get('resourceVersion')),
  };
}

function seed(namespace: string, pods: string[]): void {
  for (const name of pods) cluster.standIn.apply('pods', pod(name, { namespace }));
  cluster.standIn.apply(
    'endpointslices',
    endpointSlice('web-1', { namespace, service: 'web', endpoints: pods.map((name, n) => ({ address: `10.0.0.${n + 1}`, pod: name })) }),
  );
}

describe('KubernetesRegistry watches', () => {
  it('resumes a cut watch from its resourceVersion, losing no change made while it was down', async () => {
    const namespace = 'cut';
    seed(namespace, ['web-a']);
    const registry = cluster.registry({ namespace });
    const sets: ServiceInstance[][] = [];
    const stop = await registry.watchService('web', (instances) => sets.push(instances));
    try {
      const listed = cluster.standIn.resourceVersion;
      cluster.standIn.holdWatches();
      cluster.standIn.dropWatches();
      await eventually(() => (cluster.standIn.heldWatches === 2 ? true : undefined));
      // Made while no watch is open: the resumed watch must replay it.
      cluster.standIn.apply('pods', pod('web-b', { namespace }));
      cluster.standIn.apply('endpointslices', endpointSlice('web-2', { namespace, service: 'web', endpoints: [{ address: '10.0.1.1', pod: 'web-b' }] }));
      cluster.standIn.releaseWatches();
      await eventually(() => (idsOf(sets.at(-1)) === 'web-a.web.cut,web-b.web.cut' ? true : undefined));
      // Resumed, not relisted: one list each, and the second watch from where the first stood.
      for (const resource of ['endpointslices', 'pods'] as const) {
        const { lists, watches } = requestsFor(namespace, resource);
        expect(lists).toHaveLength(1);
        expect(watches).toEqual([watches[0], watches[0]]);
        expect(Number(watches[0])).toBeLessThanOrEqual(Number(listed));
      }
    } finally {
      cluster.standIn.releaseWatches();
      await stop();
      await registry.close();
    }
  });

  it('relists when its resourceVersion was compacted away (410 Gone), and ends with the state the server has', async () => {
    const namespace = 'gone';
    seed(namespace, ['web-a', 'web-b']);
    const registry = cluster.registry({ namespace });
    const sets: ServiceInstance[][] = [];
    const stop = await registry.watchService('web', (instances) => sets.push(instances));
    try {
      expect(idsOf(sets.at(-1))).toBe('web-a.web.gone,web-b.web.gone');
      cluster.standIn.holdWatches();
      cluster.standIn.dropWatches();
      await eventually(() => (cluster.standIn.heldWatches === 2 ? true : undefined));
      // While it is away: a slice replaced by another, a pod gone, and history forgotten.
      cluster.standIn.remove('endpointslices', namespace, 'web-1');
      cluster.standIn.remove('pods', namespace, 'web-a');
      cluster.standIn.apply('pods', pod('web-c', { namespace }));
      cluster.standIn.apply(
        'endpointslices',
        endpointSlice('web-2', {
          namespace,
          service: 'web',
          endpoints: [
            { address: '10.0.2.1', pod: 'web-b' },
            { address: '10.0.2.2', pod: 'web-c' },
          ],
        }),
      );
      cluster.standIn.compact();
      cluster.standIn.releaseWatches();
      await eventually(() => (idsOf(sets.at(-1)) === 'web-b.web.gone,web-c.web.gone' ? true : undefined));
      expect(sets.at(-1)!.map((instance) => instance.address)).toEqual(['10.0.2.1', '10.0.2.2']);
      expect(requestsFor(namespace, 'endpointslices').lists).toHaveLength(2);
      // And it watches on from the new list: a later change arrives.
      cluster.standIn.apply('endpointslices', endpointSlice('web-2', { namespace, service: 'web', endpoints: [{ address: '10.0.2.1', pod: 'web-b' }] }));
      await eventually(() => (idsOf(sets.at(-1)) === 'web-b.web.gone' ? true : undefined));
    } finally {
      cluster.standIn.releaseWatches();
      await stop();
      await registry.close();
    }
  });

  it('computes a relist of many objects once, and delivers the catalog once for it', async () => {
    const namespace = 'many';
    const registry = cluster.registry({ namespace, pods: false });
    const sets: ServiceInstance[][] = [];
    const stop = await registry.watchCatalog((instances) => sets.push(instances));
    try {
      cluster.standIn.holdWatches();
      cluster.standIn.dropWatches();
      await eventually(() => (cluster.standIn.heldWatches === 1 ? true : undefined));
      // 200 slices of 10 endpoints arrive while the watch is away; history is compacted, so they come by a relist.
      for (let s = 0; s < 200; s++) {
        const endpoints = Array.from({ length: 10 }, (_, e) => ({ address: `10.${Math.floor(s / 250)}.${s % 250}.${e + 1}` }));
        cluster.standIn.apply('endpointslices', endpointSlice(`svc-${s}-1`, { namespace, service: `svc-${s}`, endpoints }));
      }
      cluster.standIn.compact();
      const before = sets.length;
      cluster.standIn.releaseWatches();
      await eventually(() => (sets.at(-1)?.length === 2000 ? true : undefined));
      expect(sets.length - before).toBe(1);
    } finally {
      cluster.standIn.releaseWatches();
      await stop();
      await registry.close();
    }
  });

  it('takes bookmarks, so a quiet watch resumes past a compaction without relisting', async () => {
    const namespace = 'quiet';
    seed(namespace, ['web-a']);
    const registry = cluster.registry({ namespace });
    const sets: ServiceInstance[][] = [];
    const stop = await registry.watchService('web', (instances) => sets.push(instances));
    try {
      // Busy elsewhere: the cluster's resourceVersion moves on, this namespace's watches see nothing.
      for (let n = 0; n < 5; n++) cluster.standIn.apply('pods', pod(`elsewhere-${n}`, { namespace: 'busy' }));
      cluster.standIn.compact();
      const newest = cluster.standIn.resourceVersion;
      // The server ends its watches as their timeout does, with a bookmark first to those that asked.
      cluster.standIn.endWatches();
      await eventually(() =>
        requestsFor(namespace, 'endpointslices').watches.length === 2 && requestsFor(namespace, 'pods').watches.length === 2 ? true : undefined,
      );
      expect(requestsFor(namespace, 'endpointslices').watches[1]).toBe(newest);
      expect(requestsFor(namespace, 'pods').watches[1]).toBe(newest);
      expect(cluster.standIn.requests.filter((request) => request.watch).every((request) => request.query.get('allowWatchBookmarks') === 'true')).toBe(true);
      cluster.standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', endpoints: [{ address: '10.0.3.1', pod: 'web-a' }] }));
      await eventually(() => (sets.at(-1)?.[0]?.address === '10.0.3.1' ? true : undefined));
      expect(requestsFor(namespace, 'endpointslices').lists).toHaveLength(1);
      expect(requestsFor(namespace, 'pods').lists).toHaveLength(1);
    } finally {
      await stop();
      await registry.close();
    }
  });

  it('says stale once while the API server does not answer, keeps the last set, and delivers it again when back', async () => {
    const namespace = 'silent';
    seed(namespace, ['web-a']);
    const registry = cluster.registry({ namespace, dialTimeoutMs: 300, retryMinMs: 50, retryMaxMs: 200 });
    const sets: ServiceInstance[][] = [];
    const stale: unknown[] = [];
    const stop = await registry.watchService('web', (instances) => sets.push(instances), { onStale: (error) => stale.push(error) });
    try {
      cluster.standIn.holdWatches();
      cluster.standIn.dropWatches();
      await eventually(() => (stale.length > 0 ? true : undefined));
      // Retries keep failing (held past the dial timeout); it was said once.
      await eventually(() => (cluster.standIn.heldWatches >= 6 ? true : undefined));
      expect(stale).toHaveLength(1);
      expect(stale[0]).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(registry.backend) });
      expect((stale[0] as Error).message).toContain('did not answer');
      // The last set stands: nothing was delivered while stale.
      const delivered = sets.length;
      expect(sets.at(-1)?.map((instance) => instance.address)).toEqual(['10.0.0.1']);
      // A watcher that joins now gets the last set, and is told at once that it is stale.
      const late: unknown[] = [];
      const stopLate = await registry.watchService('web', (instances) => late.push(instances.length), { onStale: (error) => late.push(error) });
      await stopLate();
      expect(late).toEqual([1, stale[0]]);
      cluster.standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', endpoints: [{ address: '10.0.4.1', pod: 'web-a' }] }));
      cluster.standIn.releaseWatches();
      await eventually(() => (sets.at(-1)?.[0]?.address === '10.0.4.1' ? true : undefined));
      expect(sets.length).toBeGreaterThan(delivered);
      expect(stale).toHaveLength(1);
    } finally {
      cluster.standIn.releaseWatches();
      await stop();
      await registry.close();
    }
  });
});
