import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvisoryLock } from '../src/db/locks.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { ask } from './support/faults.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { startTestNode, type TestNode } from './support/nodes.js';

/**
 * A write whose deadline passes while it waits (for its key's lock, for a pool connection) is
 * cancelled in the database and answered `not_applied`, and that answer is true; only a COMMIT
 * sent and not answered is `unknown`. No load: the waits are made by holding locks.
 */
const DEADLINE = '1s';
const SET_CONFIG = 'mutation ($key: String!, $value: JSON!) { setConfig(key: $key, value: $value) { version } }';

let database: TestDatabase;
let proxy: FaultProxy;
let node: TestNode;
/** The test's own connections, which hold the locks the node's writes wait for. */
let holder: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startFaultProxy(database.url);
  node = await startTestNode(proxy.url, {
    SWITCHBOARD_REQUEST_TIMEOUT: DEADLINE,
    // Two connections: two stuck reads exhaust the pool.
    SWITCHBOARD_DB_POOL_SIZE: '2',
    SWITCHBOARD_HEALTH_WORKER: 'false',
  });
  holder = postgres(database.url, { max: 3, onnotice: () => {} });
});

afterAll(async () => {
  await node?.stop();
  await holder?.end({ timeout: 5 });
  await proxy?.stop();
  await database?.drop();
});

/** Runs `statement` in a transaction of the test's own and keeps it open (its locks held) until the returned release is called. */
async function holdInTransaction(statement: (tx: postgres.TransactionSql) => Promise<unknown>): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  const done = holder.begin(async (tx) => {
    await statement(tx);
    held();
    await released;
  });
  await Promise.race([holding, done]);
  return async () => {
    release();
    await done;
  };
}

/** The node's backends in this database, as PostgreSQL sees them. */
async function nodeBackends(): Promise<{ state: string; waiting: string | null; query: string }[]> {
  return holder<{ state: string; waiting: string | null; query: string }[]>`
    select state, wait_event_type as waiting, query from pg_stat_activity
    where datname = ${database.name} and application_name like 'switchboard serve %'`;
}

async function storedConfig(key: string): Promise<{ versions: number[]; events: number }> {
  const history = await holder<{ version: number }[]>`select version from config_history where key = ${key} order by version`;
  const [events] = await holder<{ count: number }[]>`select count(*)::int as count from events where type = 'config.changed' and data->>'key' = ${key}`;
  return { versions: history.map((row) => row.version), events: events!.count };
}

describe('a write whose deadline passes while it waits', () => {
  it('for its key lock: answered not_applied, its statement cancelled in the database, and never applied', async () => {
    const key = 'deadline.lock-held';
    const release = await holdInTransaction((tx) => tx`select pg_advisory_xact_lock(${AdvisoryLock.CONFIG_KEY}::int4, hashtext(${key}))`);
    let released = false;
    try {
      const answer = await ask(node.url, SET_CONFIG, { key, value: 'late' });
      expect(answer).toMatchObject({ ok: false, code: 'UNAVAILABLE', outcome: 'not_applied' });

      // The write's statement no longer waits for the lock: it was cancelled, not merely left behind.
      await eventually(async () => ((await nodeBackends()).some((backend) => backend.waiting === 'Lock') ? undefined : true), 3_000);

      await release();
      released = true;
      // Had the write stayed queued for the lock, it would take it first and commit version 1 now.
      const next = await ask(node.url, SET_CONFIG, { key, value: 'next' });
      expect(next).toMatchObject({ ok: true, data: { setConfig: { version: 1 } } });
      expect(await storedConfig(key)).toEqual({ versions: [1], events: 1 });
    } finally {
      if (!released) await release();
    }
  });

  it('for a pool connection: answered not_applied, and never applied once a connection frees', async () => {
    const key = 'deadline.pool-exhausted';
    // Reads that wait for a table lock hold both of the node's connections past their own deadline.
    // Four, not two: the driver queues a read behind a busy connection (say, a sweep's) when it has no
    // idle one, so two could share one connection and leave the other free.
    const release = await holdInTransaction((tx) => tx`lock table tokens in access exclusive mode`);
    let released = false;
    try {
      const reads = Array.from({ length: 4 }, () => ask(node.url, '{ tokens { id } }'));
      await eventually(async () => ((await nodeBackends()).filter((backend) => backend.waiting === 'Lock').length === 2 ? true : undefined), 5_000);

      const answer = await ask(node.url, SET_CONFIG, { key, value: 'queued' });
      expect(answer).toMatchObject({ ok: false, code: 'UNAVAILABLE', outcome: 'not_applied' });
      expect((await Promise.all(reads)).map((read) => read.code)).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);

      await release();
      released = true;
      // The write got its connection now: the node settles, and nothing of it was written.
      await eventually(async () => ((await nodeBackends()).every((backend) => backend.state === 'idle') ? true : undefined), 5_000);
      expect(await storedConfig(key)).toEqual({ versions: [], events: 0 });
    } finally {
      if (!released) await release();
    }
  });
});

describe('a write whose deadline passes while its COMMIT is in flight', () => {
  it('is answered unknown: the COMMIT reached PostgreSQL and did apply it', async () => {
    const key = 'deadline.commit-in-flight';
    try {
      const swallowed = proxy.swallowCommitAfter(/pg_advisory_xact_lock\(.*hashtext/);
      const answer = await ask(node.url, SET_CONFIG, { key, value: 'committed' });
      await swallowed;
      expect(answer).toMatchObject({ ok: false, code: 'UNAVAILABLE', outcome: 'unknown' });
      expect(await storedConfig(key)).toEqual({ versions: [1], events: 1 });
    } finally {
      // The node's connection that never got its answer: drop it, and let the node reconnect.
      await proxy.cut();
      await proxy.restore();
    }
  });
});
