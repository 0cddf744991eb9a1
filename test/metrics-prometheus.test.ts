import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoverServicesDocument, RegisterHealthCheckDocument, RegisterServiceDocument } from '@switchboard/client';
import type { SwitchboardNode } from '../src/server/node.js';
import { instance } from './support/client.js';
import { eventually } from './support/wait.js';
import { trackOpen } from './support/leaks.js';
import { startTestWorker, useRegistryNode } from './support/nodes.js';
import { startHttpTarget } from './support/targets.js';

const PROMETHEUS = '/usr/bin/prometheus';
const missing = existsSync(PROMETHEUS) ? undefined : `${PROMETHEUS} is not installed (apt-get install prometheus)`;
if (missing) console.warn(`Prometheus scrape tests skipped: ${missing}`);

const TOKEN = 'metrics-prometheus-test-admin-token-0123';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: TOKEN, SWITCHBOARD_HEALTH_WORKER: 'false' });
const admin = () => registry.clients.create(registry.node.url, TOKEN);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Target {
  scrapePool: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(missing !== undefined)('a real Prometheus scraping serve and a worker', () => {
  const prometheus = { url: '', stop: async () => {} };
  let worker: SwitchboardNode;
  let target: Awaited<ReturnType<typeof startHttpTarget>>;

  beforeAll(async () => {
    worker = await startTestWorker(registry.database.url, { SWITCHBOARD_ADMIN_TOKEN: TOKEN, SWITCHBOARD_METRICS_PORT: '0' });
    target = await startHttpTarget();
    await admin().request(RegisterServiceDocument, { input: instance({ id: 'scraped-1', name: 'scraped' }) });
    await admin().request(RegisterServiceDocument, { input: instance({ id: 'scraped-2', name: 'scraped' }) });
    await admin().request(RegisterHealthCheckDocument, { serviceId: 'scraped-1', check: { http: target.url('/ok'), interval: '1s' } });
    await admin().request(DiscoverServicesDocument, { name: 'scraped' });

    const directory = mkdtempSync(join(tmpdir(), 'switchboard-prometheus-'));
    const job = (name: string, url: string) => ({
      job_name: name,
      scrape_interval: '1s',
      metrics_path: '/metrics',
      // What the README shows: the token through Prometheus's `authorization` setting.
      authorization: { type: 'Bearer', credentials: TOKEN },
      static_configs: [{ targets: [new URL(url).host] }],
    });
    // JSON is YAML: no YAML library needed.
    const config = {
      global: { scrape_interval: '1s' },
      scrape_configs: [job('switchboard', registry.node.url), job('switchboard-worker', worker.metricsUrl!)],
    };
    writeFileSync(join(directory, 'prometheus.yml'), JSON.stringify(config));
    const port = await freePort();
    const child = spawn(
      PROMETHEUS,
      [`--config.file=${join(directory, 'prometheus.yml')}`, `--storage.tsdb.path=${join(directory, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const release = trackOpen('process', `prometheus (pid ${child.pid})`, async () => {
      child.kill('SIGKILL');
      await exited;
    });
    prometheus.url = `http://127.0.0.1:${port}`;
    prometheus.stop = async () => {
      child.kill('SIGTERM');
      await exited;
      release();
      rmSync(directory, { recursive: true, force: true });
    };
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${log}`);
        return (await fetch(`${prometheus.url}/-/ready`).catch(() => undefined))?.ok || undefined;
      },
      30_000,
      200,
    );
  });
  afterAll(async () => {
    await prometheus.stop();
    await worker?.stop();
    await target?.close();
  });

  const query = async (promql: string): Promise<VectorResult[]> => {
    const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; data: { result: VectorResult[] } };
    expect(body.status).toBe('success');
    return body.data.result;
  };

  it('scrapes both targets without errors (the exposition is valid) and answers queries on switchboard_ series', async () => {
    const targets = await eventually(async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: Target[] } };
      const active = body.data.activeTargets;
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
