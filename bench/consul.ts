import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { etcdPrefixRange, INSTANCES, TARGET } from './discovery.js';
import type { Etcd } from './etcd.js';
import type { LoopResult } from './load/loops.js';
import { loadTest, residentBytes, startServer, type LoadResult } from './support.js';

export interface ConsulBenchResults {
  /** GET /v1/health/service/:name?passing. */
  health: LoadResult;
  /** GraphQL discoverServices(name, passingOnly: true) on the same server, in the same run. */
  graphql: LoadResult;
  etcd: LoopResult | undefined;
  blocking: {
    queries: number;
    /** Server resident memory added per blocked query. */
    bytesPerQuery: number;
    /** From the registration request until the last blocked query had its answer (median of the rounds). */
    lastAnsweredMs: number;
    firstAnsweredMs: number;
  };
}

const PASSING_QUERY =
  'query ($name: String!) { discoverServices(name: $name, passingOnly: true) { id name version address port tags metadata weight priority health { status } } }';
const ROUNDS = 3;

/**
 * The Consul-compatible API against the same catalog as the discovery section (a service of
 * 50 instances among 5,000): health reads beside GraphQL and etcd, then `blockers` blocking
 * queries held open on that service until a registration changes it.
 */
export async function runConsulBench(options: {
  databaseUrl: string;
  etcd: Etcd | undefined;
  connections: number;
  seconds: number;
  blockers: number;
}): Promise<ConsulBenchResults> {
  const reads = await measureReads(options);
  // A fresh server for the blocking queries: one that has just served the read load has heap to spare, and RSS
  // would not grow for what the blocked queries take.
  const server = await startServer({ DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false' });
  try {
    const healthUrl = `${new URL(server.url).origin}/v1/health/service/${TARGET}?passing`;
    const rounds: { first: number; last: number; bytesPerQuery: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await blockingRound(server, healthUrl, options.blockers, round));
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    return {
      ...reads,
      blocking: {
        queries: options.blockers,
        // The first round's: later rounds reuse what the first one made the process take.
        bytesPerQuery: rounds[0]!.bytesPerQuery,
        lastAnsweredMs: median(rounds.map((round) => round.last)),
        firstAnsweredMs: median(rounds.map((round) => round.first)),
      },
    };
  } finally {
    await server.stop();
  }
}

async function measureReads(options: { databaseUrl: string; etcd: Etcd | undefined; connections: number; seconds: number }) {
  const server = await startServer({ DATABASE_URL: options.databaseUrl, SWITCHBOARD_HEALTH_WORKER: 'false' });
  try {
    const origin = new URL(server.url).origin;
    const healthUrl = `${origin}/v1/health/service/${TARGET}?passing`;
    const entries = (await (await fetch(healthUrl)).json()) as unknown[];
    if (entries.length !== INSTANCES) throw new Error(`expected ${INSTANCES} entries from ${healthUrl}, got ${entries.length}`);
    const measure = async (url: string, body?: string) => {
      await loadTest({ url, body, connections: options.connections, seconds: 2 }); // warm-up
      return loadTest({ url, body, connections: options.connections, seconds: options.seconds });
    };
    const health = await measure(healthUrl);
    const graphql = await measure(server.url, JSON.stringify({ query: PASSING_QUERY, variables: { name: TARGET } }));

    const etcd = options.etcd && (await etcdPrefixRange(options.etcd.endpoint, options));

    return { health, graphql, etcd };
  } finally {
    await server.stop();
  }
}

/** `count` blocking queries on the service, in another process; one registration; when each answered. */
async function blockingRound(server: { url: string; pid: number }, healthUrl: string, count: number, round: number) {
  const index = (await fetch(healthUrl)).headers.get('x-consul-index')!;
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // let the server settle before its baseline
  const baseline = residentBytes(server.pid);
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load/blocking.ts', JSON.stringify({ url: healthUrl, count, index })], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('blocking-query process ended');
    return line.value;
  };
  try {
    if ((await nextLine()) !== 'blocked') throw new Error('blocking-query process did not block');
    const bytesPerQuery = (residentBytes(server.pid) - baseline) / count;
    const begin = performance.timeOrigin + performance.now();
    await register(server.url, `${TARGET}-blocking-${round}`);
    child.stdin!.write('expect 30000\n');
    const receipt = JSON.parse(await nextLine()) as { first: number; last: number; answered: number; early: number };
    if (receipt.answered < count || receipt.early > 0) throw new Error(`${receipt.answered} of ${count} answered (${receipt.early} without a new index)`);
    return { first: receipt.first - begin, last: receipt.last - begin, bytesPerQuery };
  } finally {
    child.stdin!.write('exit\n');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function register(url: string, id: string): Promise<void> {
  const query = 'mutation ($input: ServiceDefinitionInput!) { registerService(input: $input) { id } }';
  const input = { id, name: TARGET, version: '1.0.0', address: '10.99.0.1', port: 8080 };
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: { input } }) });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(`registerService: ${JSON.stringify(body.errors)}`);
}
