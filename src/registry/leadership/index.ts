import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';

/*
 * Leadership: one process at a time does a piece of work across all servers (the alert evaluator,
 * the follower of each source). A row of `leaders` per role names its holder until `expires_at`.
 */

/**
 * Takes or renews the lead of a role in one statement: the row is written when it is free,
 * expired, or already ours; true when `holder` leads afterwards. Another process takes over
 * once the leader stops renewing and `expires_at` passes.
 */
export async function acquireLeadership(db: Executor, role: string, holder: string, ttlMs: number): Promise<boolean> {
  const rows = await db.execute<{ holder: string }>(sql`
    insert into leaders (name, holder, expires_at)
    values (${role}::text, ${holder}::text, now() + ${ttlMs}::int * interval '1 millisecond')
    on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
    where leaders.holder = excluded.holder or leaders.expires_at < now()
    returning holder`);
  return rows.length === 1;
}

/**
 * On a clean stop, as releaseLeadership, but the row stays, lapsed now: when the role was last
 * held is still known (a source no server follows any more is told apart from one whose follower restarts).
 */
export async function lapseLeadership(db: Executor, role: string, holder: string): Promise<void> {
  await db.execute(sql`update leaders set expires_at = now() where name = ${role}::text and holder = ${holder}::text`);
}

/** On a clean stop: hand the role over at once instead of letting it lapse. */
export async function releaseLeadership(db: Executor, role: string, holder: string): Promise<void> {
  await db.execute(sql`delete from leaders where name = ${role}::text and holder = ${holder}::text`);
}

/**
 * The fence a write by the leader starts with: locks the leader row (FOR SHARE, so a takeover
 * waits until this transaction ends) and returns the database's time, or undefined when
 * `holder` no longer leads unexpired (it must not write: another process may).
 */
export async function fenceLeadership(tx: Executor, role: string, holder: string): Promise<Date | undefined> {
  const [row] = await tx.execute<{ now: string }>(sql`
    select to_json(now()) #>> '{}' as now from leaders
    where name = ${role}::text and holder = ${holder}::text and expires_at > now()
    for share`);
  return row ? new Date(row.now) : undefined;
}
