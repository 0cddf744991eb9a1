/**
 * `npm run bench [section...]` — standalone benchmarks (not part of `npm test`).
 * Sections: health, selection. Prints tables and writes bench/results.json.
 */
import { writeFileSync } from 'node:fs';
import { runHealthScenario, type HealthResult } from './health.js';
import { runSelectionBench } from './selection.js';
import { machine, printTable } from './support.js';

const sections = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const wanted = (name: string) => sections.length === 0 || sections.includes(name);
const results: Record<string, unknown>[] = [];

console.log(`Machine: ${machine()}; PostgreSQL: ${process.env['DATABASE_URL'] ? 'DATABASE_URL' : 'embedded'}; ${new Date().toISOString()}`);

if (wanted('health')) {
  const scenarios = [
    { name: 'capacity: 20,000 checks due every 1s', checks: 20_000, intervalMs: 1_000, concurrency: 1_000, seconds: 10 },
    { name: 'steady: 2,000 checks due every 1s', checks: 2_000, intervalMs: 1_000, concurrency: 256, seconds: 10 },
  ];
  const rows: HealthResult[] = [];
  for (const scenario of scenarios) rows.push(await runHealthScenario(scenario));
  console.log('\nHealth checks: one worker process, HTTP target in another process, loopback');
  printTable(
    ['scenario', 'checks/s', 'CPU (cores)', 'checks/s per core', 'lag p50 (ms)', 'lag p99 (ms)', 'DB writes/check', 'events/run'],
    rows.map((row) => [
      row.scenario.name,
      row.checksPerSecond.toFixed(0),
      row.cpuCores.toFixed(2),
      row.checksPerCoreSecond.toFixed(0),
      row.lagP50.toFixed(0),
      row.lagP99.toFixed(0),
      row.writeStatementsPerCheck.toFixed(3),
      `${(row.eventsPerRun * 100).toFixed(2)}%`,
    ]),
  );
  for (const row of rows) results.push({ section: 'health', ...row });
}

if (wanted('selection')) {
  const rows = await runSelectionBench(10, 32);
  console.log('\nSelection and outcome reports through GraphQL: one server process, autocannon in another, 32 connections, 10 s, 50 instances');
  printTable(
    ['operation', 'requests/s', 'p50 (ms)', 'p99 (ms)', 'errors'],
    rows.map((row) => [row.name, row.result.requestsPerSecond.toFixed(0), String(row.result.p50Ms), String(row.result.p99Ms), String(row.result.errors + row.result.non2xx)]),
  );
  for (const row of rows) results.push({ section: 'selection', name: row.name, ...row.result });
}

writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify({ machine: machine(), date: new Date().toISOString(), results }, null, 2)}\n`);
