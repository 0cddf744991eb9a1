import { LoadBalancer, ServiceDiscovery } from '@switchboard/sdk';
import WebSocket from 'ws';
import { main } from './loops.js';

/**
 * SDK `discover()` + `select()` from a warm cache, one after the other in one loop for `seconds`: what a
 * service pays per call to find an instance. Reports calls per second.
 */
await main(async ({ url, service, instances, seconds }: { url: string; service: string; instances: number; seconds: number }) => {
  const discovery = new ServiceDiscovery({ registry: { url, webSocketImpl: WebSocket } });
  const balancer = new LoadBalancer({ strategy: 'ROUND_ROBIN' });
  try {
    const warm = await discovery.discover(service);
    if (warm.instances.length !== instances) throw new Error(`expected ${instances} instances of ${service}, got ${warm.instances.length}`);
    const run = async (ms: number) => {
      let calls = 0;
      const started = performance.now();
      const deadline = started + ms;
      // The clock is read every 1,000 calls: reading it costs about as much as a call.
      while (performance.now() < deadline) {
        for (let batch = 0; batch < 1_000; batch++) {
          const { instances: found } = await discovery.discover(service);
          if (balancer.select(found) === null) throw new Error('no instance selected');
        }
        calls += 1_000;
      }
      return { calls, seconds: (performance.now() - started) / 1000 };
    };
    await run(1_000); // warm-up: let V8 optimise the path
    const { calls, seconds: elapsed } = await run(seconds * 1000);
    return { calls, seconds: elapsed, perSecond: calls / elapsed, stale: (await discovery.discover(service)).stale };
  } finally {
    await discovery.close();
  }
});
