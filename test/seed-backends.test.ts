import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsulRegistry } from '@switchboard/consul';
import { EtcdRegistry } from '@switchboard/etcd';
import { LoadBalancer, MultiRegistry, ServiceDiscovery, type Registry, type RegistryEvent, type ServiceDefinition } from '@switchboard/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { etcdMissing, startEtcd, type EtcdServer } from '../packages/etcd/test/support/etcd-server.js';
import { useRegistryNode } from './support/nodes.js';

/**
 * The seed's "Complete Service Setup" (`SetupServiceRegistry`, 000_…: "Examples") in TypeScript, as written:
 * a multi-registry over Consul (Switchboard's Consul-compatible API) and etcd; the current service registered
 * with its HTTP health check, weight and TTL; discovery; a weighted load balancer; framework components; event
 * handlers.
 */
const TOKEN = 'seed-backends-admin-token-0123456789abcdef';
const switchboard = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: TOKEN });
const missing = etcdMissing();

describe.skipIf(missing)('the seed’s Complete Service Setup over Consul and etcd', () => {
  let etcd: EtcdServer;
  let health: Server;
  let registry: MultiRegistry;

  beforeAll(async () => {
    etcd = await startEtcd();
    // The service's own /health, which Consul's HTTP check (run by Switchboard's workers) probes.
    health = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await registry?.close();
    await new Promise((resolve) => health?.close(resolve));
    await etcd?.close();
  });

  it('registers to both, discovers from both with provenance, balances, catalogues components and hears events', async () => {
    const port = (health.address() as AddressInfo).port;
    // registry := registry.NewMultiRegistry(registry.NewConsulRegistry(…), registry.NewEtcdRegistry(…))
    registry = new MultiRegistry([
      new ConsulRegistry({ address: `127.0.0.1:${switchboard.node.port}`, token: TOKEN }),
      new EtcdRegistry({ endpoints: [etcd.endpoint] }),
    ]);
    const [consul, etcdRegistry] = registry.registries as [Registry, Registry];

    // setupEventHandlers(registry)
    const events: RegistryEvent[] = [];
    const stopEvents = await registry.subscribe('deployment.*', (event) => events.push(event));

    const serviceDefinition: ServiceDefinition = {
      id: `api-orchestration-${randomUUID().slice(0, 8)}`,
      name: 'api-orchestration',
      version: '2.0.0',
      address: '127.0.0.1',
      port,
      tags: ['api', 'orchestration', 'production'],
      metadata: { environment: 'production', region: 'us-west-2' },
      // The seed's 30s interval, shortened so that the test sees the first check pass without waiting for it.
      healthCheck: { http: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '5s' },
      weight: 100,
      ttl: '5m',
    };
    await registry.registerService(serviceDefinition);

    // serviceDiscovery := NewServiceDiscovery(registry)
    const serviceDiscovery = new ServiceDiscovery({ registry });
    try {
      // Passing once both backends say so: etcd from its lease and the SDK's check, Consul from its checks.
      const found = await vi.waitFor(
        async () => {
          const [instance] = await serviceDiscovery.instances('api-orchestration');
          expect(instance?.id).toBe(serviceDefinition.id);
          return instance!;
        },
        { timeout: 20_000, interval: 200 },
      );
      expect(found).toMatchObject({ version: '2.0.0', port, weight: 100, tags: ['api', 'orchestration', 'production'] });
      const merged = await registry.getService(serviceDefinition.id!);
      expect(merged?.provenance).toEqual({ backends: [consul.backend, etcdRegistry.backend], divergences: [] });
      expect(merged?.metadata).toMatchObject({ environment: 'production', region: 'us-west-2' });

      // loadBalancer := NewWeightedLoadBalancer()
      const loadBalancer = new LoadBalancer({ strategy: 'WEIGHTED' });
      expect(loadBalancer.select(await serviceDiscovery.instances('api-orchestration'))?.id).toBe(serviceDefinition.id);
    } finally {
      await serviceDiscovery.close();
    }

    // registerFrameworkComponents(registry)
    await registry.registerComponent({ id: 'http-client', type: 'STEP', name: 'http-client', version: '1.2.0' });
    await registry.registerComponent({ id: 'json-transformer', type: 'TRANSFORMER', name: 'json-transformer', version: '1.0.0' });
    for (const backend of [consul, etcdRegistry]) expect((await backend.listComponents('STEP')).map((component) => component.id)).toEqual(['http-client']);

    const published = await registry.publish({ type: 'deployment.finished', source: 'api-orchestration', data: { build: 7 } });
    await vi.waitFor(() => expect(events.map((event) => event.type)).toEqual(['deployment.finished']), { timeout: 10_000 });
    expect(events[0]?.data).toEqual(published.data);
    await stopEvents();

    await registry.unregisterService(serviceDefinition.id!);
    for (const backend of [consul, etcdRegistry]) expect(await backend.getService(serviceDefinition.id!)).toBeUndefined();
  });
});
