import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';

/** The lease the alert evaluator holds: one process at a time evaluates rules, across all servers. */
export const EVALUATOR_LEASE = 'alert-evaluator';

/**
 * Takes or renews a lease in one statement: the row is written when it is free, expired, or
 * already ours; true when `holder` holds it afterwards. Another process takes over once the
 * holder stops renewing and `expires_at` passes.
 */
export async function acquireLease(db: Executor, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const rows = await db.execute<{ holder: string }>(sql`
    insert into leases (name, holder, expires_at)
    values (${name}::text, ${holder}::text, now() + ${ttlMs}::int * interval '1 millisecond')
    on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
    where leases.holder = excluded.holder or leases.expires_at < now()
    returning holder`);
  return rows.length === 1;
}

/** On a clean stop: hand the lease over at once instead of letting it lapse. */
export async function releaseLease(db: Executor, name: string, holder: string): Promise<void> {
  await db.execute(sql`delete from leases where name = ${name}::text and holder = ${holder}::text`);
}

/**
 * The fence a write under the lease starts with: locks the lease row (FOR SHARE, so a takeover
 * waits until this transaction ends) and returns the database's time, or undefined when
 * `holder` no longer holds an unexpired lease (it must not write: another process may).
 */
export async function fenceLease(tx: Executor, name: string, holder: string): Promise<Date | undefined> {
  const [row] = await tx.execute<{ now: string }>(sql`
    select to_json(now()) #>> '{}' as now from leases
    where name = ${name}::text and holder = ${holder}::text and expires_at > now()
    for share`);
  return row ? new Date(row.now) : undefined;
}
