import { sql } from 'drizzle-orm';
import { connectDatabase } from '../src/db/client.js';
import type { Etcd } from './etcd.js';
import { benchDatabase, percentile, startHttpTargetProcess, startServer } from './support.js';

export const SCRAPE_INSTANCES = 10_000;
export const SCRAPE_CHECKS = 2_000;
const SERVICES = 100;
const CHECK_INTERVAL_MS = 10_000;

export interface ScrapeTiming {
  p50Ms: number;
  p99Ms: number;
  bytes: number;
}

export interface MetricsBenchResult {
  ours: ScrapeTiming;
  etcd: ScrapeTiming | undefined;
  scrapes: number;
}

/**
 * `/metrics` scrape time on a serving node (its own process) holding 10,000 instances of
 * 100 services and 2,000 HTTP checks its health pool runs every 10 s, one scrape at a
 * time, as Prometheus does; and a real etcd's /metrics in the same run.
 */
export async function runMetricsBench(options: { etcd: Etcd | undefined; scrapes: number }): Promise<MetricsBenchResult> {
  const database = await benchDatabase();
  const target = await startHttpTargetProcess();
  try {
    await seed(database.url, target.port);
    const server = await startServer({ DATABASE_URL: database.url });
    try {
      // A few operations, so the GraphQL histogram has series to print, and checks have run.
      for (const name of ['svc-1', 'svc-2', 'svc-3']) {
        await fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: 'query Discover($name: String!) { discoverServices(name: $name) { id } }', variables: { name } }),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const ours = await timeScrapes(new URL('/metrics', server.url).toString(), options.scrapes);
      const etcd = options.etcd && (await timeScrapes(`${options.etcd.endpoint}/metrics`, options.scrapes));
      return { ours, etcd, scrapes: options.scrapes };
    } finally {
      await server.stop();
    }
  } finally {
    target.stop();
    await database.drop();
  }
}

async function timeScrapes(url: string, scrapes: number): Promise<ScrapeTiming> {
  const latencies: number[] = [];
  let bytes = 0;
  for (let i = 0; i < scrapes + 5; i++) {
    const started = performance.now();
    const response = await fetch(url);
    const body = await response.text();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${body.slice(0, 200)}`);
    if (i < 5) continue; // warm-up
    latencies.push(elapsed);
    bytes = Buffer.byteLength(body);
  }
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), bytes };
}

/** Instances and checks written straight into the tables: setup is not what is measured. */
async function seed(url: string, port: number): Promise<void> {
  const seeding = connectDatabase(url, { poolSize: 2 });
  try {
    await seeding.db.execute(sql`
      insert into services (id, name, version, address, port)
      select 'inst-' || i, 'svc-' || (i % ${SERVICES}::int), '1.0.0', '127.0.0.1', ${port}::int
      from generate_series(0, ${SCRAPE_INSTANCES - 1}::int) i`);
    await seeding.db.execute(sql`
      insert into health_checks (id, service_id, name, kind, target, interval_ms, timeout_ms, next_run_at)
      select 'inst-' || i || ':http', 'inst-' || i, 'HTTP', 'HTTP',
             jsonb_build_object('kind', 'HTTP', 'url', 'http://127.0.0.1:' || ${port}::int || '/health/' || i, 'method', 'GET', 'headers', '{}'::jsonb, 'tlsSkipVerify', false),
             ${CHECK_INTERVAL_MS}::int, 2000, now() + random() * ${CHECK_INTERVAL_MS}::int * interval '1 millisecond'
      from generate_series(0, ${SCRAPE_CHECKS - 1}::int) i`);
  } finally {
    await seeding.close();
  }
}
