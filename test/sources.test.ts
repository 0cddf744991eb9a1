import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Etcd3 } from 'etcd3';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardRequestError, take, type SwitchboardClient } from './support/client.js';
import { etcdMissing, startEtcd, type EtcdServer } from '../packages/etcd/test/support/etcd-server.js';
import { DashboardServiceDocument } from '../ui/src/generated/graphql.js';
import { scrape, sumOf } from './support/metrics.js';
import { spawnNode, useServerPair, type NodeProcess } from './support/nodes.js';
import { eventually } from './support/wait.js';

/**
 * `switchboard serve` following an etcd as a source (SWITCHBOARD_SOURCES), on two server processes
 * sharing one database, against a real etcd whose keys the test writes with the etcd3 client, in the
 * layout @switchboard/etcd reads (`<servicePrefix><service>/<id>`, a JSON value with `Addr`).
 */
const SOURCE = 'etcd-prod';
const GRACE = '3s';
const GRACE_MS = 3_000;
const PREFIX = '/services/';

const env: Record<string, string> = { SWITCHBOARD_SOURCE_GRACE: GRACE, SWITCHBOARD_SOURCE_LEADER_TTL: '1s' };
let etcd: EtcdServer;
let kv: Etcd3;

// Before the servers start (their hooks run after this one): they are told where etcd is.
beforeAll(async () => {
  if (etcdMissing()) return;
  etcd = await startEtcd();
  kv = new Etcd3({ hosts: etcd.endpoint });
  env['SWITCHBOARD_SOURCES'] = JSON.stringify([{ name: SOURCE, type: 'etcd', endpoints: [etcd.endpoint], servicePrefix: PREFIX, dialTimeout: '1s' }]);
});
const servers = etcdMissing() ? undefined! : useServerPair(env);
afterAll(async () => {
  kv?.close();
  await etcd?.close();
});

/** Puts an instance into etcd as the etcd backend lays it out. */
async function putInstance(name: string, id: string, addr: string, extra: Record<string, unknown> = {}): Promise<void> {
  await kv.put(`${PREFIX}${name}/${id}`).value(JSON.stringify({ Addr: addr, Metadata: { zone: 'a' }, ...extra }));
}

const doc = <R>(source: string) => parse(source) as TypedDocumentNode<R, Record<string, unknown>>;

interface Found {
  id: string;
  address: string;
  port: number | null;
  source: string | null;
  health: { status: string };
}
const DISCOVER = doc<{ discoverServices: Found[] }>(`query($name: String!) { discoverServices(name: $name) { id address port source health { status } } }`);

interface Change {
  kind: string;
  serviceId: string;
  reason: string | null;
  detail: string | null;
  timestamp: string;
  instance: { address: string; source: string | null };
}
const CHANGES = doc<{ serviceChanged: Change }>(
  `subscription($name: String, $after: ID) { serviceChanged(name: $name, after: $after) { kind serviceId reason detail timestamp instance { address source } } }`,
);

const clientOf = new Map<string, SwitchboardClient>();
function client(node: NodeProcess): SwitchboardClient {
  let found = clientOf.get(node.url);
  if (!found) clientOf.set(node.url, (found = servers.clients.create(node.url)));
  return found;
}

async function discover(node: NodeProcess, name: string): Promise<Found[]> {
  return (await client(node).request(DISCOVER, { name })).discoverServices;
}

/** Discovery on `node` once it shows exactly `ids` for `name`. */
async function discovered(node: NodeProcess, name: string, ids: string[]): Promise<Found[]> {
  return eventually(async () => {
    const found = await discover(node, name);
    return JSON.stringify(found.map((instance) => instance.id).sort()) === JSON.stringify([...ids].sort()) ? found : undefined;
  }, 20_000);
}

/** The error code and message of a request expected to fail. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SwitchboardRequestError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the request to be refused, but it succeeded');
}

async function consul(node: NodeProcess, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(new URL(path, node.url), { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

async function metric(node: NodeProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumOf(await scrape(node.url.replace(/\/graphql$/, '/metrics')), name, { source: SOURCE, ...labels });
}

/** The running servers. */
function running(): NodeProcess[] {
  return servers.nodes.filter((node) => node.child.exitCode === null && node.child.signalCode === null);
}

/** The server of `candidates` that follows the source now, once exactly one does (its holder id is "<host>-<pid>/<hex>"). */
async function follower(candidates: NodeProcess[] = running()): Promise<NodeProcess> {
  return eventually(async () => {
    const rows = await servers.database.sql<{ holder: string }[]>`select holder from leaders where name = ${`source:${SOURCE}`} and expires_at > now()`;
    if (rows.length !== 1) return undefined;
    const pid = Number(/-(\d+)\/[0-9a-f]+$/.exec(rows[0]!.holder)?.[1]);
    const node = candidates.find((candidate) => candidate.child.pid === pid);
    // Following, and the set it was handed written (a takeover writes what it finds before it counts as settled).
    return node && (await metric(node, 'switchboard_source_last_sync_timestamp_seconds')) > 0 ? node : undefined;
  }, 20_000);
}

/** Events of the source's instances after `after` (by the source's principal, whatever their type). */
async function sourceEventsAfter(after: number): Promise<{ type: string; id: string }[]> {
  return servers.database.sql<{ type: string; id: string }[]>`
    select type, data->>'id' as id from events where id > ${after} and actor->>'id' = ${`source:${SOURCE}`} order by id`;
}

async function latestEventId(): Promise<number> {
  const [row] = await servers.database.sql<{ id: string | null }[]>`select max(id)::text as id from events`;
  return Number(row?.id ?? 0);
}

describe.skipIf(etcdMissing() !== undefined)('a source followed by two servers', () => {
  it('shows its instances in discovery on both servers, marked with their origin, and in the Consul API', async () => {
    await putInstance('orders', 'orders-1', '10.1.0.1:8080');
    await putInstance('orders', 'orders-2', '10.1.0.2:8080', { health: { status: 'CRITICAL', output: 'down for upgrade' } });
    for (const node of servers.nodes) {
      const found = await discovered(node, 'orders', ['orders-1', 'orders-2']);
      expect(found).toEqual([
        { id: 'orders-1', address: '10.1.0.1', port: 8080, source: SOURCE, health: { status: 'PASSING' } },
        { id: 'orders-2', address: '10.1.0.2', port: 8080, source: SOURCE, health: { status: 'CRITICAL' } },
      ]);
    }
    const catalog = await consul(servers.b, 'GET', '/v1/catalog/service/orders');
    expect((JSON.parse(catalog.text) as { ServiceID: string }[]).map((entry) => entry.ServiceID)).toEqual(['orders-1', 'orders-2']);
    const passing = await consul(servers.b, 'GET', '/v1/health/service/orders?passing');
    expect((JSON.parse(passing.text) as { Service: { ID: string } }[]).map((entry) => entry.Service.ID)).toEqual(['orders-1']);
    // The dashboard's own query carries the origin its instance table shows ("from etcd-…").
    const dashboard = await client(servers.a).request(DashboardServiceDocument, { name: 'orders' });
    expect(dashboard.discoverServices.map(({ id, source }) => ({ id, source }))).toEqual([
      { id: 'orders-1', source: SOURCE },
      { id: 'orders-2', source: SOURCE },
    ]);
  });

  it('carries a change in etcd to a subscriber of either server', async () => {
    const changes = client(servers.b).subscribe(CHANGES, { name: 'orders', after: String(await latestEventId()) });
    await putInstance('orders', 'orders-1', '10.1.0.11:8080');
    const [moved] = await take(changes, 1, 20_000);
    expect(moved!.serviceChanged).toMatchObject({ kind: 'UPDATED', serviceId: 'orders-1', instance: { address: '10.1.0.11', source: SOURCE } });
    await kv.delete().key(`${PREFIX}orders/orders-2`);
    const [gone] = await take(changes, 1, 20_000);
    expect(gone!.serviceChanged).toMatchObject({
      kind: 'DEREGISTERED',
      serviceId: 'orders-2',
      reason: 'deregistered',
      detail: `withdrawn by source ${SOURCE}`,
    });
    await changes.return!();
    await discovered(servers.a, 'orders', ['orders-1']);
  });

  it('refuses every write to a source instance, FORBIDDEN, naming the source: over GraphQL and the Consul API', async () => {
    const [before] = await discover(servers.a, 'orders');
    const writes = {
      registerService: `mutation { registerService(input: { id: "orders-1", name: "orders", address: "10.9.9.9", port: 1 }) { id } }`,
      unregisterService: `mutation { unregisterService(id: "orders-1") }`,
      heartbeat: `mutation { heartbeat(id: "orders-1") { id } }`,
      setMaintenance: `mutation { setMaintenance(id: "orders-1", enabled: true) { id } }`,
      updateWeight: `mutation { updateWeight(id: "orders-1", weight: 0) { id } }`,
      registerHealthCheck: `mutation { registerHealthCheck(serviceId: "orders-1", check: { ttl: "1m" }) { id } }`,
    };
    for (const [name, mutation] of Object.entries(writes)) {
      const answer = await refusal(client(servers.a).request(doc(mutation), {}));
      expect({ name, ...answer }).toEqual({
        name,
        code: 'FORBIDDEN',
        message: `Instance "orders-1" of service "orders" is followed from source "${SOURCE}" (SWITCHBOARD_SOURCES) and is read-only here: change it in ${SOURCE}.`,
      });
    }
    const consulWrites: [string, string, unknown?][] = [
      ['PUT', '/v1/agent/service/register', { ID: 'orders-1', Name: 'orders', Address: '10.9.9.9', Port: 1 }],
      ['PUT', '/v1/agent/service/deregister/orders-1'],
      ['PUT', '/v1/agent/service/maintenance/orders-1?enable=true'],
    ];
    for (const [method, path, body] of consulWrites) {
      const answer = await consul(servers.b, method, path, body);
      expect({ path, status: answer.status }).toEqual({ path, status: 403 });
      expect(answer.text).toContain(`is followed from source "${SOURCE}"`);
    }
    expect(await discover(servers.b, 'orders')).toEqual([before]);
  });

  it('refuses an id that collides with an instance registered here; the native instance stays', async () => {
    await client(servers.a).request(
      doc(`mutation { registerService(input: { id: "payments-1", name: "payments", address: "10.2.0.1", port: 9000 }) { id } }`),
      {},
    );
    await putInstance('payments', 'payments-1', '10.66.0.1:9000');
    await putInstance('payments', 'payments-2', '10.2.0.2:9000');
    const found = await discovered(servers.b, 'payments', ['payments-1', 'payments-2']);
    expect(found.map(({ id, address, source }) => ({ id, address, source }))).toEqual([
      { id: 'payments-1', address: '10.2.0.1', source: null },
      { id: 'payments-2', address: '10.2.0.2', source: SOURCE },
    ]);
    const holder = await follower();
    expect(await eventually(async () => ((await metric(holder, 'switchboard_source_refused_instances', { reason: 'collision' })) === 1 ? 1 : undefined))).toBe(
      1,
    );
    const logged = holder.logs.find((line) => line['id'] === 'payments-1' && String(line['msg']).startsWith('refused an instance of the source'));
    expect(logged?.['msg']).toBe(
      `refused an instance of the source: Source "${SOURCE}" may not change instance "payments-1" of service "payments": that id is registered here.`,
    );
    // Still refused, and still only logged once, as later sets come (a change elsewhere delivers the whole set again).
    await putInstance('payments', 'payments-3', '10.2.0.3:9000');
    await discovered(servers.a, 'payments', ['payments-1', 'payments-2', 'payments-3']);
    expect(holder.logs.filter((line) => line['id'] === 'payments-1').length).toBe(1);
    expect((await discover(servers.a, 'payments'))[0]).toMatchObject({ id: 'payments-1', address: '10.2.0.1', source: null });

    // Once the instance registered here is gone, the source's takes its id (with no change in etcd to prompt it).
    await client(servers.a).request(doc(`mutation { unregisterService(id: "payments-1") }`), {});
    const taken = await eventually(async () => {
      const [first] = await discover(servers.b, 'payments');
      return first?.id === 'payments-1' && first.source === SOURCE ? first : undefined;
    }, 20_000);
    expect(taken).toMatchObject({ address: '10.66.0.1', source: SOURCE });
    expect(await metric(holder, 'switchboard_source_refused_instances', { reason: 'collision' })).toBe(0);
  });

  it('refuses an instance any registration would be refused for, and skips a malformed value; the others are followed', async () => {
    await kv.put(`${PREFIX}orders/not json`).value('{"Addr": ');
    await putInstance('orders', 'bad id!', '10.1.0.9:8080');
    await putInstance('inventory', 'inventory-1', '10.3.0.1:7000');
    await discovered(servers.a, 'inventory', ['inventory-1']);
    const holder = await follower();
    expect(await eventually(async () => ((await metric(holder, 'switchboard_source_refused_instances', { reason: 'invalid' })) === 1 ? 1 : undefined))).toBe(1);
    const refused = holder.logs.find((line) => line['id'] === 'bad id!');
    expect(refused).toMatchObject({ level: 40, source: SOURCE, kind: 'invalid' });
    expect(String(refused!['msg'])).toMatch(/^refused an instance of the source: Invalid service definition: id must start and end with a letter or digit/);
    const skipped = holder.logs.find((line) => line['source'] === SOURCE && String(line['msg']).includes('not json'));
    expect(skipped).toMatchObject({ level: 40, sourceType: 'etcd' });
    expect((await discover(servers.b, 'orders')).map((instance) => instance.id)).toEqual(['orders-1']);
    await kv.delete().key(`${PREFIX}orders/not json`);
    await kv.delete().key(`${PREFIX}orders/bad id!`);
  });

  it('keeps the instances of a source that stops answering through the grace period, then removes them saying why', async () => {
    const holder = await follower();
    const watcher = running().find((node) => node !== holder)!;
    const changes = client(watcher).subscribe(CHANGES, { name: 'orders', after: String(await latestEventId()) });
    await putInstance('orders', 'orders-3', '10.1.0.3:8080');
    expect((await take(changes, 1, 20_000))[0]!.serviceChanged).toMatchObject({ kind: 'REGISTERED', serviceId: 'orders-3' });

    const stoppedAt = Date.now();
    let stopped = true;
    await etcd.stop();
    try {
      await eventually(async () => ((await metric(holder, 'switchboard_source_stale')) === 1 ? true : undefined), 20_000);
      // Stale, and still there.
      expect((await discover(watcher, 'orders')).map((instance) => instance.id)).toEqual(['orders-1', 'orders-3']);

      const removed = (await take(changes, 2, 30_000)).map(({ serviceChanged }) => serviceChanged);
      expect(removed.map(({ kind, serviceId, reason, detail }) => ({ kind, serviceId, reason, detail }))).toEqual(
        ['orders-1', 'orders-3'].map((serviceId) => ({
          kind: 'EXPIRED',
          serviceId,
          reason: 'connection-lost',
          detail: `source ${SOURCE} unreachable for ${GRACE}`,
        })),
      );
      for (const change of removed) expect(new Date(change.timestamp).getTime() - stoppedAt).toBeGreaterThanOrEqual(GRACE_MS);
      expect(await discover(watcher, 'orders')).toEqual([]);

      // Back: its instances come back with it.
      await etcd.start();
      stopped = false;
      const back = (await take(changes, 2, 30_000)).map(({ serviceChanged }) => [serviceChanged.kind, serviceChanged.serviceId]);
      expect(back).toEqual([
        ['REGISTERED', 'orders-1'],
        ['REGISTERED', 'orders-3'],
      ]);
    } finally {
      await changes.return!();
      if (stopped) await etcd.start(); // for the tests after this one, whatever became of it
    }
  });

  it('is followed by one server at a time; when it is killed, the other takes over and writes nothing twice', async () => {
    const holder = await follower();
    const [other] = running().filter((node) => node !== holder);
    expect(await metric(holder, 'switchboard_source_following')).toBe(1);
    expect(await metric(other!, 'switchboard_source_following')).toBe(0);

    const before = await latestEventId();
    holder.child.kill('SIGKILL');
    await holder.stop();
    expect(await follower()).toBe(other);
    // The new follower was handed the same set: it found it written, and wrote nothing.
    expect(await sourceEventsAfter(before)).toEqual([]);

    await putInstance('orders', 'orders-4', '10.1.0.4:8080');
    await discovered(other!, 'orders', ['orders-1', 'orders-3', 'orders-4']);
    expect(await sourceEventsAfter(before)).toEqual([{ type: 'service.registered', id: 'orders-4' }]);
  });

  it('resumes after the follower restarts without writing or announcing anything again', async () => {
    const [holder] = running();
    expect(await follower()).toBe(holder);
    const before = await latestEventId();
    await holder!.stop(); // SIGTERM: it hands the lead over as it goes
    const restarted = await spawnNode({ SWITCHBOARD_REQUEST_TIMEOUT: '60s', ...env, DATABASE_URL: servers.database.url });
    try {
      expect(await follower([restarted])).toBe(restarted);
      await discovered(restarted, 'orders', ['orders-1', 'orders-3', 'orders-4']);
      expect(await sourceEventsAfter(before)).toEqual([]);
    } finally {
      await restarted.stop();
    }
  });

  it('removes the instances of a source no server follows any more, once the grace period has passed', async () => {
    const { SWITCHBOARD_SOURCES: _followed, ...without } = env;
    const before = await latestEventId();
    const remaining = await servers.database.sql<{ id: string }[]>`select id from services where source = ${SOURCE} order by id`;
    expect(remaining.length).toBeGreaterThan(0);
    const [lastFollowed] = await servers.database.sql<{ at: string }[]>`select expires_at as at from leaders where name = ${`source:${SOURCE}`}`;
    // No server is left following it (the last one stopped above); one that does not know it starts.
    const server = await spawnNode({ SWITCHBOARD_REQUEST_TIMEOUT: '60s', ...without, DATABASE_URL: servers.database.url });
    try {
      await client(server).request(
        doc(`mutation { registerService(input: { id: "native-1", name: "payments", address: "10.2.0.9", port: 9000 }) { id } }`),
        {},
      );
      await eventually(async () => ((await discover(server, 'orders')).length === 0 ? true : undefined), 20_000);
      const removals = await servers.database.sql<{ id: string; reason: string; detail: string; at: string }[]>`
        select data->>'id' as id, data->>'reason' as reason, data->>'detail' as detail, created_at as at
        from events where id > ${before} and type = 'service.unregistered' order by id`;
      expect(removals.map(({ id, reason, detail }) => ({ id, reason, detail }))).toEqual(
        remaining.map(({ id }) => ({ id, reason: 'deregistered', detail: `source ${SOURCE} is followed by no server any more (in no SWITCHBOARD_SOURCES)` })),
      );
      // Not before the grace period had passed since the source was last followed.
      for (const removal of removals) expect(new Date(removal.at).getTime() - new Date(lastFollowed!.at).getTime()).toBeGreaterThanOrEqual(GRACE_MS);
      expect((await discover(server, 'payments')).map(({ id, source }) => ({ id, source }))).toEqual([{ id: 'native-1', source: null }]);
    } finally {
      await server.stop();
    }
  });
});
