import { sql } from 'drizzle-orm';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDocument, SetConfigDocument } from '@switchboard/client';
import { SwitchboardError } from '@switchboard/contracts';
import { loadSettings } from '../src/settings.js';
import { connectDatabase } from '../src/db/client.js';
import { runWithSignal } from '../src/request-signal.js';
import { configHistory } from '../src/db/schema/index.js';
import { runTransaction } from '../src/db/transaction.js';
import { maskError } from '../src/graphql/errors.js';
import { setConfig } from '../src/registry/config/write.js';
import { RegistrationWriter } from '../src/registry/services/index.js';
import { registrySettingsFrom } from '../src/server/node.js';
import { clientFactory, SwitchboardRequestError } from './support/client.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestNode } from './support/nodes.js';
import { SYSTEM_PRINCIPAL } from '../src/registry/access/index.js';

/**
 * What the database says, as clients get it: every case is caused for real on PostgreSQL (a
 * duplicate key, a serialization failure, a deadlock, a terminated backend, a refused connection).
 */
let database: TestDatabase;
const clients = clientFactory();

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await clients.closeAll();
  await database?.drop();
});

/** The error a promise rejects with (the test fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<SwitchboardError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome === undefined) throw new Error('expected a failure, but it succeeded');
  expect(outcome).toBeInstanceOf(SwitchboardError);
  return outcome as SwitchboardError;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** A registration as the domain takes it (the client's input type allows numeric ids). */
const definition = ({ id }: { id: string }) => ({ id, name: 'api', version: '1.0.0', address: '10.0.0.1', port: 8080 });

const historyRow = (key: string) => ({ key, environment: '', version: 1, value: 1 });

describe('SQLSTATEs mapped at the db boundary', () => {
  it('a unique violation is CONFLICT with a sentence, not applied; the driver wrapper (SQL, parameters) never reaches a client', async () => {
    await runTransaction(database.db, (tx) => tx.insert(configHistory).values(historyRow('dup.key')));
    const error = await failure(runTransaction(database.db, (tx) => tx.insert(configHistory).values(historyRow('dup.key'))));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toMatch(/written at the same moment by another request; nothing was written/);
    expect(error.details).toMatchObject({ outcome: 'not_applied', constraint: 'config_history_key_environment_version_pk' });

    // Outside the helper (a lone statement), the GraphQL edge names it the same way.
    const raw = await database.db
      .insert(configHistory)
      .values(historyRow('dup.key'))
      .catch((thrown: unknown) => thrown);
    expect(String((raw as Error).message)).toMatch(/insert into/); // Drizzle's wrapper, with the SQL in it
    const masked = maskError(raw, 'Unexpected error.');
    expect(masked.extensions['code']).toBe('CONFLICT');
    expect(masked.message).not.toMatch(/insert|dup\.key|params/i);
  });

  it('a serialization failure (40001) under SERIALIZABLE is retried with backoff, and the retry decides on fresh data', async () => {
    await database.sql`create table on_call (doctor text primary key, on_call boolean not null)`;
    await database.sql`insert into on_call values ('alice', true), ('bob', true)`;
    const bothRead = deferred();
    let reads = 0;
    let attempts = 0;
    // Write skew: each leaves the rota if someone else is still on call. Serially, one leaves.
    const leave = (doctor: string) =>
      runTransaction(
        database.db,
        async (tx) => {
          attempts += 1;
          const [row] = await tx.execute<{ count: number }>(sql`select count(*)::int as count from on_call where on_call`);
          if (++reads <= 2) {
            if (reads === 2) bothRead.resolve();
            await bothRead.promise; // both first attempts read before either writes
          }
          if (row!.count < 2) return false;
          await tx.execute(sql`update on_call set on_call = false where doctor = ${doctor}`);
          return true;
        },
        { isolationLevel: 'serializable' },
      );
    const results = await Promise.all([leave('alice'), leave('bob')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(attempts).toBe(3);
    const [left] = await database.sql<{ count: number }[]>`select count(*)::int as count from on_call where on_call`;
    expect(left!.count).toBe(1);
  });

  it('a deadlock (40P01) is retried: both transactions commit', async () => {
    await database.sql`create table pair (id int primary key, n int not null)`;
    await database.sql`insert into pair values (1, 0), (2, 0)`;
    const bothLocked = deferred();
    let firstLocks = 0;
    let attempts = 0;
    const bump = (first: number, second: number) =>
      runTransaction(database.db, async (tx) => {
        attempts += 1;
        await tx.execute(sql`set local deadlock_timeout = '50ms'`);
        await tx.execute(sql`update pair set n = n + 1 where id = ${first}`);
        if (++firstLocks <= 2) {
          if (firstLocks === 2) bothLocked.resolve();
          await bothLocked.promise; // each holds one row and wants the other's
        }
        await tx.execute(sql`update pair set n = n + 1 where id = ${second}`);
      });
    await Promise.all([bump(1, 2), bump(2, 1)]);
    expect(attempts).toBe(3);
    const rows = await database.sql<{ n: number }[]>`select n from pair order by id`;
    expect(rows.map((row) => row.n)).toEqual([2, 2]);
  });

  it('a backend terminated mid-transaction (57P01) is UNAVAILABLE, not applied, and not run again', async () => {
    let attempts = 0;
    const error = await failure(
      runTransaction(database.db, async (tx) => {
        attempts += 1;
        const [{ pid }] = (await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`)) as unknown as [{ pid: number }];
        await tx.insert(configHistory).values(historyRow('terminated.key'));
        await database.sql`select pg_terminate_backend(${pid})`;
        await tx.insert(configHistory).values(historyRow('terminated.other'));
      }),
    );
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.details).toEqual({ outcome: 'not_applied' });
    expect(attempts).toBe(1);
    const rows = await database.sql`select 1 from config_history where key like 'terminated.%'`;
    expect(rows).toHaveLength(0);
  });

  it('a connection lost while COMMIT runs is UNAVAILABLE with outcome "unknown"', async () => {
    // A deferred constraint trigger runs at COMMIT: it holds the commit open long enough to cut it.
    await database.sql.unsafe(`
      create table slow_commit (id int primary key);
      create function slow_commit_sleep() returns trigger language plpgsql as $$ begin perform pg_sleep(2); return null; end $$;
      create constraint trigger slow_commit_at_commit after insert on slow_commit deferrable initially deferred
        for each row execute function slow_commit_sleep();`);
    // Observed from the start: it rejects while the test is still terminating the backend.
    const writing = failure(runTransaction(database.db, (tx) => tx.execute(sql`insert into slow_commit values (1)`)));
    const pid = await eventually(async () => {
      const [row] = await database.sql<
        { pid: number }[]
      >`select pid from pg_stat_activity where query = 'commit' and state = 'active' and datname = current_database()`;
      return row?.pid;
    });
    await database.sql`select pg_terminate_backend(${pid})`;
    const error = await writing;
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.details).toEqual({ outcome: 'unknown' });
    expect(error.message).toMatch(/may or may not have been applied/);
  });

  it('a database that is starting up (57P03) is retried briefly before the transaction, then UNAVAILABLE, not applied', async () => {
    // A stand-in for a restarting PostgreSQL: it answers every connection with 57P03, as the real one does.
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      socket.on('error', () => {});
      socket.once('data', () => socket.end(errorResponse('57P03', 'the database system is starting up')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const restarting = connectDatabase(`postgres://postgres@127.0.0.1:${port}/restarting`, { poolSize: 1 });
    try {
      const error = await failure(runTransaction(restarting.db, async () => 'never'));
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.details).toEqual({ outcome: 'not_applied' });
      expect(connections).toBe(3); // the first try and two retries
    } finally {
      await restarting.close(1);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** A PostgreSQL ErrorResponse message (protocol 3.0), FATAL with this SQLSTATE. */
function errorResponse(code: string, message: string): Buffer {
  const body = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

describe('abandoned writes', () => {
  const settings = registrySettingsFrom(loadSettings({}));

  it('a write whose request was already abandoned writes nothing and is UNAVAILABLE, not applied', async () => {
    const abandoned = AbortSignal.abort();
    const error = await failure(
      runWithSignal(abandoned, () => setConfig(database.db, { key: 'abandoned.key', value: 1 }, { historyLimit: 10 }, SYSTEM_PRINCIPAL)),
    );
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.details).toEqual({ outcome: 'not_applied' });
    const rows = await database.sql`select 1 from config_entries where key = 'abandoned.key'`;
    expect(rows).toHaveLength(0);
  });

  it('a write abandoned while it waited for a pooled connection is refused once it has one', async () => {
    const single = connectDatabase(database.url, { poolSize: 1 });
    try {
      const release = deferred();
      const holding = runTransaction(single.db, () => release.promise); // holds the only connection
      const controller = new AbortController();
      const waiting = failure(
        runWithSignal(controller.signal, () => setConfig(single.db, { key: 'waited.key', value: 1 }, { historyLimit: 10 }, SYSTEM_PRINCIPAL)),
      );
      controller.abort(); // gave up while queued for the connection
      release.resolve();
      await holding;
      const error = await waiting;
      expect(error.details).toEqual({ outcome: 'not_applied' });
      const rows = await database.sql`select 1 from config_entries where key = 'waited.key'`;
      expect(rows).toHaveLength(0);
    } finally {
      await single.close(1);
    }
  });

  it('a group-committed registration abandoned while queued is dropped from its batch; its batch-mates are written', async () => {
    const writer = new RegistrationWriter(database.db, settings.health.policy);
    const first = writer.register(definition({ id: 'batch-first' }), SYSTEM_PRINCIPAL); // its batch starts at once; the next ones queue behind it
    const controller = new AbortController();
    const dropped = failure(runWithSignal(controller.signal, () => writer.register(definition({ id: 'batch-abandoned' }), SYSTEM_PRINCIPAL)));
    const mate = writer.register(definition({ id: 'batch-mate' }), SYSTEM_PRINCIPAL);
    controller.abort();
    await first;
    await mate;
    const error = await dropped;
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.details).toEqual({ outcome: 'not_applied' });
    const rows = await database.sql<{ id: string }[]>`select id from services where id like 'batch-%' order by id`;
    expect(rows.map((row) => row.id)).toEqual(['batch-first', 'batch-mate']);
  });

  it('a registration batch whose COMMIT was cut off is answered "unknown" and not run again one by one', async () => {
    await database.sql.unsafe(`
      create function slow_registration_commit() returns trigger language plpgsql as $$ begin perform pg_sleep(2); return null; end $$;
      create constraint trigger slow_registration_at_commit after insert on services deferrable initially deferred
        for each row when (new.id like 'cut-%') execute function slow_registration_commit();`);
    try {
      const writer = new RegistrationWriter(database.db, settings.health.policy);
      const warm = writer.register(definition({ id: 'warm-1' }), SYSTEM_PRINCIPAL); // the next two queue behind it, as one batch
      const cut = [writer.register(definition({ id: 'cut-1' }), SYSTEM_PRINCIPAL), writer.register(definition({ id: 'cut-2' }), SYSTEM_PRINCIPAL)].map(failure);
      await warm;
      const pid = await eventually(async () => {
        const [row] = await database.sql<
          { pid: number }[]
        >`select pid from pg_stat_activity where query = 'commit' and state = 'active' and datname = current_database()`;
        return row?.pid;
      });
      await database.sql`select pg_terminate_backend(${pid})`;
      for (const error of await Promise.all(cut)) expect(error.details).toEqual({ outcome: 'unknown' });
    } finally {
      await database.sql.unsafe('drop trigger slow_registration_at_commit on services');
    }
  });

  it("a batch runs outside the request that started it: that request's abort does not refuse the others", async () => {
    const writer = new RegistrationWriter(database.db, settings.health.policy);
    const controller = new AbortController();
    const starter = runWithSignal(controller.signal, () => writer.register(definition({ id: 'starter' }), SYSTEM_PRINCIPAL));
    const others = [writer.register(definition({ id: 'other-1' }), SYSTEM_PRINCIPAL), writer.register(definition({ id: 'other-2' }), SYSTEM_PRINCIPAL)];
    controller.abort();
    await Promise.allSettled([starter]);
    await Promise.all(others);
  });
});

describe('UNAVAILABLE over HTTP', () => {
  it('a node whose database went away answers 503 with code UNAVAILABLE, never "Unexpected error."', async () => {
    const proxy = await startProxy(new URL(database.url));
    const node = await startTestNode(proxyUrl(database.url, proxy.port), { SWITCHBOARD_ADMIN_TOKEN: 'db-errors-admin-token' });
    const client = clients.create(node.url, 'db-errors-admin-token');
    // A token the node has not seen yet: checking it needs the database.
    const newcomer = clients.create(node.url, 'sbt_not-seen-before');
    try {
      await client.request(SetConfigDocument, { key: 'proxied.key', value: 1 });
      proxy.cut();

      const write = () => client.request(SetConfigDocument, { key: 'proxied.key', value: 2 });
      const read = () => client.request(ConfigDocument, { key: 'proxied.other' });
      const authenticate = () => newcomer.request(ConfigDocument, { key: 'proxied.other' });
      for (const request of [write, read, authenticate]) {
        const error = await request().then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect(error).toBeInstanceOf(SwitchboardRequestError);
        const { errors, status } = error as SwitchboardRequestError;
        expect(status).toBe(503);
        expect(errors[0]!.extensions?.['code']).toBe('UNAVAILABLE');
        expect(errors[0]!.message).not.toBe('Unexpected error.');
      }
    } finally {
      await proxy.heal(); // so the node stops as usual, not waiting out its pool's close timeout
      await node.stop();
      proxy.close();
    }
  });
});

/** A TCP proxy to PostgreSQL on loopback, which the test can cut: open connections dropped, new ones refused. */
async function startProxy(target: URL): Promise<{ port: number; cut(): void; heal(): Promise<void>; close(): void }> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async heal() {
      cut = false;
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    cut() {
      // Refused, as from a stopped server (connections accepted and dropped instead would hang until connect_timeout).
      cut = true;
      server.close();
      for (const socket of sockets) socket.destroy();
    },
    close() {
      cut = true;
      if (server.listening) server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

function proxyUrl(url: string, port: number): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  return proxied.toString();
}
