import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { connectDatabase } from '../src/db/client.js';
import { HealthWorker } from '../src/checker/worker.js';
import { createLogger } from '../src/logger.js';
import { TargetPolicy } from '../src/registry/health/index.js';
import { histogramQuantile, histogramSince, readCounter, readHistogram } from './histogram.js';
import { benchDatabase, startHttpTargetProcess } from './support.js';

export interface HealthScenario {
  name: string;
  checks: number;
  intervalMs: number;
  concurrency: number;
  seconds: number;
}

export interface HealthResult {
  scenario: HealthScenario;
  checksPerSecond: number;
  cpuCores: number;
  checksPerCoreSecond: number;
  lagP50: number;
  lagP99: number;
  writeStatementsPerCheck: number;
  eventsPerRun: number;
}

const WARM_UP_MS = 2_000;
const RUNS = 'switchboard_health_checks_run_total';
const LAG = 'switchboard_health_check_lag_seconds';

/**
 * One health worker (in this process) against a local HTTP target (another
 * process): N checks due every interval, measured after a warm-up in which every
 * check has made its first CRITICAL -> PASSING transition.
 */
export async function runHealthScenario(scenario: HealthScenario): Promise<HealthResult> {
  const database = await benchDatabase();
  const target = await startHttpTargetProcess();
  let writes = 0;
  const db = connectDatabase(database.url, {
    poolSize: 10,
    onQuery: (query) => {
      if (/^\s*(update|insert|delete|with)/i.test(query)) writes += 1;
    },
  });
  try {
    await seedChecks(db.db, scenario, target.port);
    const worker = new HealthWorker(db.db, createLogger('warn'), {
      name: 'bench',
      concurrency: scenario.concurrency,
      includeScripts: false,
      targets: new TargetPolicy(undefined),
    });
    worker.start();
    // Warm up until every check has made its first CRITICAL -> PASSING transition.
    const warmUpEnds = Date.now() + 60_000;
    await sleep(WARM_UP_MS);
    while ((await countCritical(db.db)) > 0 && Date.now() < warmUpEnds) await sleep(500);

    const registry = worker.metrics.registry;
    const runsBefore = await readCounter(registry, RUNS);
    const lagBefore = await readHistogram(registry, LAG);
    const eventsBefore = await countEvents(db.db);
    writes = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await sleep(scenario.seconds * 1000);
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const runs = (await readCounter(registry, RUNS)) - runsBefore;
    const writeStatements = writes;
    const events = (await countEvents(db.db)) - eventsBefore;
    const lag = histogramSince(await readHistogram(registry, LAG), lagBefore);
    await worker.stop();

    const cpuCores = (cpu.user + cpu.system) / 1e6 / elapsed;
    return {
      scenario,
      checksPerSecond: runs / elapsed,
      cpuCores,
      checksPerCoreSecond: runs / elapsed / cpuCores,
      lagP50: histogramQuantile(0.5, lag) * 1000,
      lagP99: histogramQuantile(0.99, lag) * 1000,
      writeStatementsPerCheck: writeStatements / Math.max(runs, 1),
      eventsPerRun: events / Math.max(runs, 1),
    };
  } finally {
    target.stop();
    await db.close();
    await database.drop();
  }
}

/** Instances and checks written straight into the tables: setup is not what is measured. */
async function seedChecks(db: ReturnType<typeof connectDatabase>['db'], scenario: HealthScenario, port: number): Promise<void> {
  for (let offset = 0; offset < scenario.checks; offset += 1000) {
    const count = Math.min(1000, scenario.checks - offset);
    await db.execute(sql`
      insert into services (id, name, version, address, port)
      select 'bench-' || i, 'bench', '1.0.0', '127.0.0.1', ${port}::int from generate_series(${offset}::int, ${offset + count - 1}::int) i`);
    await db.execute(sql`
      insert into health_checks (id, service_id, name, kind, target, interval_ms, timeout_ms, next_run_at)
      select 'bench-' || i || ':http', 'bench-' || i, 'HTTP', 'HTTP',
             jsonb_build_object('kind', 'HTTP', 'url', 'http://127.0.0.1:' || ${port}::int || '/health/' || i, 'method', 'GET', 'headers', '{}'::jsonb, 'tlsSkipVerify', false),
             ${scenario.intervalMs}::int, 2000, now() + random() * ${scenario.intervalMs}::int * interval '1 millisecond'
      from generate_series(${offset}::int, ${offset + count - 1}::int) i`);
  }
}

async function countCritical(db: ReturnType<typeof connectDatabase>['db']): Promise<number> {
  const [row] = await db.execute<{ n: string }>(sql`select count(*) as n from health_checks where status <> 'PASSING'`);
  return Number(row!.n);
}

async function countEvents(db: ReturnType<typeof connectDatabase>['db']): Promise<number> {
  const [row] = await db.execute<{ n: string }>(sql`select count(*) as n from events`);
  return Number(row!.n);
}
