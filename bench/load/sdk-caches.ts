import { ServiceDiscovery } from '@switchboard/sdk';
import WebSocket from 'ws';
import { Arrivals } from './sdk-arrivals.js';

/**
 * `count` SDK discovery caches (`ServiceDiscovery`, each its own connection), the i-th on urls[i % urls.length],
 * each watching every one of `services`. An instance counts as arrived at a cache when that cache first
 * holds it (whatever its health). Answers through Arrivals.
 */
const { urls, count, services } = JSON.parse(process.argv[2] ?? '{}') as { urls: string[]; count: number; services: string[] };
const arrivals = new Arrivals(count);
const discoveries: ServiceDiscovery[] = [];

/** Caches started at once: enough to be quick, few enough not to flood the servers with lookups. */
const BATCH = 20;
for (let start = 0; start < count; start += BATCH) {
  await Promise.all(
    Array.from({ length: Math.min(BATCH, count - start) }, async (_, offset) => {
      const url = urls[(start + offset) % urls.length]!;
      const discovery = new ServiceDiscovery({ registry: { url, webSocketImpl: WebSocket }, timeoutMs: 30_000 });
      discoveries.push(discovery);
      const known = new Set<string>();
      discovery.onChange((service) => {
        for (const { id } of discovery.cached(service, { passingOnly: false })?.instances ?? []) {
          if (known.has(id)) continue;
          known.add(id);
          arrivals.arrived(id);
        }
      });
      for (const service of services) await discovery.discover(service, { passingOnly: false });
    }),
  );
}
await arrivals.answer(async () => {
  await Promise.all(discoveries.map((discovery) => discovery.close()));
});
