import { Etcd3 } from 'etcd3';
import { connectDatabase } from '../src/db/client.js';
import { services } from '../src/db/schema/index.js';
import type { Etcd } from './etcd.js';
import type { LoopResult } from './load/loops.js';
import { loadTest, runLoadProcess, startPortProcess, startServer, type LoadResult } from './support.js';

export const SERVICES = 100;
export const INSTANCES = 50;
export const TARGET = 'svc-42';

export const DISCOVERY_QUERY =
  'query ($name: String!) { discoverServices(name: $name) { id name version address port tags metadata weight priority health { status } } }';

export interface DiscoveryResults {
  graphql: LoadResult;
  /** The same server with graphql-jit switched off: what compiling hot operations gains. */
  withoutJit: LoadResult;
  /** The same server through yoga's fetch layer (an Origin header keeps a query off the direct path). */
  throughYoga: LoadResult;
  bare: LoadResult;
  etcd: LoopResult | undefined;
}

/** What one instance looks like, in PostgreSQL and as the JSON value stored in etcd. */
function instance(service: number, index: number) {
  return {
    id: `svc-${service}-${index}`,
    name: `svc-${service}`,
    version: `1.${index % 4}.0`,
    address: `10.${service}.${Math.floor(index / 250)}.${index % 250}`,
    port: 8080,
    tags: ['http', index % 2 ? 'blue' : 'green'],
    metadata: { zone: `zone-${index % 3}` },
    weight: 1 + (index % 5),
    priority: 0,
    health: { status: 'PASSING' },
  };
}

/** Every seeded instance, in PostgreSQL and in etcd alike. */
function allInstances() {
  return Array.from({ length: SERVICES }, (_, service) => Array.from({ length: INSTANCES }, (_, index) => instance(service, index))).flat();
}

/** 100 services × 50 instances, written straight to the table before any server starts. */
export async function seedCatalog(databaseUrl: string): Promise<void> {
  const seed = connectDatabase(databaseUrl, { poolSize: 2 });
  const rows = allInstances().map(({ health: _health, ...row }) => row);
  for (let start = 0; start < rows.length; start += 1000) await seed.db.insert(services).values(rows.slice(start, start + 1000));
  await seed.close();
}

/**
 * Measures 1 (discovery reads) and 5 (GraphQL overhead): the same query against a
 * switchboard server, a bare http handler over the same catalog, and etcd prefix reads.
 */
export async function runDiscoveryBench(options: {
  databaseUrl: string;
  etcd: Etcd | undefined;
  connections: number;
  seconds: number;
}): Promise<DiscoveryResults> {
  const body = JSON.stringify({ query: DISCOVERY_QUERY, variables: { name: TARGET } });
  const measure = async (url: string, headers: Record<string, string> = {}) => {
    const check = (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()) as {
      data?: { discoverServices: unknown[] };
    };
    if (check.data?.discoverServices.length !== INSTANCES)
      throw new Error(`expected ${INSTANCES} instances from ${url}, got ${JSON.stringify(check).slice(0, 200)}`);
    await loadTest({ url, body, headers, connections: options.connections, seconds: 2 }); // warm-up
    return loadTest({ url, body, headers, connections: options.connections, seconds: options.seconds });
  };

  const serve = async (env: Record<string, string> = {}, headers: Record<string, string> = {}) => {
    const server = await startServer({ DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false', ...env });
    try {
      return await measure(server.url, headers);
    } finally {
      await server.stop();
    }
  };
  const graphql = await serve();
  const withoutJit = await serve({ SWITCHBOARD_JIT_AFTER: 'off' });
  const throughYoga = await serve({}, { origin: 'http://bench.test' });

  const bareServer = await startPortProcess(['bench/load/bare-discovery.ts', options.databaseUrl]);
  let bare: LoadResult;
  try {
    bare = await measure(`http://127.0.0.1:${bareServer.port}/`);
  } finally {
    bareServer.stop();
  }

  const etcd = options.etcd && (await etcdPrefixRange(options.etcd.endpoint, options));
  return { graphql, withoutJit, throughYoga, bare, etcd };
}

/** etcd's answer to discovery: the catalog seeded, then a prefix range of TARGET's instances from `connections` loops. */
export async function etcdPrefixRange(endpoint: string, options: { connections: number; seconds: number }): Promise<LoopResult> {
  await seedEtcd(endpoint);
  const params = { endpoint, mode: 'range', concurrency: options.connections, prefix: `/services/${TARGET}/` };
  await runLoadProcess<LoopResult>('etcd-ops.ts', { ...params, seconds: 2 }); // warm-up
  return runLoadProcess<LoopResult>('etcd-ops.ts', { ...params, seconds: options.seconds });
}

export async function seedEtcd(endpoint: string): Promise<void> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    const values = allInstances();
    for (let start = 0; start < values.length; start += INSTANCES) {
      await Promise.all(values.slice(start, start + INSTANCES).map((value) => client.put(`/services/${value.name}/${value.id}`).value(JSON.stringify(value))));
    }
  } finally {
    client.close();
  }
}
