import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SwitchboardClient } from '@switchboard/client';
import { SwitchboardRegistry } from '@switchboard/sdk';
import { Etcd3 } from 'etcd3';
import type { Etcd } from './etcd.js';
import type { LoopResult } from './load/loops.js';
import { Inspector, memoryGrowth, openWebSockets, untilWebSockets, type MemoryGrowth } from './heap.js';
import { percentile, runLoadProcess, startServer } from './support.js';

/** Instances of the service the warm-cache loop discovers, as in the discovery section. */
export const CACHE_INSTANCES = 50;
/** SDK caches (and etcd watchers) that must all know a new instance; half on each server. */
export const CACHES = 100;
export const REGISTRATIONS = 50;
/** SDK connections held open for the memory rows, and the services each watches. */
export const MEMORY_CONNECTIONS = 1_000;
export const WATCHED_SERVICES = 10;

export interface ArrivalLatency {
  /** Until the first watcher knew the change (median): the rest of p50Ms is the fan-out to all of them. */
  firstP50Ms: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface SdkResults {
  cache: { perSecond: number; etcd: LoopResult | undefined };
  propagation: { ours: ArrivalLatency; etcd: ArrivalLatency | undefined };
  /** Server memory per SDK connection (see memoryPerConnection). */
  memory: MemoryGrowth;
}

const CACHE_SERVICE = 'sdk-cache';
const PROPAGATION_SERVICE = 'sdk-propagation';

/** One instance as registered with Switchboard and as the JSON value put in etcd. */
function definition(name: string, index: number) {
  return {
    id: `${name}-${index}`,
    name,
    version: `1.${index % 4}.0`,
    address: `10.9.${Math.floor(index / 250)}.${index % 250}`,
    port: 8080,
    tags: ['http', index % 2 ? 'blue' : 'green'],
    metadata: { zone: `zone-${index % 3}` },
    weight: 1 + (index % 5),
  };
}

/**
 * The SDK's three figures: warm-cache discover()+select() against etcd prefix reads; registerService on
 * server A until 100 SDK caches on A and B know the instance, against an etcd put until 100 watchers have
 * it; server memory per SDK connection watching 10 services.
 */
export async function runSdkBench(options: { databaseUrl: string; etcd: Etcd | undefined; seconds: number; connections: number }): Promise<SdkResults> {
  const env = { DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false' };
  const [serverA, serverB] = await Promise.all([startServer(env), startServer(env)]);
  const registry = new SwitchboardRegistry(new SwitchboardClient({ url: serverA.url }));
  let cache: SdkResults['cache'];
  let propagation: SdkResults['propagation'];
  try {
    for (let index = 0; index < CACHE_INSTANCES; index++) await registry.registerService(definition(CACHE_SERVICE, index));
    const loop = await runLoadProcess<{ perSecond: number; stale: boolean }>('sdk-cache.ts', {
      url: serverA.url,
      service: CACHE_SERVICE,
      instances: CACHE_INSTANCES,
      seconds: options.seconds,
    });
    if (loop.stale) throw new Error('the warm cache went stale during the loop');
    cache = { perSecond: loop.perSecond, etcd: options.etcd && (await etcdPrefixReads(options.etcd, options.seconds, options.connections)) };

    const ours = await measureArrivals('sdk-caches.ts', { urls: [serverA.url, serverB.url], count: CACHES, services: [PROPAGATION_SERVICE] }, async (index) => {
      const { id } = definition(PROPAGATION_SERVICE, index);
      const begin = performance.timeOrigin + performance.now();
      await registry.registerService(definition(PROPAGATION_SERVICE, index));
      return { key: id, begin };
    });
    propagation = { ours, etcd: options.etcd && (await etcdArrivals(options.etcd)) };
  } finally {
    await Promise.all([serverA.stop(), serverB.stop()]);
  }
  return { cache, propagation, memory: await memoryPerConnection(options.databaseUrl) };
}

/** etcd3 `getAll().prefix()` of the same 50 instances, in closed loops (its best rate, not one loop's). */
async function etcdPrefixReads(etcd: Etcd, seconds: number, connections: number): Promise<LoopResult> {
  const prefix = `/services/${CACHE_SERVICE}/`;
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    await Promise.all(
      Array.from({ length: CACHE_INSTANCES }, (_, index) => {
        const value = definition(CACHE_SERVICE, index);
        return client.put(`${prefix}${value.id}`).value(JSON.stringify({ ...value, priority: 0, health: { status: 'PASSING' } }));
      }),
    );
  } finally {
    client.close();
  }
  const params = { endpoint: etcd.endpoint, mode: 'range', concurrency: connections, prefix };
  await runLoadProcess<LoopResult>('etcd-ops.ts', { ...params, seconds: 2 });
  return runLoadProcess<LoopResult>('etcd-ops.ts', { ...params, seconds });
}

async function etcdArrivals(etcd: Etcd): Promise<ArrivalLatency> {
  const prefix = `/services/${PROPAGATION_SERVICE}/`;
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    return await measureArrivals('sdk-etcd-watchers.ts', { endpoint: etcd.endpoint, count: CACHES, prefix }, async (index) => {
      const value = definition(PROPAGATION_SERVICE, index);
      const key = `${prefix}${value.id}`;
      const begin = performance.timeOrigin + performance.now();
      await client.put(key).value(JSON.stringify(value));
      return { key, begin };
    });
  } finally {
    client.close();
  }
}

/**
 * Starts a watcher process (bench/load/sdk-caches.ts or sdk-etcd-watchers.ts), then makes REGISTRATIONS
 * changes one at a time, each timed from just before it is sent until the last of the watchers has it.
 * The first change proves every watcher is live and is not counted.
 */
async function measureArrivals(script: string, params: unknown, change: (index: number) => Promise<{ key: string; begin: number }>): Promise<ArrivalLatency> {
  const watchers = await startWatchers(script, params);
  try {
    const latencies: number[] = [];
    const firsts: number[] = [];
    for (let index = 0; index <= REGISTRATIONS; index++) {
      const { key, begin } = await change(index);
      const receipt = await watchers.expect(key, 10_000);
      if (receipt.received < CACHES) throw new Error(`${script}: ${receipt.received} of ${CACHES} watchers knew ${key}`);
      if (index > 0) {
        latencies.push(receipt.last - begin);
        firsts.push(receipt.first - begin);
      }
      // Changes a few milliseconds apart, not back to back: latency, not throughput.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { firstP50Ms: percentile(firsts, 50), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: Math.max(...latencies) };
  } finally {
    await watchers.stop();
  }
}

/**
 * Server memory per SDK connection, as bench/fanout.ts measures it: MEMORY_CONNECTIONS SDK discoveries in
 * another process, each its own connection watching WATCHED_SERVICES services (on one subscription), every
 * one proved live (it holds a new instance of each service). A warm-up round of as many is opened and
 * closed first; then the measured round. Heap and RSS are read through the server's inspector after forced
 * collections, before and with the round open; the server is the compiled one, as in production.
 */
async function memoryPerConnection(databaseUrl: string): Promise<MemoryGrowth> {
  const server = await startServer(
    {
      DATABASE_URL: databaseUrl,
      SWITCHBOARD_HEALTH_WORKER: 'false',
      SWITCHBOARD_MAX_SUBSCRIPTIONS_PER_TOKEN: String(MEMORY_CONNECTIONS * 2 + 100),
      SWITCHBOARD_MAX_CONNECTIONS: String(MEMORY_CONNECTIONS + 100),
    },
    ['--inspect=127.0.0.1:0'],
    { compiled: true },
  );
  const inspector = await Inspector.connect(server.inspectorUrl!, server.pid);
  const registry = new SwitchboardRegistry(new SwitchboardClient({ url: server.url }));
  const services = Array.from({ length: WATCHED_SERVICES }, (_, index) => `sdk-memory-${index}`);
  let next = 3;
  let idle = 0;
  /** Opens the round's connections; once every one is live, reads the memory, then closes them. */
  const round = async () => {
    const watchers = await startWatchers('sdk-caches.ts', { urls: [server.url], count: MEMORY_CONNECTIONS, services });
    try {
      // One new instance per service, until every connection has it: every subscription is live.
      for (const name of services) {
        const { id } = definition(name, next);
        await registry.registerService(definition(name, next));
        const receipt = await watchers.expect(id, 10_000);
        if (receipt.received < MEMORY_CONNECTIONS) throw new Error(`${receipt.received} of ${MEMORY_CONNECTIONS} SDK connections knew ${id}`);
      }
      next++;
      return await inspector.memoryAfterGc();
    } finally {
      await watchers.stop();
      await untilWebSockets(server.url, idle);
    }
  };
  try {
    for (const name of services) for (let index = 0; index < 3; index++) await registry.registerService(definition(name, index));
    idle = await openWebSockets(server.url);
    const cold = await inspector.memoryAfterGc();
    const coldOpen = await round();
    const before = await inspector.memoryAfterGc();
    const after = await round();
    return memoryGrowth({ cold: [cold, coldOpen], warm: [before, after] }, MEMORY_CONNECTIONS);
  } finally {
    await inspector.close();
    await server.stop();
  }
}

interface Receipt {
  first: number;
  last: number;
  received: number;
}

/** A bench/load/sdk-*.ts watcher process speaking Arrivals' protocol, once it is ready. */
async function startWatchers(script: string, params: unknown): Promise<{ expect(key: string, timeoutMs: number): Promise<Receipt>; stop(): Promise<void> }> {
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', `bench/load/${script}`, JSON.stringify(params)], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`bench/load/${script} ended`);
    return line.value;
  };
  const stop = async () => {
    if (child.exitCode === null) child.stdin!.write('exit\n');
    await exited;
  };
  try {
    if ((await nextLine()) !== 'ready') throw new Error(`bench/load/${script} did not get ready`);
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    async expect(key, timeoutMs) {
      child.stdin!.write(`expect ${key} ${timeoutMs}\n`);
      return JSON.parse(await nextLine()) as Receipt;
    },
    stop,
  };
}
