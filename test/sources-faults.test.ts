import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdMissing, startEtcd, type EtcdServer } from '../packages/etcd/test/support/etcd-server.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { ask } from './support/faults.js';
import { scrape, sumOf } from './support/metrics.js';
import { spawnNode, type NodeProcess } from './support/nodes.js';
import { childrenOf, isRunning } from './support/processes.js';
import { eventually } from './support/wait.js';

/**
 * A source (SWITCHBOARD_SOURCES) under faults and hostile input: one `switchboard serve` process
 * following a real etcd, reaching its PostgreSQL through a TCP fault proxy, while the test cuts
 * PostgreSQL in the middle of a write, fills the prefix with values no registry should accept, and
 * kills etcd with SIGKILL under the watch. Keys are written with the etcd3 client in the layout
 * @switchboard/etcd reads (`<servicePrefix><service>/<id>`, a JSON value with `Addr`).
 */
const SOURCE = 'etcd-prod';
const PREFIX = '/services/';
const ROLE = `source:${SOURCE}`;
/**
 * Long: the PostgreSQL test is about the write retry, so no lease renewal may fall inside its outage (a
 * renewal that fails drops the lead, and taking it again would read the source afresh, hiding a retry
 * that does not happen). The lead is renewed every third of it.
 */
const LEADER_TTL_MS = 120_000;
/** Longer than etcd takes to come back from SIGKILL here, so the instances must be kept through it. */
const GRACE = '20s';

let etcd: EtcdServer;
let kv: Etcd3;
let database: TestDatabase;
let proxy: FaultProxy;
let server: NodeProcess;

beforeAll(async () => {
  if (etcdMissing()) return;
  [etcd, database] = await Promise.all([startEtcd(), createTestDatabase()]);
  kv = new Etcd3({ hosts: etcd.endpoint });
  proxy = await startFaultProxy(database.url);
  server = await spawnNode({
    DATABASE_URL: proxy.url,
    SWITCHBOARD_SOURCES: JSON.stringify([{ name: SOURCE, type: 'etcd', endpoints: [etcd.endpoint], servicePrefix: PREFIX, dialTimeout: '1s' }]),
    SWITCHBOARD_SOURCE_GRACE: GRACE,
    SWITCHBOARD_SOURCE_LEADER_TTL: `${LEADER_TTL_MS}ms`,
    SWITCHBOARD_SHUTDOWN_TIMEOUT: '3s',
  });
});

afterAll(async () => {
  await server?.stop();
  await proxy?.stop();
  await database?.drop();
  kv?.close();
  await etcd?.close();
});

async function putInstance(name: string, id: string, value: unknown): Promise<void> {
  await kv.put(`${PREFIX}${name}/${id}`).value(JSON.stringify(value));
}

async function discover(name: string): Promise<{ id: string; address: string; port: number | null }[]> {
  const answer = await ask(server.url, 'query($name: String!) { discoverServices(name: $name) { id address port } }', { name });
  if (!answer.ok) throw new Error(`discoverServices answered ${JSON.stringify(answer)}`);
  return (answer.data as { discoverServices: { id: string; address: string; port: number | null }[] }).discoverServices;
}

/** Discovery once it shows exactly `ids` for `name`. */
async function discovered(name: string, ids: string[], timeoutMs = 15_000) {
  const wanted = JSON.stringify([...ids].sort());
  return eventually(async () => {
    const found = await discover(name);
    return JSON.stringify(found.map((instance) => instance.id).sort()) === wanted ? found : undefined;
  }, timeoutMs);
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumOf(await scrape(server.url.replace(/\/graphql$/, '/metrics')), name, { source: SOURCE, ...labels });
}

async function latestEventId(): Promise<number> {
  const [row] = await database.sql<{ id: string | null }[]>`select max(id)::text as id from events`;
  return Number(row?.id ?? 0);
}

/** The source's events after `after` (by its principal), ordered by instance id then event id. */
async function sourceEventsAfter(after: number): Promise<{ type: string; id: string; reason: string | null }[]> {
  return database.sql<{ type: string; id: string; reason: string | null }[]>`
    select type, data->>'id' as id, data->>'reason' as reason from events
    where id > ${after} and actor->>'id' = ${ROLE} order by data->>'id', id`;
}

/** What etcd holds under `<prefix><name>/`, as discovery should show it. */
async function inEtcd(name: string): Promise<{ id: string; address: string; port: number }[]> {
  const values = await kv.getAll().prefix(`${PREFIX}${name}/`).strings();
  return Object.entries(values)
    .map(([key, value]) => {
      const [address, port] = (JSON.parse(value) as { Addr: string }).Addr.split(':');
      return { id: key.slice(`${PREFIX}${name}/`.length), address: address!, port: Number(port) };
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

async function inCatalog(name: string): Promise<{ id: string; address: string; port: number }[]> {
  return database.sql<{ id: string; address: string; port: number }[]>`
    select id, address, port from services where source = ${SOURCE} and name = ${name} order by id`;
}

/** Log lines after the first `from` whose message is `message`. */
function logged(message: string, from = 0): Record<string, unknown>[] {
  return server.logs.slice(from).filter((line) => line['msg'] === message);
}

/** Waits until the follower's next lease renewal is more than `ms` away (it happens every third of the TTL). */
async function renewalFurtherThan(ms: number): Promise<void> {
  await eventually(
    async () => {
      const [row] = await database.sql<{ left: number }[]>`
        select extract(epoch from expires_at - now())::float8 * 1000 as left from leaders where name = ${ROLE} and expires_at > now()`;
      return row && row.left - (LEADER_TTL_MS * 2) / 3 > ms ? true : undefined;
    },
    LEADER_TTL_MS / 3 + 10_000,
    200,
  );
}

async function etcdAnswers(): Promise<boolean> {
  return fetch(`${etcd.endpoint}/health`).then(
    (response) => response.ok,
    () => false,
  );
}

/** The server's resident memory, from /proc (Linux). */
function residentBytes(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) * 1024;
}

describe.skipIf(etcdMissing() !== undefined)('a source under faults and hostile input', () => {
  it('PostgreSQL cut mid-write: changes made in etcd meanwhile arrive once it is back, each with one event, nothing removed as stale', async () => {
    for (const n of [1, 2, 3]) await putInstance('billing', `billing-${n}`, { Addr: `10.4.0.${n}:8080` });
    await discovered('billing', ['billing-1', 'billing-2', 'billing-3']);
    // The outage below lasts a few seconds: no renewal of the lead may fall inside it.
    await renewalFurtherThan(25_000);
    const before = await latestEventId();
    const logsBefore = server.logs.length;

    // The write of this addition reaches PostgreSQL and commits, but its answer never comes back.
    const swallowed = proxy.swallowCommitAfter(/insert into "services"/i);
    await putInstance('billing', 'billing-4', { Addr: '10.4.0.4:8080' });
    await swallowed;
    await proxy.cut();
    try {
      // While PostgreSQL is away: an instance added, one moved, one removed.
      await putInstance('billing', 'billing-5', { Addr: '10.4.0.5:8080' });
      await putInstance('billing', 'billing-1', { Addr: '10.4.0.11:9090' });
      await kv.delete().key(`${PREFIX}billing/billing-2`);
      const changedAt = server.logs.length;
      // Its writes fail, and are tried again: twice since the changes, so one retry carried the set they made.
      await eventually(() => (logged('following the source failed; retrying', changedAt).length >= 2 ? true : undefined), 15_000);
    } finally {
      await proxy.restore();
    }

    const expected = await inEtcd('billing');
    expect(expected.map((instance) => instance.id)).toEqual(['billing-1', 'billing-3', 'billing-4', 'billing-5']);
    await eventually(async () => (JSON.stringify(await inCatalog('billing')) === JSON.stringify(expected) ? true : undefined), 15_000);
    const found = await discovered('billing', ['billing-1', 'billing-3', 'billing-4', 'billing-5']);
    expect(found.map(({ id, address, port }) => ({ id, address, port })).sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(expected);

    // One event per change: the addition whose answer was lost was found written, not written twice.
    expect(await sourceEventsAfter(before)).toEqual([
      { type: 'service.registered', id: 'billing-1', reason: null },
      { type: 'service.unregistered', id: 'billing-2', reason: 'deregistered' },
      { type: 'service.registered', id: 'billing-4', reason: null },
      { type: 'service.registered', id: 'billing-5', reason: null },
    ]);
    // It was the retry that wrote them: the follower kept its lead and its watch, and etcd never went stale.
    expect(logged('lost the lead of the source: no longer following it', logsBefore)).toEqual([]);
    expect(server.logs.slice(logsBefore).filter((line) => String(line['msg']).startsWith('the source does not answer'))).toEqual([]);
    expect(await metric('switchboard_source_stale')).toBe(0);
  });

  it('skips and logs hostile values under the prefix, refuses invalid instances, follows the good ones, keeps serving', async () => {
    const huge = 'x'.repeat(1024 * 1024);
    // Skipped by the backend (not an instance it can read), each logged with the source's name.
    const unreadable: Record<string, string> = {
      [`${PREFIX}hostile/array`]: '[1,2,3]',
      [`${PREFIX}hostile/null`]: 'null',
      [`${PREFIX}hostile/port-as-string`]: JSON.stringify({ Addr: '10.5.0.1:80', port: '8080' }),
      [`${PREFIX}hostile/weight-as-string`]: JSON.stringify({ Addr: '10.5.0.1:80', weight: '5' }),
      [`${PREFIX}hostile/addr-port-70000`]: JSON.stringify({ Addr: '10.5.0.1:70000' }),
      [`${PREFIX}hostile/port-70000`]: JSON.stringify({ Addr: '10.5.0.1:80', port: 70000 }),
      [`${PREFIX}hostile/addr-empty-port`]: JSON.stringify({ Addr: '10.5.0.1:' }),
      [`${PREFIX}hostile/`]: JSON.stringify({ Addr: '10.5.0.1:80' }),
      [`${PREFIX}/no-service`]: JSON.stringify({ Addr: '10.5.0.1:80' }),
    };
    for (const [key, value] of Object.entries(unreadable)) await kv.put(key).value(value);
    // Read by the backend, then refused by the server as any registration would be: counted as invalid.
    const notUtf8 = Buffer.concat([Buffer.from(`${PREFIX}hostile/bad-`), Buffer.from([0xff, 0xfe, 0xc3])]);
    await kv.put(notUtf8).value(JSON.stringify({ Addr: '10.5.0.2:80' }));
    const invalid = {
      '..': { Addr: '10.5.0.3:80' },
      '../escape': { Addr: '10.5.0.4:80' },
      'huge-metadata': { Addr: '10.5.0.5:80', Metadata: { big: huge } },
      'huge-address': { Addr: `${huge}:80` },
      'weight-99999': { Addr: '10.5.0.6:80', weight: 99_999 },
    };
    for (const [id, value] of Object.entries(invalid)) await putInstance('hostile', id, value);
    // Followed: an address with no port is how Go's naming package writes an instance without one.
    await putInstance('hostile', 'ok-1', { Addr: '10.5.0.10:8080' });
    await putInstance('hostile', 'no-port', { Addr: '10.5.0.11' });

    const found = await discovered('hostile', ['no-port', 'ok-1']);
    expect(found.find((instance) => instance.id === 'no-port')).toMatchObject({ address: '10.5.0.11', port: null });
    const refusedIds = [notUtf8.subarray(`${PREFIX}hostile/`.length).toString(), ...Object.keys(invalid)];
    expect(await eventually(async () => ((await metric('switchboard_source_refused_instances', { reason: 'invalid' })) === 6 ? 6 : undefined))).toBe(6);
    for (const id of refusedIds) {
      const line = server.logs.find((entry) => entry['id'] === id && entry['kind'] === 'invalid');
      expect(line, `the refusal of ${JSON.stringify(id)} is logged`).toMatchObject({ level: 40, source: SOURCE });
      expect(String(line!['msg'])).toMatch(/^refused an instance of the source: Invalid service definition: /);
    }
    for (const key of Object.keys(unreadable)) {
      const line = server.logs.find((entry) => entry['source'] === SOURCE && String(entry['msg']).includes(`"${key}"`));
      expect(line, `the skipped key ${key} is logged`).toMatchObject({ level: 40, sourceType: 'etcd' });
    }
    // The megabyte values were never written to the log whole.
    expect(Math.max(...server.stdoutLines.map((line) => line.length))).toBeLessThan(16 * 1024);
    expect(server.child.exitCode).toBeNull();
    expect((await ask(server.url, '{ services { name } }')).ok).toBe(true);
  });

  it('keeps the instances through etcd killed -9 under the watch, and follows a change made right after it is back', async () => {
    await putInstance('ledger', 'ledger-1', { Addr: '10.7.0.1:8080' });
    await putInstance('ledger', 'ledger-2', { Addr: '10.7.0.2:8080' });
    await discovered('ledger', ['ledger-1', 'ledger-2']);
    const before = await latestEventId();

    const [pid] = childrenOf(process.pid).filter((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(`http://${etcd.address}`));
    expect(pid, 'the etcd process').toBeDefined();
    process.kill(pid!, 'SIGKILL');
    let back: Etcd3 | undefined;
    try {
      await eventually(() => (isRunning(pid!) ? undefined : true));
      await eventually(async () => ((await metric('switchboard_source_stale')) === 1 ? true : undefined), 15_000);
      // Stale, and still there.
      expect((await discover('ledger')).map((instance) => instance.id).sort()).toEqual(['ledger-1', 'ledger-2']);

      await etcd.start(); // on the same data and ports, as a supervisor would restart it
      back = new Etcd3({ hosts: etcd.endpoint });
      await back.put(`${PREFIX}ledger/ledger-3`).value(JSON.stringify({ Addr: '10.7.0.3:8080' }));
      await discovered('ledger', ['ledger-1', 'ledger-2', 'ledger-3'], 15_000);
    } finally {
      back?.close();
      // For afterAll: the wrapper would wait forever for the killed process to exit on a SIGTERM.
      if (!(await etcdAnswers())) await etcd.start();
    }
    expect(await eventually(async () => ((await metric('switchboard_source_stale')) === 0 ? 0 : undefined))).toBe(0);
    // Nothing was removed and nothing announced again: the one change is the one event.
    expect(await sourceEventsAfter(before)).toEqual([{ type: 'service.registered', id: 'ledger-3', reason: null }]);
  });

  it('follows 5,000 instances written at once, in transactions of 128 puts, each with one event, its memory bounded', async () => {
    // etcd's --max-txn-ops is 128 by default. All the keys of one transaction share its revision.
    const ids = Array.from({ length: 5_000 }, (_, n) => `bulk-${String(n).padStart(4, '0')}`);
    const batches: string[][] = [];
    for (let start = 0; start < ids.length; start += 128) batches.push(ids.slice(start, start + 128));
    const before = await latestEventId();
    const rssBefore = residentBytes(server.child.pid!);
    const started = performance.now();
    await Promise.all(
      batches.map((batch, n) =>
        kv
          .if(`${PREFIX}bulk/none`, 'Create', '==', 0)
          .then(...batch.map((id, i) => kv.put(`${PREFIX}bulk/${id}`).value(JSON.stringify({ Addr: `10.6.${n}.${i + 1}:8080` }))))
          .commit(),
      ),
    );
    await eventually(
      async () => {
        const [row] = await database.sql<{ count: number }[]>`select count(*)::int as count from services where source = ${SOURCE} and name = 'bulk'`;
        return row!.count === ids.length ? true : undefined;
      },
      30_000,
      200,
    );
    const followedInMs = performance.now() - started;
    const events = await database.sql<{ type: string; count: number; instances: number }[]>`
      select type, count(*)::int as count, count(distinct data->>'id')::int as instances from events
      where id > ${before} and actor->>'id' = ${ROLE} group by type`;
    expect(events).toEqual([{ type: 'service.registered', count: ids.length, instances: ids.length }]);
    // Every server's catalog follows the events: discovery shows them all once it has caught up.
    await eventually(async () => ((await discover('bulk')).length === ids.length ? true : undefined), 15_000, 200);
    expect(await metric('switchboard_source_instances')).toBe(4 + 2 + 3 + ids.length); // billing, hostile, ledger, bulk

    // Still serving, still the same process, its memory bounded.
    expect(server.child.exitCode).toBeNull();
    expect((await ask(server.url, '{ services { name } }')).ok).toBe(true);
    const rss = residentBytes(server.child.pid!);
    const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
    console.info(`5,000 instances followed in ${Math.round(followedInMs)} ms; server RSS ${mib(rssBefore)} MiB before, ${mib(rss)} MiB after`);
    expect(rss).toBeLessThan(512 * 2 ** 20);
  }, 60_000);
});
