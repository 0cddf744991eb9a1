import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoverServicesDocument, EventsDocument, InstanceHealthDocument, RegistryHealthDocument } from '@switchboard/client';
import { clientFactory } from './support/client.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { spawnNode, startTestNode, startTestWorker, type TestNode } from './support/nodes.js';

// A one-second self-check (the default is 5 s), so a killed server is seen critical within a test.
const SELF = { SWITCHBOARD_SELF_REGISTER: 'true', SWITCHBOARD_EXPIRY_SWEEP: '200ms', SWITCHBOARD_SELF_CHECK_INTERVAL: '1s' };
const clients = clientFactory();
let database: TestDatabase;
let node: TestNode;
const client = () => clients.create(node.url);

beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestNode(database.url, SELF);
});
afterAll(async () => {
  await clients.closeAll();
  await node?.stop();
  await database?.drop();
});

const discover = async (name: string, passingOnly = false) => (await client().request(DiscoverServicesDocument, { name, passingOnly })).discoverServices;
const checksOf = async (id: string) => (await client().request(InstanceHealthDocument, { id })).service?.checks ?? [];

describe('the registry in its own catalog', () => {
  it('lists each server as `switchboard`, with its port, version, role and a passing check on its /readyz', async () => {
    const [server] = await eventually(async () => {
      const found = await discover('switchboard', true);
      return found.length === 1 ? found : undefined;
    }, 15_000);
    expect(server).toMatchObject({ id: `switchboard-${hostname()}-${node.port}`, address: '127.0.0.1', port: node.port, version: '0.1.0', tags: ['serve'] });
    expect(server!.metadata).toMatchObject({ role: 'serve', pid: String(process.pid) });
    const [check] = await checksOf(server!.id);
    expect(check).toMatchObject({ kind: 'HTTP', http: `http://127.0.0.1:${node.port}/readyz`, status: 'PASSING', deregisterCriticalServiceAfter: '1m' });
  });

  it('lists a worker as `switchboard-worker` with a TTL check it renews, and removes it on a graceful stop', async () => {
    const worker = await startTestWorker(database.url, SELF);
    const id = `switchboard-worker-${hostname()}-${process.pid}`;
    const [entry] = await eventually(async () => {
      const found = await discover('switchboard-worker', true);
      return found.length === 1 ? found : undefined;
    });
    expect(entry).toMatchObject({ id, port: null, metadata: { role: 'worker' } });
    expect(await checksOf(id)).toMatchObject([{ kind: 'TTL', ttl: '30s', status: 'PASSING' }]);

    const health = (await client().request(RegistryHealthDocument)).registryHealth;
    expect(health.servers.map((server) => server.port)).toEqual([node.port]);
    expect(health.workers.map((instance) => instance.id)).toEqual([id]);
    expect(health.database).toMatchObject({ reachable: true, version: expect.stringMatching(/^\d+/) });
    expect(health.database.latency).toMatch(/s$/);

    await worker.stop();
    expect(await discover('switchboard-worker')).toEqual([]); // the stop's deregistration is a write this server has seen
    const { events } = await client().request(EventsDocument, { types: ['service.unregistered'] });
    expect(events.map((event) => event.data)).toContainEqual(expect.objectContaining({ id, reason: 'deregistered' }));
  });

  it('uses a TTL check when its own address is outside the networks health checks may reach', async () => {
    const restricted = await startTestNode(database.url, { ...SELF, SWITCHBOARD_HEALTH_WORKER: 'false', SWITCHBOARD_HEALTH_ALLOWED_NETWORKS: '10.0.0.0/8' });
    try {
      const id = `switchboard-${hostname()}-${restricted.port}`;
      const checks = await eventually(async () => {
        const found = await checksOf(id);
        return found.length > 0 ? found : undefined;
      });
      expect(checks).toMatchObject([{ kind: 'TTL', status: 'PASSING' }]);
    } finally {
      await restricted.stop();
    }
    expect((await discover('switchboard')).map((server) => server.port)).toEqual([node.port]);
  });

  it('a real server process registers itself, leaves on SIGTERM, and goes critical when killed', { timeout: 120_000 }, async () => {
    const env = { DATABASE_URL: database.url, SWITCHBOARD_SELF_REGISTER: 'true', SWITCHBOARD_SELF_CHECK_INTERVAL: '1s', SWITCHBOARD_HEALTH_WORKER: 'false' };
    const [graceful, crashed] = await Promise.all([spawnNode(env), spawnNode(env)]);
    try {
      const [gracefulPort, crashedPort] = [graceful, crashed].map((process) => Number(new URL(process.url).port));
      const ports = async (passingOnly = false) => (await discover('switchboard', passingOnly)).map((server) => server.port);
      // This file's node runs the health checks: both processes' /readyz pass.
      await eventually(async () => ((await ports(true)).includes(gracefulPort!) && (await ports(true)).includes(crashedPort!) ? true : undefined), 45_000);

      expect(await graceful.stop('SIGTERM')).toBe(0);
      await eventually(async () => ((await ports()).includes(gracefulPort!) ? undefined : true));

      await crashed.stop('SIGKILL');
      const [dead] = await eventually(async () => {
        const found = (await discover('switchboard')).filter((server) => server.port === crashedPort && server.health.status === 'CRITICAL');
        return found.length === 1 ? found : undefined;
      }, 45_000);
      expect(dead!.health.output).not.toBe('');
    } finally {
      await Promise.all([graceful.stop('SIGKILL'), crashed.stop('SIGKILL')]);
    }
  });
});
