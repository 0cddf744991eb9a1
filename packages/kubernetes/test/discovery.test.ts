import { ServiceDiscovery, type ServiceInstance } from '@switchboard/sdk';
import { describe, expect, it } from 'vitest';
import { tracked } from '../../../test/support/leaks.js';
import { eventually } from '../../../test/support/wait.js';
import { endpointSlice, pod, useStandIn } from './support/cluster.js';

/** Discovery from EndpointSlices and Pods: instances, health, what pods add, changes pushed, selectors. */
const cluster = useStandIn();

const ids = (instances: readonly { id: string }[]) => instances.map((instance) => instance.id);

describe('KubernetesRegistry discovery', () => {
  it('makes an instance of each endpoint, with health from its conditions and metadata from its pod', async () => {
    const namespace = 'shop';
    const { standIn } = cluster;
    standIn.apply(
      'pods',
      pod('web-a', {
        namespace,
        labels: { 'app.kubernetes.io/version': '2.1.0', tier: 'front' },
        annotations: { 'switchboard.io/tags': 'blue, canary', 'switchboard.io/weight': '30', 'switchboard.io/priority': '2' },
      }),
    );
    standIn.apply('pods', pod('web-b', { namespace, labels: { 'app.kubernetes.io/version': 'v1.9.0' } }));
    standIn.apply('pods', pod('web-c', { namespace }));
    standIn.apply(
      'endpointslices',
      endpointSlice('web-x1', {
        namespace,
        service: 'web',
        ports: [
          { name: 'metrics', port: 9090 },
          { name: 'http', port: 8080, appProtocol: 'http' },
        ],
        endpoints: [
          { address: '10.0.0.1', pod: 'web-a', nodeName: 'node-1', zone: 'zone-a' },
          { address: '10.0.0.2', pod: 'web-b', ready: false, serving: true, terminating: true },
          { address: '10.0.0.3', pod: 'web-c', ready: false, serving: false },
          // No pod behind it: a Service's manually managed endpoint.
          { address: '10.0.0.4' },
        ],
      }),
    );
    standIn.apply('endpointslices', endpointSlice('db-x1', { namespace, service: 'db', endpoints: [{ address: '10.0.1.1' }] }));
    const registry = cluster.registry({ namespace, portName: 'http' });
    try {
      const instances = await registry.discoverServices('web');
      expect(ids(instances)).toEqual(['10-0-0-4.web.shop', 'web-a.web.shop', 'web-b.web.shop', 'web-c.web.shop']);
      const byId = new Map(instances.map((instance) => [instance.id, instance]));
      expect(byId.get('web-a.web.shop')).toMatchObject({
        name: 'web',
        address: '10.0.0.1',
        port: 8080,
        version: '2.1.0',
        tags: ['blue', 'canary'],
        weight: 30,
        priority: 2,
        protocols: ['http'],
        metadata: { 'k8s-namespace': 'shop', 'k8s-pod': 'web-a', 'k8s-node': 'node-1', 'k8s-zone': 'zone-a', app: 'web', tier: 'front' },
        ttl: null,
        health: { status: 'PASSING' },
        updatedAt: '2026-12-01T10:00:00.000Z',
      });
      // Prefixed labels are not metadata keys Switchboard accepts.
      expect(byId.get('web-a.web.shop')!.metadata).not.toHaveProperty('app.kubernetes.io/version');
      expect(byId.get('web-b.web.shop')).toMatchObject({ version: '1.9.0', weight: 1, health: { status: 'WARNING' } });
      expect(byId.get('web-c.web.shop')!.health.status).toBe('CRITICAL');
      expect(byId.get('10-0-0-4.web.shop')).toMatchObject({ version: null, metadata: { 'k8s-namespace': 'shop' }, health: { status: 'PASSING' } });

      expect(ids(await registry.discoverServices('web', { passingOnly: true }))).toEqual(['10-0-0-4.web.shop', 'web-a.web.shop']);
      expect(ids(await registry.discoverServices('web', { version: '^2' }))).toEqual(['web-a.web.shop']);
      expect(ids(await registry.discoverServices('web', { tags: ['canary'] }))).toEqual(['web-a.web.shop']);
      expect(ids(await registry.discoverServicesByTag('blue'))).toEqual(['web-a.web.shop']);
      expect(await registry.discoverServices('db')).toHaveLength(1);
      expect(await registry.discoverServices('absent')).toEqual([]);
      await expect(registry.discoverServices('web', { version: 'not a range' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });

      expect((await registry.getService('web-b.web.shop'))?.address).toBe('10.0.0.2');
      expect(await registry.getServiceHealth('web-c.web.shop')).toMatchObject({ status: 'CRITICAL', checkCount: 1, failureCount: 1 });
      await expect(registry.getServiceHealth('nobody')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // Nothing was left watching: each lookup listed once.
      expect(standIn.openWatches).toBe(0);
    } finally {
      await registry.close();
    }
  });

  it('gives pods their own names as ids when asked, and reads no pods when told not to', async () => {
    const namespace = 'ids';
    cluster.standIn.apply('pods', pod('api-0', { namespace, annotations: { 'switchboard.io/weight': '5' } }));
    cluster.standIn.apply('endpointslices', endpointSlice('api-1', { namespace, service: 'api', endpoints: [{ address: '10.9.0.1', pod: 'api-0' }] }));
    const byPod = cluster.registry({ namespace, instanceIds: 'pod' });
    const withoutPods = cluster.registry({ namespace, pods: false });
    try {
      expect(await byPod.discoverServices('api')).toMatchObject([{ id: 'api-0', weight: 5 }]);
      expect(await withoutPods.discoverServices('api')).toMatchObject([{ id: 'api-0.api.ids', weight: 1, metadata: { 'k8s-namespace': 'ids' } }]);
      expect(cluster.standIn.requests.filter((request) => request.path === `/api/v1/namespaces/${namespace}/pods`)).toHaveLength(1);
    } finally {
      await Promise.all([byPod.close(), withoutPods.close()]);
    }
  });

  it('pushes every change to watchService and to a ServiceDiscovery over the registry', async () => {
    const namespace = 'push';
    const { standIn } = cluster;
    standIn.apply('pods', pod('web-a', { namespace }));
    standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', endpoints: [{ address: '10.1.0.1', pod: 'web-a' }] }));
    standIn.apply('endpointslices', endpointSlice('other-1', { namespace, service: 'other', endpoints: [{ address: '10.1.9.1' }] }));
    const registry = cluster.registry({ namespace });
    const sets: ServiceInstance[][] = [];
    const stop = await registry.watchService('web', (instances) => sets.push(instances));
    const discovery = tracked('ServiceDiscovery', namespace, new ServiceDiscovery({ registry }), 'close');
    try {
      expect(sets.map((set) => set.map((instance) => `${instance.id} ${instance.health.status}`))).toEqual([['web-a.web.push PASSING']]);
      expect(ids(await discovery.instances('web'))).toEqual(['web-a.web.push']);
      const told: string[] = [];
      discovery.onChange((service) => told.push(service));

      // The endpoint stops being ready.
      standIn.apply('endpointslices', endpointSlice('web-1', { namespace, service: 'web', endpoints: [{ address: '10.1.0.1', pod: 'web-a', ready: false }] }));
      await eventually(() => (sets.at(-1)?.[0]?.health.status === 'CRITICAL' ? true : undefined));
      await eventually(() => (discovery.cached('web')?.instances.length === 0 ? true : undefined));
      expect(discovery.cached('web', { passingOnly: false })?.instances.map((instance) => instance.health.status)).toEqual(['CRITICAL']);

      // A new pod, and its endpoint in a second slice.
      standIn.apply('pods', pod('web-b', { namespace }));
      standIn.apply('endpointslices', endpointSlice('web-2', { namespace, service: 'web', endpoints: [{ address: '10.1.0.2', pod: 'web-b' }] }));
      await eventually(() => (ids(sets.at(-1) ?? []).join() === 'web-a.web.push,web-b.web.push' ? true : undefined));
      await eventually(() =>
        discovery
          .cached('web')
          ?.instances.map((instance) => instance.id)
          .join() === 'web-b.web.push'
          ? true
          : undefined,
      );

      // A slice deleted takes its endpoints with it.
      standIn.remove('endpointslices', namespace, 'web-1');
      await eventually(() => (ids(sets.at(-1) ?? []).join() === 'web-b.web.push' ? true : undefined));
      expect(told.length).toBeGreaterThanOrEqual(3);
      expect(told.every((service) => service === 'web')).toBe(true);

      // A change to another service delivers nothing to this one.
      const delivered = sets.length;
      standIn.apply('endpointslices', endpointSlice('other-1', { namespace, service: 'other', endpoints: [{ address: '10.1.9.2' }] }));
      standIn.apply('endpointslices', endpointSlice('web-2', { namespace, service: 'web', endpoints: [{ address: '10.1.0.3', pod: 'web-b' }] }));
      await eventually(() => (sets.at(-1)?.[0]?.address === '10.1.0.3' ? true : undefined));
      expect(sets.length).toBe(delivered + 1);
      // Lookups answer from the informers while they watch: no list beyond the informers' own.
      const lists = standIn.requests.filter((request) => !request.watch && request.path.includes(`/namespaces/${namespace}/`)).length;
      await registry.discoverServices('web');
      expect(standIn.requests.filter((request) => !request.watch && request.path.includes(`/namespaces/${namespace}/`)).length).toBe(lists);
    } finally {
      await discovery.close();
      await stop();
      await registry.close();
    }
    await eventually(() => (cluster.standIn.openWatches === 0 ? true : undefined));
  });

  it('follows the whole catalog the label selector picks, and leaves out pods the field selector does not', async () => {
    const namespace = 'selectors';
    const { standIn } = cluster;
    standIn.apply('pods', pod('pay-a', { namespace }));
    standIn.apply('pods', pod('pay-b', { namespace, phase: 'Pending', ready: false }));
    standIn.apply(
      'endpointslices',
      endpointSlice('pay-1', {
        namespace,
        service: 'pay',
        labels: { team: 'a' },
        endpoints: [
          { address: '10.2.0.1', pod: 'pay-a' },
          { address: '10.2.0.2', pod: 'pay-b', ready: false },
        ],
      }),
    );
    standIn.apply('endpointslices', endpointSlice('ledger-1', { namespace, service: 'ledger', labels: { team: 'a' }, endpoints: [{ address: '10.2.1.1' }] }));
    standIn.apply('endpointslices', endpointSlice('search-1', { namespace, service: 'search', labels: { team: 'b' }, endpoints: [{ address: '10.2.2.1' }] }));
    const registry = cluster.registry({ namespace, labelSelector: 'team=a', fieldSelector: 'status.phase=Running' });
    const sets: string[][] = [];
    const stop = await registry.watchCatalog((instances) => sets.push(instances.map((instance) => `${instance.name}/${instance.id}`)));
    try {
      expect(sets).toEqual([['ledger/10-2-1-1.ledger.selectors', 'pay/pay-a.pay.selectors']]);
      // The pending pod starts running: its endpoint joins.
      standIn.apply('pods', pod('pay-b', { namespace, phase: 'Running', ready: false }));
      await eventually(() => (sets.at(-1)?.includes('pay/pay-b.pay.selectors') ? true : undefined));
      // A service that leaves the selector leaves the catalog.
      standIn.apply('endpointslices', endpointSlice('ledger-1', { namespace, service: 'ledger', labels: { team: 'b' }, endpoints: [{ address: '10.2.1.1' }] }));
      await eventually(() => (sets.at(-1)?.join() === 'pay/pay-a.pay.selectors,pay/pay-b.pay.selectors' ? true : undefined));
      const watches = standIn.requests.filter((request) => request.watch && request.path.includes(`/namespaces/${namespace}/`));
      expect(watches.find((request) => request.path.endsWith('/endpointslices'))?.query.get('labelSelector')).toBe('team=a');
      expect(watches.find((request) => request.path.endsWith('/pods'))?.query.get('fieldSelector')).toBe('status.phase=Running');
    } finally {
      await stop();
      await registry.close();
    }
  });

  it('skips what it cannot read, says so once, and discovers the rest', async () => {
    const namespace = 'malformed';
    const { standIn } = cluster;
    const warnings: string[] = [];
    // A huge annotation: tags longer than a tag may be are dropped, and at most 64 are kept.
    const manyTags = Array.from({ length: 5000 }, (_, n) => `tag-${n}`).join(',');
    standIn.apply(
      'pods',
      pod('ok', { namespace, annotations: { 'switchboard.io/weight': 'lots', 'switchboard.io/tags': `${'t'.repeat(200)},fine,${manyTags}` } }),
    );
    standIn.apply('endpointslices', endpointSlice('good', { namespace, service: 'web', endpoints: [{ address: '10.3.0.1', pod: 'ok' }] }));
    // No service-name label: not a Service's slice.
    standIn.apply('endpointslices', {
      ...endpointSlice('orphan', { namespace, service: 'web', endpoints: [{ address: '10.3.0.2' }] }),
      metadata: { name: 'orphan', namespace },
    });
    // What no API server should hold, served anyway: endpoints that are not a list, addresses that are not IPs.
    standIn.apply('endpointslices', { ...endpointSlice('broken', { namespace, service: 'web', endpoints: [] }), endpoints: 'lots' });
    standIn.apply('endpointslices', {
      ...endpointSlice('partly', { namespace, service: 'web', endpoints: [] }),
      endpoints: [{ addresses: ['not-an-ip'] }, { addresses: [] }, null, { addresses: ['10.3.0.5'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 700_000 }],
    });
    standIn.apply('endpointslices', endpointSlice('family', { namespace, service: 'web', addressType: 'IPv6', endpoints: [{ address: 'fd00::1' }] }));
    const registry = cluster.registry({ namespace, onWarning: (message) => warnings.push(message) });
    const sets: ServiceInstance[][] = [];
    const stop = await registry.watchService('web', (instances) => sets.push(instances));
    try {
      expect(sets[0]!.map((instance) => [instance.id, instance.port])).toEqual([
        ['10-3-0-5.web.malformed', null],
        ['ok.web.malformed', 8080],
      ]);
      const ok = sets[0]!.find((instance) => instance.id === 'ok.web.malformed')!;
      expect(ok.weight).toBe(1);
      expect(ok.tags[0]).toBe('fine');
      expect(ok.tags).toHaveLength(64);
      expect(warnings.join('\n')).toContain('"orphan" has no kubernetes.io/service-name label');
      expect(warnings.join('\n')).toContain('"broken" has endpoints that are not a list');
      expect(warnings.join('\n')).toContain('"partly": endpoint 0 has no IPv4 address');
      expect(warnings.join('\n')).toContain('"partly" has port 700000');
      expect(warnings.join('\n')).toContain('switchboard.io/weight "lots"');
      const said = warnings.length;
      // A later change recomputes everything, and says nothing new about the same objects.
      standIn.apply('endpointslices', endpointSlice('good', { namespace, service: 'web', endpoints: [{ address: '10.3.0.9', pod: 'ok' }] }));
      await eventually(() => (sets.at(-1)?.some((instance) => instance.address === '10.3.0.9') ? true : undefined));
      expect(warnings).toHaveLength(said);
    } finally {
      await stop();
      await registry.close();
    }
  });
});
