import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';

/** The role the alert evaluator leads: one process at a time evaluates rules, across all servers. */
export const EVALUATOR_ROLE = 'alert-evaluator';

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
