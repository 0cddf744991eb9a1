import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { DiscoverServicesDocument, RegisterServiceDocument, SetMaintenanceDocument, UnregisterServiceDocument } from '@switchboard/client';
import { DiscoveryError, ServiceDiscovery, type InstanceFilter, type ServiceDiscoveryOptions } from '@switchboard/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instance } from '../../../test/support/client.js';
import { eventually, sleep } from '../../../test/support/wait.js';
import { startTestNode, useRegistryNode, type TestNode } from '../../../test/support/nodes.js';

/** The SDK's discovery cache against real servers: what it learns by push, what it serves when the registry is gone. */
const registry = useRegistryNode();
const opened: ServiceDiscovery[] = [];
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'sdk-discovery-'));
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((discovery) => discovery.close()));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The GraphQL operations a discovery sent over HTTP, by operation name. */
function countingFetch() {
  const operations: string[] = [];
  const fetchImpl: typeof fetch = (input, init) => {
    const { query } = JSON.parse(String(init?.body)) as { query: string };
    operations.push(/^\s*(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? 'anonymous');
    return fetch(input, init);
  };
  return { operations, fetch: fetchImpl, count: (name: string) => operations.filter((operation) => operation === name).length };
}

function discovery(url: string, options: Partial<ServiceDiscoveryOptions> & { fetch?: typeof fetch } = {}): ServiceDiscovery {
  const { fetch: fetchImpl, ...rest } = options;
  const created = new ServiceDiscovery({ registry: { url, webSocketImpl: WebSocket, ...(fetchImpl ? { fetch: fetchImpl } : {}) }, ...rest });
  opened.push(created);
  return created;
}

let serial = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${++serial}`;

async function register(client: TestNode['url'] | undefined, overrides: Parameters<typeof instance>[0]) {
  const target = client === undefined ? registry.client : registry.clients.create(client);
  await target.request(RegisterServiceDocument, { input: instance(overrides) });
}

const ids = (instances: readonly { id: string }[]) => instances.map((entry) => entry.id);

describe('the cache follows the registry by push', () => {
  it('learns a registration, a health change and a deregistration within a second, with no query after the first', async () => {
    const name = uniqueName('push');
    await register(undefined, { id: `${name}-a`, name });
    const counter = countingFetch();
    const cache = discovery(registry.node.url, { fetch: counter.fetch });
    expect(ids(await cache.instances(name))).toEqual([`${name}-a`]);

    await register(undefined, { id: `${name}-b`, name });
    await eventually(() => (cache.cached(name)?.instances.length === 2 ? true : undefined), 1_000);

    // Maintenance makes the instance CRITICAL: out of the passing view, still known.
    await registry.client.request(SetMaintenanceDocument, { id: `${name}-a`, enabled: true });
    await eventually(() => (ids(cache.cached(name)!.instances).join() === `${name}-b` ? true : undefined), 1_000);
    expect((await cache.discover(name, { passingOnly: false })).instances.map((entry) => [entry.id, entry.health.status])).toEqual([
      [`${name}-a`, 'CRITICAL'],
      [`${name}-b`, 'PASSING'],
    ]);

    await registry.client.request(UnregisterServiceDocument, { id: `${name}-b` });
    await eventually(() => (cache.cached(name)!.instances.length === 0 ? true : undefined), 1_000);
    expect(await cache.discover(name)).toEqual({ instances: [], stale: false, since: null });

    expect(counter.count('DiscoverInstances')).toBe(1);
  });

  it('filters as the server does: passing only by default, tags, a version range', async () => {
    const name = uniqueName('filters');
    await register(undefined, { id: `${name}-1`, name, version: '1.4.0', tags: ['eu', 'blue'] });
    await register(undefined, { id: `${name}-2`, name, version: '2.1.0', tags: ['eu'] });
    await register(undefined, { id: `${name}-3`, name, version: '2.3.0', tags: ['us', 'blue'] });
    await register(undefined, { id: `${name}-4`, name, version: '2.5.0', tags: ['eu', 'blue'] });
    await registry.client.request(SetMaintenanceDocument, { id: `${name}-4`, enabled: true });
    const cache = discovery(registry.node.url);
    const filters: InstanceFilter[] = [
      {},
      { passingOnly: false },
      { tags: ['eu'] },
      { tags: ['eu', 'blue'], passingOnly: false },
      { version: '^2.1' },
      { version: '>=1 <2.2', tags: ['eu'] },
    ];
    for (const filter of filters) {
      const { discoverServices } = await registry.client.request(DiscoverServicesDocument, {
        name,
        passingOnly: true,
        ...filter,
        tags: filter.tags ? [...filter.tags] : null,
      });
      expect(ids(await cache.instances(name, filter)), JSON.stringify(filter)).toEqual(ids(discoverServices).sort());
    }
    await expect(cache.instances(name, { version: 'not a range' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('concurrent lookups of a name not yet cached make one request', async () => {
    const name = uniqueName('single-flight');
    await register(undefined, { id: `${name}-a`, name });
    const counter = countingFetch();
    const cache = discovery(registry.node.url, { fetch: counter.fetch });
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.instances(name)));
    expect(answers.map(ids)).toEqual(Array.from({ length: 20 }, () => [`${name}-a`]));
    expect(counter.count('DiscoverInstances')).toBe(1);
    expect(counter.count('LatestEventId')).toBe(1);
  });
});

describe('what the cache costs the registry', () => {
  it('a pushed change reads nothing from the tables: every field the cache keeps is in the server memory', async () => {
    // Changes are written through another server: a mutation's own answer may read leases and checks.
    const writer = await startTestNode(registry.database.url);
    try {
      const name = uniqueName('no-reads');
      await register(writer.url, { id: `${name}-0`, name });
      const cache = discovery(registry.node.url);
      expect(ids(await cache.instances(name))).toEqual([`${name}-0`]);
      const counters = registry.node.counters!;
      const [executions, tableReads] = [counters.subscriptionExecutions, counters.loaderQueries];

      for (let index = 1; index <= 5; index++) await register(writer.url, { id: `${name}-${index}`, name, ttl: '30s' });
      await registry.clients.create(writer.url).request(SetMaintenanceDocument, { id: `${name}-0`, enabled: true });
      await eventually(() => (ids(cache.cached(name)!.instances).join() === [1, 2, 3, 4, 5].map((n) => `${name}-${n}`).join() ? true : undefined));

      // Five registrations and a health change were executed for the cache's subscription, with no table read.
      expect(counters.subscriptionExecutions - executions).toBeGreaterThanOrEqual(6);
      expect(counters.loaderQueries - tableReads).toBe(0);
    } finally {
      await writer.stop();
    }
  });
});

describe('one subscription for every service the cache follows', () => {
  it('a cache watching 10 services holds one subscription on the server', async () => {
    const names = Array.from({ length: 10 }, () => uniqueName('one-subscription'));
    for (const name of names) await register(undefined, { id: `${name}-a`, name });
    const counters = registry.node.counters!;
    const before = counters.openSubscriptions;
    const cache = discovery(registry.node.url);
    for (const name of names) await cache.instances(name);

    // It carries all ten: the last subscription, for all of them, is live on the server, which handled the end of
    // each earlier one before it (they share the connection, whose messages are handled in order).
    for (const name of names) await register(undefined, { id: `${name}-b`, name });
    await eventually(() => (names.every((name) => cache.cached(name)?.instances.length === 2) ? true : undefined), 10_000);
    // Widening closed each previous subscription: one is left.
    await eventually(() => (counters.openSubscriptions === before + 1 ? true : undefined), 10_000).catch(() => {});
    expect(counters.openSubscriptions - before).toBe(1);
    await cache.close();
    await eventually(() => (counters.openSubscriptions === before ? true : undefined), 10_000);
  });

  it('a change written while the set is being widened is delivered exactly once', async () => {
    const first = uniqueName('widen-first');
    const second = uniqueName('widen-second');
    await register(undefined, { id: `${first}-1`, name: first });
    await register(undefined, { id: `${second}-1`, name: second });
    const has = (name: string, id: string) => cache.cached(name, { passingOnly: false })?.instances.some((entry) => entry.id === id) === true;
    // Changes written while `second` is being added, after the log position its subscription will start
    // from: one of `first` before its query (the running subscription delivers it; the new one, started
    // from that earlier position, brings it again), and after the answer one of `second` and then one of
    // `first` that the running subscription delivers before it is replaced (so it has got past the
    // `second` change the new one must still bring).
    const widening: typeof fetch = async (input, init) => {
      const { query, variables } = JSON.parse(String(init?.body)) as { query: string; variables?: { name?: string } };
      const asksForSecond = /^\s*query\s+DiscoverInstances\b/.test(query) && variables?.name === second;
      if (asksForSecond) {
        await register(undefined, { id: `${first}-2`, name: first });
        await eventually(() => (has(first, `${first}-2`) ? true : undefined), 10_000);
      }
      const response = await fetch(input, init);
      if (asksForSecond) {
        await register(undefined, { id: `${second}-3`, name: second });
        await register(undefined, { id: `${first}-3`, name: first });
        await eventually(() => (has(first, `${first}-3`) ? true : undefined), 10_000);
      }
      return response;
    };
    const cache = discovery(registry.node.url, { fetch: widening });
    expect(ids(await cache.instances(first))).toEqual([`${first}-1`]);
    const notified: Record<string, number> = { [first]: 0, [second]: 0 };
    cache.onChange((service) => (notified[service] = (notified[service] ?? 0) + 1));

    expect(ids(await cache.instances(second))).toEqual([`${second}-1`]);
    // Markers after everything: once they are in, every earlier change of both has been delivered.
    await register(undefined, { id: `${first}-4`, name: first });
    await register(undefined, { id: `${second}-4`, name: second });
    await eventually(() => (has(first, `${first}-4`) && has(second, `${second}-4`) ? true : undefined), 10_000);
    // Time passing with nothing happening: no change is delivered a second time behind the markers.
    await sleep(200);

    expect(ids(cache.cached(first)!.instances)).toEqual([1, 2, 3, 4].map((n) => `${first}-${n}`));
    expect(ids(cache.cached(second)!.instances)).toEqual([1, 3, 4].map((n) => `${second}-${n}`));
    // first: -2, -3, -4, each once; second: its answer, then -3 and -4, each once.
    expect(notified).toEqual({ [first]: 3, [second]: 3 });
  });
});

describe('when the registry cannot be reached', () => {
  it('serves the last known instances, marked stale, and a process started during the outage reads them from the snapshot', async () => {
    const server = await startTestNode(registry.database.url);
    const name = uniqueName('stale');
    await register(server.url, { id: `${name}-a`, name });
    const snapshotPath = path.join(scratch, `${name}.json`);
    const counter = countingFetch();
    const cache = discovery(server.url, { snapshotPath, ttlMs: 100, fetch: counter.fetch });
    expect(await cache.discover(name)).toEqual({ instances: [expect.objectContaining({ id: `${name}-a` })], stale: false, since: null });

    const beforeStop = Date.now();
    await server.stop();
    const stale = await eventually(async () => {
      const answer = await cache.discover(name);
      return answer.stale ? answer : undefined;
    }, 5_000);
    expect(ids(stale.instances)).toEqual([`${name}-a`]);
    expect(stale.since!.getTime()).toBeGreaterThanOrEqual(beforeStop);
    // Past the TTL a lookup asks the registry again, and that refresh fails too: still the last known instances.
    const refreshes = counter.count('DiscoverInstances') + counter.count('LatestEventId');
    const refreshed = await eventually(async () => {
      const answer = await cache.discover(name);
      return counter.count('DiscoverInstances') + counter.count('LatestEventId') > refreshes ? answer : undefined;
    }, 10_000);
    expect(ids(refreshed.instances)).toEqual([`${name}-a`]);
    await cache.close();

    const written = JSON.parse(await readFile(snapshotPath, 'utf8')) as { services: Record<string, { instances: { id: string }[] }> };
    expect(ids(written.services[name]!.instances)).toEqual([`${name}-a`]);

    const restarted = discovery(server.url, { snapshotPath, timeoutMs: 2_000 });
    const fromDisk = await restarted.discover(name);
    expect(ids(fromDisk.instances)).toEqual([`${name}-a`]);
    expect(fromDisk.stale).toBe(true);
    expect(fromDisk.since).toBeInstanceOf(Date);

    const withoutSnapshot = discovery(server.url, { timeoutMs: 2_000 });
    const error = await withoutSnapshot.discover(name).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', reason: 'DISCOVERY_UNAVAILABLE', service: name });
    expect((error as Error).message).toContain(`"${name}"`);
  });

  it('a registry that does not answer fails the lookup after the discovery timeout, naming the service', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const cache = discovery(`http://127.0.0.1:${port}/graphql`, { timeoutMs: 300 });
      const started = Date.now();
      const error = await cache.discover('ledger').catch((caught: unknown) => caught);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toMatchObject({ code: 'UNAVAILABLE', reason: 'DISCOVERY_TIMEOUT', service: 'ledger' });
      expect((error as Error).message).toMatch(/"ledger" timed out after 300ms/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
