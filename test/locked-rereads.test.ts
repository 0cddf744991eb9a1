import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/settings.js';
import { connectDatabase, type Database } from '../src/db/client.js';
import { updateTtlCheck } from '../src/registry/health/index.js';
import { reapCriticalServices, registerService } from '../src/registry/services/index.js';
import { registrySettingsFrom } from '../src/server/node.js';
import { eventually } from './support/wait.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { SYSTEM_PRINCIPAL } from '../src/registry/access/index.js';

/**
 * Two writes that wait for a lock and must then decide on the row as it is after the wait,
 * not as their first read saw it. Each race is made deterministic: the test holds the lock
 * (or pauses the statement) the write waits on, changes the row, and only then lets it go on.
 */
let database: TestDatabase;
const policy = registrySettingsFrom(loadSettings({})).health.policy;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/** A transaction on a connection of its own, left open until `commit`. */
async function openTransaction(sql: postgres.Sql) {
  const reserved = await sql.reserve();
  await reserved`begin`;
  const [{ pid }] = (await reserved`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
  let committed = false;
  return {
    sql: reserved,
    pid,
    /** Commits (once) and returns the connection to the pool. */
    async commit() {
      if (committed) return;
      committed = true;
      try {
        await reserved`commit`;
      } finally {
        reserved.release();
      }
    },
  };
}

/** Resolves once some backend waits for a lock `pid` holds. */
async function someoneWaitsFor(pid: number): Promise<void> {
  await eventually(async () => {
    const [{ waiting }] =
      (await database.sql`select count(*)::int as waiting from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid))`) as unknown as [
        { waiting: number },
      ];
    return waiting > 0 ? true : undefined;
  });
}

const instance = (id: string, check: Record<string, unknown>) => ({
  id,
  name: id,
  version: '1.0.0',
  address: '10.0.0.1',
  port: 80,
  healthChecks: [{ id: `${id}-check`, ...check }],
});

describe('a TTL update decides on the locked check', () => {
  it('a check re-registered as TCP while the update waited for its instance is refused with BAD_USER_INPUT, and keeps its state', async () => {
    await registerService(database.db, instance('ttl-race', { ttlMs: 30_000 }), policy, SYSTEM_PRINCIPAL);
    const [before] = await database.sql`select status, output from health_checks where id = 'ttl-race-check'`;
    const holder = await openTransaction(database.sql);
    try {
      await holder.sql`select id from services where id = 'ttl-race' for update`;
      // The update reads the check (still TTL), then waits for the instance.
      const update = updateTtlCheck(database.db, 'ttl-race-check', { status: 'WARNING', output: 'set by the TTL update' }, SYSTEM_PRINCIPAL).then(
        () => undefined,
        (error: unknown) => error,
      );
      await someoneWaitsFor(holder.pid);
      await holder.sql`update health_checks set kind = 'TCP', target = ${JSON.stringify({ kind: 'TCP', address: '10.0.0.1:80' })}::jsonb, ttl_ms = null where id = 'ttl-race-check'`;
      await holder.commit();
      expect(await update).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/TCP check; only TTL checks take updates/) });
    } finally {
      await holder.commit();
    }
    const [check] = await database.sql`select kind, status, output from health_checks where id = 'ttl-race-check'`;
    expect(check).toEqual({ kind: 'TCP', ...before });
  });
});

describe('the reaper decides after it has locked', () => {
  /**
   * The reaper's locking statement takes its snapshot before it reaches (and locks) a row, so
   * the race is a commit inside one statement. To land one there, `now()` (which the statement
   * calls per row) is shadowed in this database by a function that, for the reaper's pool only,
   * first waits for an advisory lock the test holds: the statement is paused after its snapshot.
   */
  const GATE = 4242;
  let gated: Database;

  beforeAll(async () => {
    await database.sql.unsafe(`
      create function public.now() returns timestamptz language plpgsql volatile as $$
      begin
        if current_setting('application_name') = 'reaper-gated' then perform pg_advisory_xact_lock_shared(${GATE}); end if;
        return pg_catalog.now();
      end $$`);
    // pg_catalog comes first unless named: name it after public, for new connections to this database only.
    await database.sql.unsafe(`alter database "${database.name}" set search_path = public, pg_catalog`);
    gated = connectDatabase(database.url, { applicationName: 'reaper-gated' });
  });

  afterAll(async () => {
    await gated?.close();
  });

  it("an instance whose check passed while the reaper's statement ran is kept; one still critical too long is removed", async () => {
    for (const id of ['reap-race', 'reap-doomed']) {
      await registerService(database.db, instance(id, { ttlMs: 30_000, deregisterCriticalAfterMs: 60_000 }), policy, SYSTEM_PRINCIPAL);
    }
    await database.sql`update health_checks set status = 'CRITICAL', critical_since = pg_catalog.now() - interval '1 hour'`;

    const gate = await openTransaction(database.sql);
    let removed: string[] | undefined;
    try {
      await gate.sql`select pg_advisory_lock(${GATE})`;
      const reaping = reapCriticalServices(gated.db).then((instances) => instances.map((row) => row.id).sort());
      await someoneWaitsFor(gate.pid);
      // The instance's check passes, through the ordinary write path (it locks the instance first).
      await updateTtlCheck(database.db, 'reap-race-check', { status: 'PASSING' }, SYSTEM_PRINCIPAL);
      await gate.sql`select pg_advisory_unlock(${GATE})`;
      removed = await reaping;
    } finally {
      await gate.commit();
    }
    expect(removed).toEqual(['reap-doomed']);
    const kept = await database.sql`select id from services order by id`;
    expect(kept.map((row) => row['id'])).toContain('reap-race');
    expect(kept.map((row) => row['id'])).not.toContain('reap-doomed');
  });
});
