/**
 * `npm run bench [section...]` — standalone benchmarks (not part of `npm test`),
 * side by side with a real etcd started for the run. Sections: discovery,
 * registrations, changes, fanout, health, selection, sdk, backends, consul, metrics, alerts, dashboard, startup, bursts, heartbeats (default: all). Prints one
 * table and writes bench/results.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { runAlertLatency } from './alerts.js';
import { BACKEND_CHANGES, BACKEND_INSTANCES, runBackendCaches } from './backends.js';
import { runEtcdBackendBench } from './etcd-backend.js';
import { runSourcePropagation, SOURCE_CHANGES } from './sources.js';
import { BURST_KEYS, BURST_WRITES, BUSY_LOOPS, runBursts } from './bursts.js';
import { runChangeLatency } from './changes.js';
import { runConsulBench } from './consul.js';
import { DASHBOARD_LOADS, DASHBOARD_SERVICES, runDashboardBench } from './dashboard.js';
import { runDiscoveryBench, INSTANCES, SERVICES, seedCatalog, TARGET } from './discovery.js';
import { startEtcd, type Etcd } from './etcd.js';
import { runFanout } from './fanout.js';
import { runHealthScenario } from './health.js';
import { ETCD_LEASES, HEARTBEAT_CLIENTS, HEARTBEAT_INSTANCES, HEARTBEAT_SERVICES, HEARTBEAT_TTL_SECONDS, runHeartbeatBench } from './heartbeats.js';
import { runMetricsBench, SCRAPE_CHECKS, SCRAPE_INSTANCES } from './metrics.js';
import { BULK_BATCH, BULK_CONCURRENCY, runBulkRegistrations, runRegistrations } from './registrations.js';
import { CACHES, CACHE_INSTANCES, MEMORY_CONNECTIONS, REGISTRATIONS, runSdkBench, WATCHED_SERVICES } from './sdk.js';
import { runSelectionBench } from './selection.js';
import { runStartupBench, STARTUP_COMPONENTS } from './startup.js';
import { benchDatabase, machine, printTable } from './support.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = 32;

const sections = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const wanted = (name: string) => sections.length === 0 || sections.includes(name);

/** One line of the table. ratio: how many times better ours is (rates ours÷etcd, latencies etcd÷ours). */
interface Row {
  name: string;
  ours: number;
  etcd: number | null;
  ratio: number | null;
  unit: string;
  conditions: string;
}
const rows: Row[] = [];
const higherIsBetter = (unit: string) => unit.endsWith('/s') || unit === '×';
function row(name: string, ours: number, etcd: number | undefined, unit: string, conditions: string) {
  const ratio = etcd === undefined ? null : higherIsBetter(unit) ? ours / etcd : etcd / ours;
  rows.push({ name, ours, etcd: etcd ?? null, ratio, unit, conditions });
}

const database = await benchDatabase();
const etcdStart =
  sections.length === 0 || ['discovery', 'registrations', 'changes', 'sdk', 'backends', 'consul', 'metrics', 'heartbeats'].some(wanted)
    ? await startEtcd()
    : { skipped: 'not needed by these sections' };
const etcd: Etcd | undefined = 'skipped' in etcdStart ? undefined : etcdStart;
const etcdNote = 'skipped' in etcdStart ? `etcd rows skipped: ${etcdStart.skipped}` : `etcd ${etcd!.version}, one member, loopback, etcd3 client`;
console.log(`Machine: ${machine()}; ${database.where}; ${etcdNote}; ${new Date().toISOString()}`);

try {
  // The discovery and consul sections read the same seeded catalog.
  if (wanted('discovery') || wanted('consul')) await seedCatalog(database.url);
  if (wanted('discovery')) {
    const discovery = await runDiscoveryBench({ databaseUrl: database.url, etcd, connections: CONNECTIONS, seconds: SECONDS });
    const conditions = `discoverServices(name) → ${INSTANCES} instances of ${SERVICES}×${INSTANCES}; ${CONNECTIONS} connections, ${SECONDS} s; etcd: prefix range of the same JSON`;
    row('discovery reads', discovery.graphql.requestsPerSecond, discovery.etcd?.perSecond, 'req/s', conditions);
    row('discovery p50', discovery.graphql.p50Ms, discovery.etcd?.p50Ms, 'ms', conditions);
    row('discovery p99', discovery.graphql.p99Ms, discovery.etcd?.p99Ms, 'ms', conditions);
    rows.push({
      name: 'discovery reads, graphql-jit off',
      ours: discovery.withoutJit.requestsPerSecond,
      etcd: null,
      ratio: null,
      unit: 'req/s',
      conditions: `as above with SWITCHBOARD_JIT_AFTER=off (p50 ${discovery.withoutJit.p50Ms} ms, p99 ${discovery.withoutJit.p99Ms} ms)`,
    });
    rows.push({
      name: 'discovery reads through yoga',
      ours: discovery.throughYoga.requestsPerSecond,
      etcd: null,
      ratio: null,
      unit: 'req/s',
      conditions: `as above, each request with an Origin header, which keeps it off the direct path (p50 ${discovery.throughYoga.p50Ms} ms, p99 ${discovery.throughYoga.p99Ms} ms)`,
    });
    rows.push({
      name: 'GraphQL overhead',
      ours: discovery.graphql.requestsPerSecond / discovery.bare.requestsPerSecond,
      etcd: null,
      ratio: null,
      unit: '×',
      conditions: `the server ÷ a bare node:http handler serving the same JSON from the same catalog (${discovery.bare.requestsPerSecond.toFixed(0)} req/s); through yoga: ${(discovery.throughYoga.requestsPerSecond / discovery.bare.requestsPerSecond).toFixed(2)}×`,
    });
  }

  if (wanted('registrations')) {
    for (const concurrency of [1, 64]) {
      const result = await runRegistrations({ databaseUrl: database.url, etcd, concurrency, seconds: SECONDS });
      const conditions = `${concurrency} concurrent client${concurrency > 1 ? 's' : ''}, ${SECONDS} s; each a transaction + event + NOTIFY; etcd: put with a lease`;
      row(`registrations @${concurrency}`, result.ours.perSecond, result.etcd?.perSecond, 'ops/s', conditions);
      row(`registration p99 @${concurrency}`, result.ours.p99Ms, result.etcd?.p99Ms, 'ms', conditions);
    }
    const bulk = await runBulkRegistrations({ databaseUrl: database.url, seconds: SECONDS });
    const conditions = `registerServices of ${BULK_BATCH} fresh ids, ${BULK_CONCURRENCY} concurrent clients, ${SECONDS} s; each call one transaction + ${BULK_BATCH} events + one NOTIFY (call p50 ${bulk.p50Ms.toFixed(1)} ms, p99 ${bulk.p99Ms.toFixed(1)} ms)`;
    row(`bulk registrations (registerServices ×${BULK_BATCH})`, bulk.instancesPerSecond, undefined, 'instances/s', conditions);
  }

  if (wanted('changes')) {
    const changes = 200;
    // Three runs, each with its own etcd figure: the goal (p99 ≤ 2× etcd + 5 ms) must hold in every one.
    for (const run of [1, 2, 3]) {
      const result = await runChangeLatency({ databaseUrl: database.url, etcd, changes });
      const bound = result.etcd && `; goal ≤ 2× etcd + 5 ms = ${(2 * result.etcd.p99Ms + 5).toFixed(1)} ms`;
      const conditions = `setConfig on server A → configChanged on server B (graphql-ws), ${changes} changes one at a time; etcd: put → watch; run ${run} of 3`;
      row(`change latency p50 (run ${run})`, result.ours.p50Ms, result.etcd?.p50Ms, 'ms', conditions);
      row(`change latency p99 (run ${run})`, result.ours.p99Ms, result.etcd?.p99Ms, 'ms', `${conditions}${bound ?? ''}`);
    }
  }

  if (wanted('fanout')) {
    for (const subscribers of [1_000, 5_000, 10_000]) {
      const result = await runFanout({ databaseUrl: database.url, subscribers });
      const conditions = `one setConfig → ${subscribers} graphql-ws connections with a configChanged each (another process); median of 5`;
      const goal = subscribers === 10_000 ? (figure: string) => `; goal ≤ ${figure}` : () => '';
      row(`fan-out to ${subscribers}: last received`, result.lastReceivedMs, undefined, 'ms', `${conditions}${goal('500 ms')}`);
      const { heapBytes, externalBytes, rssBytes, coldRssBytes } = result.memory;
      const round = `${subscribers} subscribers opened after a warm-up round of as many had closed; KB = 1,000 bytes`;
      row(
        `fan-out to ${subscribers}: heap`,
        heapBytes / 1000,
        undefined,
        'KB/subscriber',
        `compiled server's V8 heap growth after forced GC (inspector) ÷ subscribers, ${round} (external memory: ${(externalBytes / 1000).toFixed(1)} KB)${goal('20')}`,
      );
      row(
        `fan-out to ${subscribers}: RSS`,
        rssBytes / 1000,
        undefined,
        'KB/subscriber',
        `compiled server's RSS growth ÷ subscribers, ${round} (the warm-up round, from a cold server: ${(coldRssBytes / 1000).toFixed(1)} KB)${goal('20')}`,
      );
    }
  }

  if (wanted('health')) {
    const scenarios = [
      {
        name: 'capacity',
        checks: 20_000,
        intervalMs: 1_000,
        concurrency: 1_000,
        seconds: SECONDS,
        conditions: '20,000 HTTP checks due every 1 s, target in another process',
      },
      { name: 'steady', checks: 2_000, intervalMs: 1_000, concurrency: 256, seconds: SECONDS, conditions: '2,000 HTTP checks due every 1 s' },
    ];
    for (const scenario of scenarios) {
      const result = await runHealthScenario(scenario);
      row(
        `health checks (${scenario.name})`,
        result.checksPerSecond,
        undefined,
        'checks/s',
        `${scenario.conditions}; one worker process at ${result.cpuCores.toFixed(2)} cores`,
      );
      row(
        `health lag p99 (${scenario.name})`,
        result.lagP99,
        undefined,
        'ms',
        'run start after the check was due, from the lag histogram (interpolated within its bucket, as histogram_quantile does)',
      );
      row(
        `health DB writes (${scenario.name})`,
        result.writeStatementsPerCheck,
        undefined,
        'statements/check',
        'batched counter updates; events only on transitions',
      );
    }
  }

  if (wanted('selection')) {
    for (const selection of await runSelectionBench(SECONDS, CONNECTIONS)) {
      row(
        selection.name,
        selection.result.requestsPerSecond,
        undefined,
        'req/s',
        `${CONNECTIONS} connections, ${SECONDS} s, 50 instances; p99 ${selection.result.p99Ms} ms`,
      );
    }
  }
  if (wanted('sdk')) {
    const sdk = await runSdkBench({ databaseUrl: database.url, etcd, seconds: SECONDS, connections: CONNECTIONS });
    row(
      'SDK discover + select, warm cache',
      sdk.cache.perSecond,
      sdk.cache.etcd?.perSecond,
      'calls/s',
      `ServiceDiscovery.discover(name) + LoadBalancer.select() over ${CACHE_INSTANCES} instances, one loop in one process, ${SECONDS} s; etcd: getAll().prefix() of the same ${CACHE_INSTANCES}, ${CONNECTIONS} loops; goal ≥ 100×`,
    );
    const propagation = `registerService on server A → all ${CACHES} SDK caches (half on A, half on B) hold the instance, ${REGISTRATIONS} one at a time; etcd: put → ${CACHES} watchers (one client each)`;
    const firsts = `first cache after ${sdk.propagation.ours.firstP50Ms.toFixed(1)} ms (etcd: ${sdk.propagation.etcd?.firstP50Ms.toFixed(1) ?? '—'} ms), median`;
    row('SDK propagation p50', sdk.propagation.ours.p50Ms, sdk.propagation.etcd?.p50Ms, 'ms', `${propagation}; ${firsts}`);
    const bound = sdk.propagation.etcd && `; goal ≤ 2× etcd + 5 ms = ${(2 * sdk.propagation.etcd.p99Ms + 5).toFixed(1)} ms`;
    row('SDK propagation p99', sdk.propagation.ours.p99Ms, sdk.propagation.etcd?.p99Ms, 'ms', `${propagation}${bound ?? ''}`);
    const round = `${MEMORY_CONNECTIONS} ServiceDiscovery connections (another process), each watching ${WATCHED_SERVICES} services, opened after a warm-up round of as many had closed; KB = 1,000 bytes`;
    row(
      'SDK connection: server heap',
      sdk.memory.heapBytes / 1000,
      undefined,
      'KB/connection',
      `compiled server's V8 heap growth after forced GC (inspector) ÷ ${round} (external memory: ${(sdk.memory.externalBytes / 1000).toFixed(1)} KB); goal ≤ 30`,
    );
    row(
      'SDK connection: server RSS',
      sdk.memory.rssBytes / 1000,
      undefined,
      'KB/connection',
      `compiled server's RSS growth ÷ ${round} (the warm-up round, from a cold server: ${(sdk.memory.coldRssBytes / 1000).toFixed(1)} KB); goal ≤ 30`,
    );
  }
  if (wanted('backends') && etcd) {
    // The etcd column here is the etcd3 client used directly on the same etcd: what the EtcdRegistry adds to it.
    const backend = await runEtcdBackendBench({ endpoint: etcd.endpoint, seconds: Math.min(SECONDS, 5) });
    const direct = 'etcd column: the etcd3 client used directly';
    for (const { concurrency, ours, etcd3 } of backend.registrations) {
      row(
        `EtcdRegistry registrations, ${concurrency} clients`,
        ours.perSecond,
        etcd3.perSecond,
        'req/s',
        `registerService (lease granted, kept alive, key put under it); ${direct} (lease + put); p99 ${ours.p99Ms.toFixed(1)} vs ${etcd3.p99Ms.toFixed(1)} ms`,
      );
    }
    const { discovery } = backend;
    row(
      'EtcdRegistry discovery reads',
      discovery.ours.perSecond,
      discovery.etcd3.perSecond,
      'req/s',
      `discoverServices(name) → ${discovery.instances} instances, ${discovery.concurrency} loops; ${direct} (prefix range + JSON.parse)`,
    );
    row(
      'EtcdRegistry change → cache p99',
      backend.changes.ours.p99Ms,
      backend.changes.etcd3.p99Ms,
      'ms',
      `a put seen by a ServiceDiscovery over the EtcdRegistry, ${backend.changes.ours.changes} one at a time (p50 ${backend.changes.ours.p50Ms.toFixed(1)} ms); ${direct} (a raw watch, p50 ${backend.changes.etcd3.p50Ms.toFixed(1)} ms)`,
    );
  }
  if (wanted('backends') && etcd) {
    const source = await runSourcePropagation({ databaseUrl: database.url, etcd });
    const conditions = `EtcdRegistry.registerService under a prefix the server follows (SWITCHBOARD_SOURCES) → an instancesChanged subscriber of that server, ${SOURCE_CHANGES} one at a time (p50 ${source.ours.p50Ms.toFixed(1)} ms); etcd: a put → a raw watch (p50 ${source.etcd.p50Ms.toFixed(1)} ms)`;
    row('followed source → subscriber p99', source.ours.p99Ms, source.etcd.p99Ms, 'ms', conditions);
  }
  if (wanted('backends')) {
    for (const result of await runBackendCaches({ databaseUrl: database.url, etcd, seconds: Math.min(SECONDS, 3) })) {
      const over = `ServiceDiscovery + LoadBalancer over the ${result.backend} backend`;
      rows.push({
        name: `cached discovery, ${result.backend}`,
        ours: result.callsPerSecond,
        etcd: null,
        ratio: null,
        unit: 'calls/s',
        conditions: `${over}: discover(name) + select() over ${BACKEND_INSTANCES} instances, warm cache, one loop`,
      });
      rows.push({
        name: `change → cache p99, ${result.backend}`,
        ours: result.changeP99Ms,
        etcd: null,
        ratio: null,
        unit: 'ms',
        conditions: `${over}: registerService → the same process's cache holds it, ${BACKEND_CHANGES} one at a time (p50 ${result.changeP50Ms.toFixed(1)} ms)`,
      });
    }
  }
  if (wanted('consul')) {
    const blockers = 1_000;
    const consul = await runConsulBench({ databaseUrl: database.url, etcd, connections: CONNECTIONS, seconds: SECONDS, blockers });
    const conditions = `GET /v1/health/service/${TARGET}?passing → ${INSTANCES} entries of ${SERVICES}×${INSTANCES}; ${CONNECTIONS} connections, ${SECONDS} s; etcd: prefix range of the same JSON`;
    row('Consul health reads', consul.health.requestsPerSecond, consul.etcd?.perSecond, 'req/s', conditions);
    row('Consul health p99', consul.health.p99Ms, consul.etcd?.p99Ms, 'ms', `${conditions} (p50 ${consul.health.p50Ms} ms)`);
    const graphqlConditions = `discoverServices(name, passingOnly: true) on the same server in the same run; ${CONNECTIONS} connections, ${SECONDS} s`;
    row('GraphQL passing discovery', consul.graphql.requestsPerSecond, consul.etcd?.perSecond, 'req/s', graphqlConditions);
    row('GraphQL passing discovery p99', consul.graphql.p99Ms, consul.etcd?.p99Ms, 'ms', `${graphqlConditions} (p50 ${consul.graphql.p50Ms} ms)`);
    const blocking = `${blockers} blocking queries (?index=&wait=5m, one connection each, another process) on ${TARGET}?passing; one registerService; a fresh server; times: median of 3 rounds`;
    row(
      `${blockers} blocking queries: memory`,
      consul.blocking.bytesPerQuery / 1024,
      undefined,
      'KiB/query',
      `${blocking}; server RSS growth ÷ queries, first round`,
    );
    row(
      `${blockers} blocking queries: all answered`,
      consul.blocking.lastAnsweredMs,
      undefined,
      'ms',
      `${blocking}; from the registration request to the last answer (first after ${consul.blocking.firstAnsweredMs.toFixed(1)} ms)`,
    );
  }
  if (wanted('metrics')) {
    const scrapes = 200;
    const metrics = await runMetricsBench({ etcd, scrapes });
    const conditions = `GET /metrics, ${scrapes} scrapes one at a time, on a server holding ${SCRAPE_INSTANCES.toLocaleString('en')} instances and ${SCRAPE_CHECKS.toLocaleString('en')} HTTP checks (run every 10 s by its health pool); etcd: its /metrics in the same run`;
    row('/metrics scrape p50', metrics.ours.p50Ms, metrics.etcd?.p50Ms, 'ms', conditions);
    row('/metrics scrape p99', metrics.ours.p99Ms, metrics.etcd?.p99Ms, 'ms', conditions);
    row('/metrics size', metrics.ours.bytes / 1024, metrics.etcd && metrics.etcd.bytes / 1024, 'KiB', 'one scrape, uncompressed');
  }
  if (wanted('alerts')) {
    const samples = Number(process.env['BENCH_ALERT_SAMPLES'] ?? 300);
    const alerts = await runAlertLatency({ databaseUrl: database.url, samples });
    const conditions = `one server, webhook receiver in the bench process, ${samples} changes one at a time, each alert resolved before the next`;
    row('alert latency p50 (EVENT_SEEN)', alerts.eventSeen.p50Ms, undefined, 'ms', `publishEvent request → signed webhook POST received; ${conditions}`);
    row('alert latency p99 (EVENT_SEEN)', alerts.eventSeen.p99Ms, undefined, 'ms', `publishEvent request → signed webhook POST received; ${conditions}`);
    const critical = `updateTtlCheck(CRITICAL) of the only instance's check → NO_PASSING (no \`for\`) webhook received; ${conditions}`;
    row('alert latency p50 (NO_PASSING)', alerts.noPassing.p50Ms, undefined, 'ms', critical);
    row('alert latency p99 (NO_PASSING)', alerts.noPassing.p99Ms, undefined, 'ms', critical);
  }
  if (wanted('dashboard')) {
    const dashboard = await runDashboardBench();
    if ('skipped' in dashboard) console.log(`dashboard skipped: ${dashboard.skipped}`);
    else {
      const conditions = `overview at /ui with ${DASHBOARD_SERVICES.toLocaleString('en')} services, Chromium headless, fresh context per load; navigation start to the first frame with every service row in the table; median of ${DASHBOARD_LOADS} loads after a warm-up (each: ${dashboard.firstRenderMs.map((ms) => Math.round(ms)).join(', ')} ms)`;
      row('dashboard overview first render', dashboard.p50Ms, undefined, 'ms', conditions);
    }
  }
  if (wanted('startup')) {
    const samples = Number(process.env['BENCH_STARTUP_SAMPLES'] ?? 15);
    const startup = await runStartupBench({ databaseUrl: database.url, samples });
    const conditions = `a fresh process per sample (${samples} of each, alternating): import a service providing ${STARTUP_COMPONENTS} components, then start() against one server registers it and them in dependency order; median`;
    const modes = [
      ['decorators', startup.decorators, 'declared by @service/@component (each validated at class definition), ordered at start'],
      ['generated module', startup.generated, 'declared by the module `switchboard generate` wrote (constants, precomputed order), on an undecorated class'],
    ] as const;
    for (const [mode, times, how] of modes) {
      rows.push({ name: `start-up: import, ${mode}`, ours: times.declareP50Ms, etcd: null, ratio: null, unit: 'ms', conditions: `${how}; ${conditions}` });
      rows.push({ name: `start-up: start(), ${mode}`, ours: times.startP50Ms, etcd: null, ratio: null, unit: 'ms', conditions: `${how}; ${conditions}` });
    }
  }
  if (wanted('bursts')) {
    const bursts = await runBursts({ databaseUrl: database.url, loadSettleSeconds: SECONDS });
    for (const [run, result] of [
      ['idle', bursts.idle],
      ['loaded', bursts.loaded],
    ] as const) {
      const failed = Object.entries(result.errors).map(([code, count]) => `${count}× ${code}`);
      const conditions = `${BURST_WRITES} setConfig at once on ${BURST_KEYS} keys, half to each of two servers, 5 s request deadline; ${run === 'loaded' ? `${BUSY_LOOPS} busy-loop processes running, ` : ''}load average ${result.loadAverage.toFixed(1)}${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}`;
      row(`same-key bursts (${run}): succeeded`, result.succeeded, undefined, `of ${BURST_WRITES}`, conditions);
      row(`same-key bursts (${run}): p99`, result.p99Ms, undefined, 'ms', conditions);
      row(`same-key bursts (${run}): last done`, result.lastDoneMs, undefined, 'ms', `${conditions}; from the first request sent`);
    }
  }
  if (wanted('heartbeats')) {
    const seconds = Number(process.env['BENCH_HEARTBEAT_SECONDS'] ?? 120);
    const beats = await runHeartbeatBench({ databaseUrl: database.url, etcd, seconds, etcdSeconds: SECONDS });
    const { ours, feedLag } = beats;
    const failed = Object.entries(ours.errorCodes).map(([code, count]) => `${count}× ${code}`);
    const setup = `${HEARTBEAT_INSTANCES.toLocaleString('en')} TTL instances (${HEARTBEAT_TTL_SECONDS} s) in ${HEARTBEAT_SERVICES.toLocaleString('en')} services, two servers, ${HEARTBEAT_CLIENTS} closed-loop heartbeat clients (another process, half on each) round-robin over all, ${seconds} s`;
    const etcdSide = `etcd: lease keepaliveOnce() from ${HEARTBEAT_CLIENTS} loops round-robin over ${ETCD_LEASES.toLocaleString('en')} leases (one key each), ${SECONDS} s`;
    const needed = Math.ceil(HEARTBEAT_INSTANCES / HEARTBEAT_TTL_SECONDS);
    row(
      `heartbeats @${HEARTBEAT_CLIENTS} (100k TTL instances)`,
      ours.perSecond,
      beats.etcd?.perSecond,
      'renewals/s',
      `${setup}; keeping every lease needs ≥ ${needed}/s; failed: ${failed.join(', ') || 'none'}; ${etcdSide}; goal ≥ 0.5× etcd`,
    );
    row(`heartbeat p99 @${HEARTBEAT_CLIENTS}`, ours.p99Ms, beats.etcd?.p99Ms, 'ms', `${setup} (p50 ${ours.p50Ms.toFixed(1)} ms); ${etcdSide}`);
    row(
      'heartbeats: lapsed instances',
      beats.lapsed,
      undefined,
      'instances',
      `${setup}; leases that ran out during the run (swept, or not yet); ${beats.missing} rows removed; goal 0`,
    );
    row(
      'heartbeats: events per renewal',
      beats.events / Math.max(1, ours.operations),
      undefined,
      'events/renewal',
      `${beats.events} events appended during the run (the feed probe's and lapses' left out) ÷ ${ours.operations} renewals; goal ~0`,
    );
    row(
      'heartbeats: feed lag p99',
      feedLag.p99Ms,
      undefined,
      'ms',
      `during the run, setConfig on server A every 100 ms → configChanged on server B (graphql-ws), timed from the request sent; ${feedLag.samples} changes, ${feedLag.lost} lost, p50 ${feedLag.p50Ms.toFixed(1)} ms, max ${feedLag.maxMs.toFixed(0)} ms; goal < 1 s`,
    );
  }
} finally {
  await (etcd?.stop() ?? Promise.resolve());
  await database.drop();
}

const format = (value: number | null) => {
  if (value === null) return '—';
  const magnitude = Math.abs(value);
  return value.toFixed(magnitude >= 10 ? 0 : magnitude >= 0.1 || magnitude === 0 ? 2 : 3);
};
console.log();
printTable(
  ['name', 'ours', 'etcd', 'ratio', 'unit', 'conditions'],
  rows.map((r) => [r.name, format(r.ours), format(r.etcd), r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`, r.unit, r.conditions]),
);
writeResults(rows);

/**
 * bench/results.json keeps every figure: a run of some sections replaces the rows it measured (by name) and keeps
 * the others, each row dated by the run that measured it.
 */
function writeResults(measured: typeof rows): void {
  const file = new URL('./results.json', import.meta.url);
  const date = new Date().toISOString();
  const dated = measured.map((row) => ({ ...row, date }));
  let kept: unknown[] = [];
  if (sections.length > 0 && existsSync(file)) {
    const previous = JSON.parse(readFileSync(file, 'utf8')) as { date?: string; rows?: { name: string; date?: string }[] };
    const names = new Set(measured.map((row) => row.name));
    kept = (previous.rows ?? []).filter((row) => !names.has(row.name)).map((row) => ({ ...row, date: row.date ?? previous.date }));
  }
  writeFileSync(file, `${JSON.stringify({ machine: machine(), date, etcd: etcdNote, rows: [...kept, ...dated] }, null, 2)}\n`);
}
