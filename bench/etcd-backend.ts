import { EtcdRegistry } from '@switchboard/etcd';
import { ServiceDiscovery } from '@switchboard/sdk';
import { Etcd3, type Lease } from 'etcd3';
import { runLoops, type LoopResult } from './load/loops.js';

/**
 * The EtcdRegistry (@switchboard/etcd) against the etcd3 client used directly, on the etcd it is given:
 *
 * - registrations/s: `registerService` (a lease granted, kept alive, the instance put under it) vs `client.lease()`
 *   and a put under it, fresh ids, from `concurrency` closed loops in this process;
 * - discovery reads/s: `discoverServices(name)` (a prefix range, each value decoded into an instance) vs a prefix
 *   range with each value JSON-parsed;
 * - change → cache latency: a put of an instance's value until a ServiceDiscovery over the EtcdRegistry has it
 *   (its watch, the registry's decoding, the cache) vs until a raw etcd3 watch of the same prefix has it.
 *
 * Both sides run in this process, one after the other, so the client's CPU is counted on both; etcd is elsewhere.
 * Everything is written under `/services/bench-…/` and deleted at the end.
 */
export interface EtcdBackendBenchOptions {
  /** etcd's client URL, "http://127.0.0.1:2379". */
  endpoint: string;
  /** Seconds per measured loop (default 10). */
  seconds?: number;
  /** Concurrent registration loops, one row each (default [1, 64]). */
  registrationConcurrency?: readonly number[];
  /** Concurrent discovery loops (default 32). */
  readConcurrency?: number;
  /** Instances of the service read by discovery (default 50, as bench/discovery.ts). */
  instances?: number;
  /** Changes measured one at a time (default 200). */
  changes?: number;
}

export interface Latency {
  changes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface EtcdBackendBenchResult {
  registrations: { concurrency: number; ours: LoopResult; etcd3: LoopResult }[];
  discovery: { concurrency: number; instances: number; ours: LoopResult; etcd3: LoopResult };
  changes: { ours: Latency; etcd3: Latency };
}

const PREFIX = '/services/';

export async function runEtcdBackendBench(options: EtcdBackendBenchOptions): Promise<EtcdBackendBenchResult> {
  const seconds = options.seconds ?? 10;
  const client = new Etcd3({ hosts: options.endpoint });
  try {
    const registrations = [];
    for (const concurrency of options.registrationConcurrency ?? [1, 64]) {
      registrations.push({ concurrency, ...(await measureRegistrations(options.endpoint, client, concurrency, seconds)) });
    }
    const discovery = await measureDiscovery(options.endpoint, client, options.readConcurrency ?? 32, options.instances ?? 50, seconds);
    const changes = await measureChanges(options.endpoint, client, options.changes ?? 200);
    return { registrations, discovery, changes };
  } finally {
    await client.delete().prefix(`${PREFIX}bench-`);
    client.close();
  }
}

async function measureRegistrations(endpoint: string, client: Etcd3, concurrency: number, seconds: number): Promise<{ ours: LoopResult; etcd3: LoopResult }> {
  const registry = new EtcdRegistry({ endpoints: endpoint });
  let ours: LoopResult;
  try {
    const register = (name: string) => async (loop: number, iteration: number) => {
      await registry.registerService({ id: `${name}-${loop}-${iteration}`, name, version: '1.0.0', address: '10.1.0.1', port: 8080, tags: ['bench'] });
    };
    await runLoops(concurrency, 1, register(`bench-reg-warm-c${concurrency}`));
    ours = await runLoops(concurrency, seconds, register(`bench-reg-ours-c${concurrency}`));
  } finally {
    // Stops the keep-alives: the leases expire by themselves; the keys are deleted at the end.
    await registry.close();
  }
  const leases: Lease[] = [];
  try {
    const value = JSON.stringify({
      Op: 0,
      Addr: '10.1.0.1:8080',
      Metadata: {},
      name: 'bench',
      version: '1.0.0',
      address: '10.1.0.1',
      port: 8080,
      tags: ['bench'],
    });
    // etcd3's own recipe for service discovery: a lease (kept alive) per registration, the key put under it.
    const register = (prefix: string) => async (loop: number, iteration: number) => {
      const lease = client.lease(30);
      leases.push(lease);
      await lease.put(`${prefix}${loop}-${iteration}`).value(value);
    };
    await runLoops(concurrency, 1, register(`${PREFIX}bench-reg-rawwarm-c${concurrency}/`));
    const etcd3 = await runLoops(concurrency, seconds, register(`${PREFIX}bench-reg-raw-c${concurrency}/`));
    return { ours, etcd3 };
  } finally {
    for (const lease of leases) lease.release();
  }
}

async function measureDiscovery(
  endpoint: string,
  client: Etcd3,
  concurrency: number,
  instances: number,
  seconds: number,
): Promise<EtcdBackendBenchResult['discovery']> {
  const name = 'bench-read';
  const seeder = new EtcdRegistry({ endpoints: endpoint });
  const registry = new EtcdRegistry({ endpoints: endpoint });
  try {
    await Promise.all(
      Array.from({ length: instances }, (_, index) =>
        seeder.registerService({
          id: `${name}-${index}`,
          name,
          version: `1.${index % 4}.0`,
          address: `10.2.${Math.floor(index / 250)}.${index % 250}`,
          port: 8080,
          tags: ['http', index % 2 ? 'blue' : 'green'],
          metadata: { zone: `zone-${index % 3}` },
          weight: 1 + (index % 5),
          ttl: '1h',
        }),
      ),
    );
    const expect = (count: number) => {
      if (count !== instances) throw new Error(`read ${count} instances, expected ${instances}`);
    };
    // A warm-up, then the measured loops.
    await runLoops(concurrency, 1, async () => expect((await registry.discoverServices(name)).length));
    const ours = await runLoops(concurrency, seconds, async () => expect((await registry.discoverServices(name)).length));
    const etcd3 = await runLoops(concurrency, seconds, async () => {
      const values = await client.getAll().prefix(`${PREFIX}${name}/`).strings();
      expect(Object.values(values).map((value) => JSON.parse(value) as unknown).length);
    });
    return { concurrency, instances, ours, etcd3 };
  } finally {
    await Promise.all([seeder.close(), registry.close()]);
  }
}

async function measureChanges(endpoint: string, client: Etcd3, changes: number): Promise<EtcdBackendBenchResult['changes']> {
  const name = 'bench-change';
  const key = `${PREFIX}${name}/${name}-1`;
  const value = (port: number) => JSON.stringify({ Op: 0, Addr: `10.3.0.1:${port}`, Metadata: {}, name, address: '10.3.0.1', port });
  const lease = client.lease(3600);
  await lease.put(key).value(value(1));

  // Ours: a ServiceDiscovery over an EtcdRegistry, told of each change; the port says which change it holds.
  const registry = new EtcdRegistry({ endpoints: endpoint });
  const discovery = new ServiceDiscovery({ registry });
  const seen = new Map<number, () => void>();
  let ours: Latency;
  try {
    await discovery.instances(name);
    discovery.onChange(() => {
      const port = discovery.cached(name)?.instances[0]?.port;
      if (port != null) seen.get(port)?.();
    });
    ours = await oneAtATime(changes, (port) =>
      arrival(seen, port, () =>
        lease
          .put(key)
          .value(value(port))
          .then(() => {}),
      ),
    );
  } finally {
    await discovery.close();
    await registry.close();
  }

  // etcd3: a watch of the same prefix on a client of its own, told of the put.
  const watching = new Etcd3({ hosts: endpoint });
  try {
    const watcher = await watching.watch().prefix(`${PREFIX}${name}/`).create();
    watcher.on('put', (kv) => seen.get((JSON.parse(kv.value.toString()) as { port: number }).port)?.());
    const etcd3 = await oneAtATime(changes, (port) =>
      arrival(seen, port, () =>
        lease
          .put(key)
          .value(value(port))
          .then(() => {}),
      ),
    );
    await watcher.cancel();
    return { ours, etcd3 };
  } finally {
    watching.close();
    await lease.revoke();
  }
}

/** How long from just before `write` until `seen` is told of `port`. */
async function arrival(seen: Map<number, () => void>, port: number, write: () => Promise<void>): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const arrived = new Promise<number>((resolve, reject) => {
    seen.set(port, () => resolve(performance.now()));
    timer = setTimeout(() => reject(new Error(`change ${port} was not seen within 5 s`)), 5_000);
  });
  const begin = performance.now();
  await write();
  try {
    return (await arrived) - begin;
  } finally {
    clearTimeout(timer);
    seen.delete(port);
  }
}

/** `count` changes one at a time, a few milliseconds apart (latency, not throughput); the first is a warm-up. */
async function oneAtATime(count: number, change: (port: number) => Promise<number>): Promise<Latency> {
  const latencies: number[] = [];
  for (let index = 0; index <= count; index++) {
    const latency = await change(2 + index);
    if (index > 0) latencies.push(latency);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return { changes: latencies.length, p50Ms: at(50), p99Ms: at(99), maxMs: latencies.at(-1)! };
}
