import { EtcdRegistry } from '@switchboard/etcd';
import { Etcd3 } from 'etcd3';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Etcd } from './etcd.js';
import { percentile, startServer } from './support.js';

export const SOURCE_CHANGES = 100;

export interface PropagationResult {
  changes: number;
  p50Ms: number;
  p99Ms: number;
}

const WATCH =
  'subscription ($names: [String!]!, $after: ID) { instancesChanged(names: $names, after: $after) { __typename ... on ServiceChange { kind serviceId } } }';
const PREFIX = '/bench-source/';
const SERVICE = 'bench-followed';

/**
 * A change through a followed source: an instance registered in etcd (EtcdRegistry), until a GraphQL
 * subscriber of a Switchboard server that follows that etcd prefix (SWITCHBOARD_SOURCES) hears of it; one
 * change at a time. The etcd column: the same put until a raw etcd watch on the prefix has it.
 */
export async function runSourcePropagation(options: { databaseUrl: string; etcd: Etcd }): Promise<{ ours: PropagationResult; etcd: PropagationResult }> {
  const sources = JSON.stringify([{ name: 'bench-etcd', type: 'etcd', endpoints: [options.etcd.endpoint], servicePrefix: PREFIX }]);
  const server = await startServer({ DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false', SWITCHBOARD_SOURCES: sources });
  const registry = new EtcdRegistry({ endpoints: [options.etcd.endpoint], servicePrefix: PREFIX });
  const raw = new Etcd3({ hosts: options.etcd.endpoint });
  const client = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    const heard = new Map<string, (at: number) => void>();
    // From the log's position now: a change made before the subscription is live is replayed, not missed.
    const after = await latestEventId(server.url);
    const unsubscribe = client.subscribe<{ instancesChanged: { __typename: string; kind?: string; serviceId?: string } }>(
      { query: WATCH, variables: { names: [SERVICE], after } },
      {
        next: ({ data }) => data?.instancesChanged.kind === 'REGISTERED' && heard.get(data.instancesChanged.serviceId!)?.(performance.now()),
        error: (error) => console.error(error),
        complete: () => {},
      },
    );
    const ours = await measure(async (i) => {
      const id = `${SERVICE}-${i}`;
      const arrived = new Promise<number>((resolve) => heard.set(id, resolve));
      const begin = performance.now();
      await registry.registerService({ id, name: SERVICE, address: '127.0.0.1', port: 30_000 + i });
      return (await withTimeout(arrived, 15_000, `the subscriber did not hear of ${id}`)) - begin;
    });
    unsubscribe();

    const seen = new Map<string, (at: number) => void>();
    const watcher = await raw.watch().prefix('/bench-source-raw/').create();
    watcher.on('put', (kv) => seen.get(kv.key.toString())?.(performance.now()));
    const etcd = await measure(async (i) => {
      const key = `/bench-source-raw/${i}`;
      const arrived = new Promise<number>((resolve) => seen.set(key, resolve));
      const begin = performance.now();
      await raw.put(key).value(JSON.stringify({ Addr: `127.0.0.1:${30_000 + i}` }));
      return (await withTimeout(arrived, 5_000, `the watch did not see ${key}`)) - begin;
    });
    await watcher.cancel();
    return { ours, etcd };
  } finally {
    await client.dispose();
    await raw.delete().prefix('/bench-source');
    raw.close();
    await registry.close();
    await server.stop();
  }
}

async function latestEventId(url: string): Promise<string | null> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ latestEventId }' }) });
  const { data } = (await response.json()) as { data: { latestEventId: string | null } };
  return data.latestEventId;
}

async function measure(change: (index: number) => Promise<number>): Promise<PropagationResult> {
  // The first change warms every path up; it is not counted.
  await change(0);
  const latencies: number[] = [];
  for (let i = 1; i <= SOURCE_CHANGES; i++) latencies.push(await change(i));
  return { changes: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
