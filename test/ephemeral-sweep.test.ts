import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnServiceChangedDocument, RegisterServiceDocument } from '@switchboard/client';
import { loadSettings } from '../src/settings.js';
import { expireLapsedServices, sessionFingerprint } from '../src/registry/services/index.js';
import { startNode } from '../src/server/node.js';
import { clientFactory, type SwitchboardClient } from './support/client.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { tracked } from './support/leaks.js';
import type { TestNode } from './support/nodes.js';

/**
 * The expiry sweep against ephemeral instances whose server is starved: the invariant is that no sweep,
 * on any server, removes an instance whose session some server renewed within the grace period, and that
 * every removal is logged with its reason, the lease it judged and the server that removed it.
 * (Reported: at load 7–9 with a 1.5 s grace, live clients' instances were removed as connection-lost.)
 */
const GRACE_MS = 1_500;
const FAST_SWEEP = '100ms';
/** A sweep that does not run during a test: the test sweeps itself, at the moment it chooses. */
const NO_SWEEP = '60s';

let database: TestDatabase;
const clients = clientFactory();

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await clients.closeAll();
  await database?.drop();
});

interface LoggedNode {
  node: TestNode;
  name: string;
  /** Every line the node logged at info and above, parsed. */
  logs: Record<string, unknown>[];
}

/** An in-process node whose log lines the test reads (startTestNode's logger is silent). */
async function startLoggedNode(env: Record<string, string>): Promise<LoggedNode> {
  const name = `node-${randomUUID().slice(0, 8)}`;
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = loadSettings({
    DATABASE_URL: database.url,
    PORT: '0',
    SWITCHBOARD_SELF_REGISTER: 'false',
    SWITCHBOARD_NODE_NAME: name,
    SWITCHBOARD_EPHEMERAL_GRACE: `${GRACE_MS}ms`,
    ...env,
  });
  const node = (await startNode(config, pino({ level: 'info' }, destination))) as TestNode;
  return { node: tracked('node', `in-process node ${name}`, node, 'stop'), name, logs };
}

/** A client connected to `node` over WebSocket, held open by a subscription, with one ephemeral instance. */
async function connectWithEphemeral(node: TestNode, id: string): Promise<{ client: SwitchboardClient; sessionId: string; connected: () => boolean }> {
  const sessionId = randomUUID();
  const client = clients.create(node.url, undefined, { sessionId });
  let connected = true;
  void client
    .subscribe(OnServiceChangedDocument, { name: `holder-${id}` })
    .next()
    .finally(() => (connected = false))
    .catch(() => {});
  await client.requestOverWebSocket(RegisterServiceDocument, { input: { id, name: 'starved', address: '127.0.0.1', port: 9000 }, ephemeral: true });
  return { client, sessionId, connected: () => connected };
}

async function lease(id: string) {
  const [row] = await database.sql<{ expires_at: string; ttl_ms: number; lapsed: boolean; xmin: string }[]>`
    select to_json(expires_at) #>> '{}' as expires_at, ttl_ms, expires_at <= now() as lapsed, xmin::text from services where id = ${id}`;
  return row && { ...row, expires_at: new Date(row.expires_at) };
}

async function removals(id: string) {
  return database.sql<{ reason: string; created_at: string; lease_end: string }[]>`
    select data->>'reason' as reason, to_json(created_at) #>> '{}' as created_at, data->'instance'->>'expiresAt' as lease_end
    from events where type = 'service.unregistered' and data->>'id' = ${id} order by id`;
}

function removalLogs(node: LoggedNode, id: string) {
  return node.logs.filter((line) => line['instanceId'] === id);
}

describe('the expiry sweep and starved ephemeral renewals', () => {
  it('removes a starved session’s instance only once no server renewed it within the grace, and logs who removed it and why', async () => {
    const a = await startLoggedNode({ SWITCHBOARD_EXPIRY_SWEEP: FAST_SWEEP });
    const b = await startLoggedNode({ SWITCHBOARD_EXPIRY_SWEEP: FAST_SWEEP });
    try {
      const id = `starved-${randomUUID()}`;
      const session = await connectWithEphemeral(a.node, id);
      // A renews while both servers sweep: two grace periods later (on the database's clock) it is still there.
      const registered = await lease(id);
      await eventually(async () =>
        (await database.sql`select now() > ${registered!.expires_at.toISOString()}::timestamptz + ${GRACE_MS} * interval '1ms' as past`)[0]!['past']
          ? true
          : undefined,
      );
      expect(await lease(id)).toMatchObject({ lapsed: false });
      expect(await removals(id)).toEqual([]);

      // A is starved: its renewals stop, its client stays connected. Once no server renewed the session for
      // the grace period, a sweep removes it: B's, since A's own sweep leaves the sessions it holds alone.
      await a.node.sessions!.stop();
      const last = (await lease(id))!;
      const lastRenewedAt = new Date(last.expires_at.getTime() - last.ttl_ms);
      await eventually(async () => ((await lease(id)) ? undefined : true), 5 * GRACE_MS);
      expect(session.connected()).toBe(true);

      const [removal] = await removals(id);
      expect(removal?.reason).toBe('connection-lost');
      // Not before the lease the last renewal gave ran out, on the database's clock.
      expect(new Date(removal!.created_at).getTime()).toBeGreaterThanOrEqual(last.expires_at.getTime());
      expect(new Date(removal!.lease_end).getTime()).toBe(last.expires_at.getTime());

      expect(removalLogs(b, id)).toEqual([
        expect.objectContaining({
          level: 30,
          instanceId: id,
          service: 'starved',
          reason: 'connection-lost',
          session: sessionFingerprint(session.sessionId),
          lastRenewedAt: lastRenewedAt.toISOString(),
          leaseEndedAt: last.expires_at.toISOString(),
          removedBy: b.name,
        }),
      ]);
      expect(removalLogs(a, id)).toEqual([]);
      // The session id itself, a client's secret, is in no log line.
      expect(JSON.stringify([...a.logs, ...b.logs])).not.toContain(session.sessionId);
    } finally {
      await clients.closeAll();
      await Promise.all([a.node.stop(), b.node.stop()]);
    }
  });

  it('a server’s own sweep never removes the instances of sessions connected to it, however late its renewal', async () => {
    const a = await startLoggedNode({ SWITCHBOARD_EXPIRY_SWEEP: FAST_SWEEP });
    try {
      const id = `stalled-${randomUUID()}`;
      const session = await connectWithEphemeral(a.node, id);
      // A's renewal stalls (as after an event-loop pause, when its timers run in any order): its lease lapses.
      await a.node.sessions!.stop();
      const stalled = (await lease(id))!;
      await eventually(async () => ((await lease(id))!.lapsed ? true : undefined), 3 * GRACE_MS);

      // Proof that A swept after the lapse: a canary whose lease ends later than the stalled one's is gone
      // (the sweep takes lapsed leases in expiry order, all in one statement).
      const canary = `canary-${randomUUID()}`;
      await clients.create(a.node.url).request(RegisterServiceDocument, { input: { id: canary, name: 'canary', address: '127.0.0.1', port: 9001, ttl: '1s' } });
      expect((await lease(canary))!.expires_at.getTime()).toBeGreaterThan(stalled.expires_at.getTime());
      await eventually(async () => ((await lease(canary)) ? undefined : true), 3 * GRACE_MS);

      expect(await lease(id)).toMatchObject({ lapsed: true });
      expect(await removals(id)).toEqual([]);

      // Once its client is gone, A knows nothing keeps it: A's sweep removes it, and says so.
      await session.client.close();
      await eventually(async () => ((await lease(id)) ? undefined : true), 3 * GRACE_MS);
      expect((await removals(id)).map((removal) => removal.reason)).toEqual(['connection-lost']);
      expect(removalLogs(a, id)).toEqual([
        expect.objectContaining({ reason: 'connection-lost', removedBy: a.name, session: sessionFingerprint(session.sessionId) }),
      ]);
      expect(removalLogs(a, canary)).toEqual([expect.objectContaining({ reason: 'ttl-expired', removedBy: a.name, service: 'canary' })]);
    } finally {
      await clients.closeAll();
      await a.node.stop();
    }
  });

  it('a renewal that waited behind a row lock for longer than the grace, and committed just before a sweep, is honoured', async () => {
    const a = await startLoggedNode({ SWITCHBOARD_EXPIRY_SWEEP: NO_SWEEP });
    try {
      const id = `blocked-${randomUUID()}`;
      await connectWithEphemeral(a.node, id);

      // Another connection holds the instance's row (as a registration batch or a health write does) until
      // A's renewal has waited on it for longer than the grace period, by the database's clock.
      let stopping: Promise<void> | undefined;
      let before: string | undefined;
      await database.sql.begin(async (tx) => {
        await tx`select id from services where id = ${id} for update`;
        await eventually(async () => {
          const [waiting] = await database.sql<{ waited_past_grace: boolean }[]>`
              select now() - query_start > ${GRACE_MS} * interval '1ms' as waited_past_grace from pg_stat_activity
              where application_name = ${`switchboard serve ${a.name}`} and wait_event_type = 'Lock' and query like '%update services set expires_at%'`;
          return waiting?.waited_past_grace ? true : undefined;
        }, 5 * GRACE_MS);
        expect(await lease(id)).toMatchObject({ lapsed: true });
        before = (await lease(id))!.xmin;
        // No renewal after the blocked one: stop() waits for it, once the lock is released.
        stopping = a.node.sessions!.stop();
      });
      await stopping;
      // The blocked renewal committed (the row changed) just now; then another server's sweep runs.
      expect((await lease(id))!.xmin).not.toBe(before);

      const swept = await expireLapsedServices(database.db);
      expect(swept.map((removed) => removed.instance.id)).not.toContain(id);
      expect(await lease(id)).toMatchObject({ lapsed: false });
      expect(await removals(id)).toEqual([]);
    } finally {
      await clients.closeAll();
      await a.node.stop();
    }
  });
});
