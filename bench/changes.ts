import { Etcd3 } from 'etcd3';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Etcd } from './etcd.js';
import { percentile, setConfig, startServer } from './support.js';

export interface LatencyResult {
  changes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const WATCH = 'subscription ($key: String!) { configChanged(key: $key) { key newValue version } }';

/**
 * Measures 3 (change latency): a setConfig sent to server A, until server B's
 * configChanged subscriber has it; one change at a time. The same for etcd: a put,
 * until a watcher on the key has the event.
 */
export async function runChangeLatency(options: {
  databaseUrl: string;
  etcd: Etcd | undefined;
  changes: number;
}): Promise<{ ours: LatencyResult; etcd: LatencyResult | undefined }> {
  const env = { DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false' };
  const [writer, watcher] = await Promise.all([startServer(env), startServer(env)]);
  try {
    const key = 'bench.latency';
    const arrivals = new Map<number, (at: number) => void>();
    const client = createClient({ url: watcher.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const unsubscribe = client.subscribe<{ configChanged: { version: number } }>(
      { query: WATCH, variables: { key } },
      { next: (message) => arrivals.get(message.data!.configChanged.version)?.(performance.now()), error: (error) => console.error(error), complete: () => {} },
    );
    // The first change proves the subscription is live; it is not counted.
    const ours = await measureChanges(options.changes + 1, async (index) => {
      const arrived = new Promise<number>((resolve) => arrivals.set(index + 1, resolve));
      const begin = performance.now();
      await setConfig(writer.url, key, { index });
      return (await withTimeout(arrived, 5_000)) - begin;
    });
    unsubscribe();
    await client.dispose();

    let etcd: LatencyResult | undefined;
    if (options.etcd) {
      const etcdClient = new Etcd3({ hosts: options.etcd.endpoint });
      const etcdArrivals = new Map<string, (at: number) => void>();
      const watch = await etcdClient.watch().key('/config/bench.latency').create();
      watch.on('put', (kv) => etcdArrivals.get(kv.value.toString())?.(performance.now()));
      etcd = await measureChanges(options.changes + 1, async (index) => {
        const arrived = new Promise<number>((resolve) => etcdArrivals.set(JSON.stringify({ index }), resolve));
        const begin = performance.now();
        await etcdClient.put('/config/bench.latency').value(JSON.stringify({ index }));
        return (await withTimeout(arrived, 5_000)) - begin;
      });
      await watch.cancel();
      etcdClient.close();
    }
    return { ours, etcd };
  } finally {
    await Promise.all([writer.stop(), watcher.stop()]);
  }
}

async function measureChanges(count: number, change: (index: number) => Promise<number>): Promise<LatencyResult> {
  const latencies: number[] = [];
  for (let index = 0; index < count; index++) {
    const latency = await change(index);
    if (index > 0) latencies.push(latency);
    // Changes a few milliseconds apart, not back to back: latency, not throughput.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { changes: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: Math.max(...latencies) };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no change notification within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
