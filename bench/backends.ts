import { SwitchboardClient } from '@switchboard/client';
import { ConsulRegistry } from '@switchboard/consul';
import { EtcdRegistry } from '@switchboard/etcd';
import { LoadBalancer, MultiRegistry, ServiceDiscovery, SwitchboardRegistry, type Registry } from '@switchboard/sdk';
import WebSocket from 'ws';
import type { Etcd } from './etcd.js';
import { percentile, startServer } from './support.js';

/** Instances of the service each backend's cache holds. */
export const BACKEND_INSTANCES = 50;
/** Registrations timed one at a time, from the write to the cache holding the instance. */
export const BACKEND_CHANGES = 100;

export interface BackendCacheResult {
  backend: string;
  /** ServiceDiscovery.discover + LoadBalancer.select on a warm cache, one loop. */
  callsPerSecond: number;
  /** registerService through the backend → the same process's cache holds the instance. */
  changeP50Ms: number;
  changeP99Ms: number;
}

/**
 * The SDK's cached discovery over each backend: the same ServiceDiscovery and LoadBalancer over
 * Switchboard, etcd, Consul (Switchboard's Consul API) and a MultiRegistry of the last two.
 */
export async function runBackendCaches(options: { databaseUrl: string; etcd: Etcd | undefined; seconds: number }): Promise<BackendCacheResult[]> {
  const server = await startServer({ DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false' });
  const consulAddress = new URL(server.url).host;
  const backends: [string, () => Registry][] = [
    ['switchboard', () => new SwitchboardRegistry(new SwitchboardClient({ url: server.url, webSocketImpl: WebSocket }))],
    ['consul (Switchboard /v1)', () => new ConsulRegistry({ address: consulAddress })],
  ];
  if (options.etcd) {
    const endpoint = options.etcd.endpoint;
    backends.push(['etcd', () => new EtcdRegistry({ endpoints: [endpoint] })]);
    backends.push([
      'multi (consul + etcd)',
      () => new MultiRegistry([new ConsulRegistry({ address: consulAddress }), new EtcdRegistry({ endpoints: [endpoint] })]),
    ]);
  }
  const results: BackendCacheResult[] = [];
  try {
    for (const [label, create] of backends) results.push(await measureBackend(label, create(), options.seconds));
  } finally {
    await server.stop();
  }
  return results;
}

async function measureBackend(label: string, registry: Registry, seconds: number): Promise<BackendCacheResult> {
  const name = `bench-backend-${label.replace(/\W+/g, '-').replace(/-+$/, '')}`;
  const discovery = new ServiceDiscovery({ registry });
  try {
    await Promise.all(
      Array.from({ length: BACKEND_INSTANCES }, (_, i) => registry.registerService({ id: `${name}-${i}`, name, address: '127.0.0.1', port: 10_000 + i })),
    );
    // Warm: the first lookup loads and starts following the service.
    while ((await discovery.instances(name)).length < BACKEND_INSTANCES) await new Promise((resolve) => setTimeout(resolve, 20));

    const balancer = new LoadBalancer({ strategy: 'ROUND_ROBIN' });
    let calls = 0;
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      for (let i = 0; i < 1000; i++) balancer.select((await discovery.discover(name)).instances);
      calls += 1000;
    }
    const callsPerSecond = calls / seconds;

    const latencies: number[] = [];
    for (let i = 0; i < BACKEND_CHANGES; i++) {
      const id = `${name}-new-${i}`;
      const arrived = new Promise<number>((resolve) => {
        const off = discovery.onChange(() => {
          if (discovery.cached(name, { passingOnly: false })?.instances.some((instance) => instance.id === id)) {
            off();
            resolve(performance.now());
          }
        });
      });
      const begin = performance.now();
      await registry.registerService({ id, name, address: '127.0.0.1', port: 20_000 + i });
      latencies.push((await withTimeout(arrived, 10_000, `${label}: the cache did not see ${id}`)) - begin);
    }
    for (let i = 0; i < BACKEND_CHANGES; i++) await registry.unregisterService(`${name}-new-${i}`);
    for (let i = 0; i < BACKEND_INSTANCES; i++) await registry.unregisterService(`${name}-${i}`);
    return { backend: label, callsPerSecond, changeP50Ms: percentile(latencies, 50), changeP99Ms: percentile(latencies, 99) };
  } finally {
    await discovery.close();
    await registry.close();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
