import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegisterServiceDocument, SetMaintenanceDocument } from '@switchboard/client';
import { instance } from './support/client.js';
import { eventually } from './support/wait.js';
import { useRegistryNode } from './support/nodes.js';
import { prometheusMissing as missing, startPrometheus, type RunningPrometheus } from './support/prometheus.js';

if (missing) console.warn(`Prometheus service discovery tests skipped: ${missing}`);

const TOKEN = 'prometheus-sd-test-admin-token-0123456789';
const registry = useRegistryNode({ SWITCHBOARD_ADMIN_TOKEN: TOKEN, SWITCHBOARD_DATACENTER: 'eu-west' });
const admin = () => registry.clients.create(registry.node.url, TOKEN);
const origin = () => new URL(registry.node.url).origin;

describe('Prometheus HTTP service discovery', () => {
  it('answers the HTTP SD format with Consul-style labels', async () => {
    await admin().request(RegisterServiceDocument, {
      input: instance({
        id: 'sd-api-1',
        name: 'sd-api',
        address: '10.1.0.1',
        port: 9100,
        version: '2.1.0',
        tags: ['metrics', 'canary'],
        metadata: { 'team.name': 'core', 'build-id': '7' },
      }),
    });
    const response = await fetch(`${origin()}/v1/sd/prometheus?service=sd-api`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('x-consul-index'))).toBeGreaterThan(0);
    expect(await response.json()).toEqual([
      {
        targets: ['10.1.0.1:9100'],
        labels: {
          __meta_switchboard_service: 'sd-api',
          __meta_switchboard_service_id: 'sd-api-1',
          __meta_switchboard_version: '2.1.0',
          __meta_switchboard_health: 'passing',
          __meta_switchboard_tags: ',metrics,canary,',
          __meta_switchboard_metadata_build_id: '7',
          __meta_switchboard_metadata_team_name: 'core',
          __meta_switchboard_datacenter: 'eu-west',
        },
      },
    ]);
    const unauthenticated = await fetch(`${origin()}/v1/sd/prometheus`);
    expect(unauthenticated.status).toBe(403);
  });

  describe.skipIf(missing !== undefined)('with a real Prometheus', () => {
    let prometheus: RunningPrometheus | undefined;

    beforeAll(async () => {
      await admin().request(RegisterServiceDocument, {
        input: instance({ id: 'prom-web-1', name: 'prom-web', address: '127.0.0.1', port: 19101, tags: ['metrics'], metadata: { zone: 'a' } }),
      });
      await admin().request(RegisterServiceDocument, {
        input: instance({ id: 'prom-web-2', name: 'prom-web', address: '127.0.0.1', port: 19102, tags: ['metrics'] }),
      });
      await admin().request(RegisterServiceDocument, {
        input: instance({ id: 'prom-db-1', name: 'prom-db', address: '127.0.0.1', port: 19103, version: '15.2.0' }),
      });
      await admin().request(SetMaintenanceDocument, { id: 'prom-web-2', enabled: true, reason: 'test' });

      const sd = (query: string) => ({
        url: `${origin()}/v1/sd/prometheus${query}`,
        refresh_interval: '1s',
        authorization: { type: 'Bearer', credentials: TOKEN },
      });
      prometheus = await startPrometheus({
        global: { scrape_interval: '1h' },
        scrape_configs: [
          { job_name: 'all', http_sd_configs: [sd('')] },
          { job_name: 'web-passing', http_sd_configs: [sd('?service=prom-web&tag=metrics&passing')] },
        ],
      });
    });
    afterAll(() => prometheus?.stop());

    const targetsOf = async (job: string) =>
      (await prometheus!.activeTargets())
        .filter((target) => target.scrapePool === job)
        .map((target) => target.discoveredLabels)
        .sort((a, b) => (a['__address__']! < b['__address__']! ? -1 : 1));

    it('discovers every instance with its labels', async () => {
      const all = await eventually(async () => {
        const targets = await targetsOf('all');
        return targets.some((target) => target['__meta_switchboard_service_id'] === 'prom-db-1') ? targets : undefined;
      }, 20_000);
      const byId = new Map(all.map((labels) => [labels['__meta_switchboard_service_id'], labels]));
      expect(byId.get('prom-web-1')).toMatchObject({
        __address__: '127.0.0.1:19101',
        __meta_switchboard_service: 'prom-web',
        __meta_switchboard_health: 'passing',
        __meta_switchboard_tags: ',metrics,',
        __meta_switchboard_metadata_zone: 'a',
        __meta_switchboard_datacenter: 'eu-west',
        job: 'all',
      });
      expect(byId.get('prom-web-2')).toMatchObject({ __meta_switchboard_health: 'maintenance' });
      expect(byId.get('prom-db-1')).toMatchObject({ __address__: '127.0.0.1:19103', __meta_switchboard_version: '15.2.0', __meta_switchboard_tags: ',,' });
    });

    it('filters by service, tag and passing, and follows registrations', async () => {
      await eventually(async () => {
        const ids = (await targetsOf('web-passing')).map((labels) => labels['__meta_switchboard_service_id']);
        return ids.length === 1 && ids[0] === 'prom-web-1' ? ids : undefined;
      }, 20_000);
      await admin().request(RegisterServiceDocument, {
        input: instance({ id: 'prom-web-3', name: 'prom-web', address: '127.0.0.1', port: 19104, tags: ['metrics'] }),
      });
      await admin().request(SetMaintenanceDocument, { id: 'prom-web-2', enabled: false });
      const ids = await eventually(async () => {
        const found = (await targetsOf('web-passing')).map((labels) => labels['__meta_switchboard_service_id']);
        return found.length === 3 ? found : undefined;
      }, 20_000);
      expect(ids).toEqual(['prom-web-1', 'prom-web-2', 'prom-web-3']);
    });
  });
});
