import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoverServicesDocument, RegisterHealthCheckDocument, RegisterServiceDocument } from '@switchboard/client';
import type { SwitchboardNode } from '../src/server/node.js';
import { instance } from './support/client.js';
import { eventually } from './support/wait.js';
import { startTestWorker, useRegistryNode } from './support/nodes.js';
import { prometheusMissing as missing, startPrometheus, type RunningPrometheus } from './support/prometheus.js';
import { startHttpTarget } from './support/targets.js';

if (missing) console.warn(`Prometheus scrape tests skipped: ${missing}`);

const TOKEN = 'metrics-prometheus-test-admin-token-0123';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: TOKEN, SWITCHBOARD_HEALTH_WORKER: 'false' });
const admin = () => registry.clients.create(registry.node.url, TOKEN);

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(missing !== undefined)('a real Prometheus scraping serve and a worker', () => {
  let prometheus: RunningPrometheus | undefined;
  let worker: SwitchboardNode;
  let target: Awaited<ReturnType<typeof startHttpTarget>>;

  beforeAll(async () => {
    worker = await startTestWorker(registry.database.url, { SWITCHBOARD_ADMIN_TOKEN: TOKEN, SWITCHBOARD_METRICS_PORT: '0' });
    target = await startHttpTarget();
    await admin().request(RegisterServiceDocument, { input: instance({ id: 'scraped-1', name: 'scraped' }) });
    await admin().request(RegisterServiceDocument, { input: instance({ id: 'scraped-2', name: 'scraped' }) });
    await admin().request(RegisterHealthCheckDocument, { serviceId: 'scraped-1', check: { http: target.url('/ok'), interval: '1s' } });
    await admin().request(DiscoverServicesDocument, { name: 'scraped' });

    const job = (name: string, url: string) => ({
      job_name: name,
      scrape_interval: '1s',
      metrics_path: '/metrics',
      // What the README shows: the token through Prometheus's `authorization` setting.
      authorization: { type: 'Bearer', credentials: TOKEN },
      static_configs: [{ targets: [new URL(url).host] }],
    });
    prometheus = await startPrometheus({
      global: { scrape_interval: '1s' },
      scrape_configs: [job('switchboard', registry.node.url), job('switchboard-worker', worker.metricsUrl!)],
    });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await worker?.stop();
    await target?.close();
  });

  const query = async (promql: string): Promise<VectorResult[]> => {
    const response = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; data: { result: VectorResult[] } };
    expect(body.status).toBe('success');
    return body.data.result;
  };

  it('scrapes both targets without errors (the exposition is valid) and answers queries on switchboard_ series', async () => {
    const targets = await eventually(async () => {
      const active = await prometheus!.activeTargets();
      return active.length === 2 && active.every((t) => t.health !== 'unknown') ? active : undefined;
    }, 20_000);
    for (const scraped of targets)
      expect({ pool: scraped.scrapePool, health: scraped.health, lastError: scraped.lastError }).toEqual({
        pool: scraped.scrapePool,
        health: 'up',
        lastError: '',
      });

    const passing = await eventually(async () => {
      const result = await query('switchboard_instances{job="switchboard",status="passing"}');
      return result.length === 1 && Number(result[0]!.value[1]) >= 1 ? result : undefined;
    }, 20_000);
    expect(Number(passing[0]!.value[1])).toBe(2);

    const operations = await query('switchboard_graphql_operation_duration_seconds_count{operation_name="DiscoverServices"}');
    expect(operations.map((series) => series.metric['operation_type'])).toEqual(['query']);

    const runs = await eventually(async () => {
      const result = await query('sum(switchboard_health_checks_run_total{job="switchboard-worker",kind="http"})');
      return result.length === 1 && Number(result[0]!.value[1]) > 0 ? result : undefined;
    }, 20_000);
    expect(Number(runs[0]!.value[1])).toBeGreaterThan(0);
  });
});
