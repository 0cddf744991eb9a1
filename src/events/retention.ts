import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { runTransaction } from '../db/transaction.js';
import { AdvisoryLock } from '../db/locks.js';
import type { Logger } from '../logger.js';
import { startPeriodic, type Periodic } from '../periodic.js';

export interface RetentionPolicy {
  /** Events older than this are pruned. */
  maxAgeMs: number;
  /** Roughly this many of the newest events are kept, whatever their age. */
  maxCount: number;
}

const PRUNE_BATCH = 10_000;

/**
 * Deletes the oldest events beyond the policy, one batch, and records how far the
 * log is now pruned (`event_log_state.pruned_through`) in the same transaction, so
 * a reader can always tell a pruned gap from an empty one.
 *
 * Only a prefix of the log is ever deleted (everything up to a horizon id), so the
 * log stays gap-free above `pruned_through`. Ids are close to dense (a rolled-back
 * append leaves a hole), so the count bound is approximate. One node prunes at a
 * time; the others skip their turn.
 */
export async function pruneEvents(db: Db, policy: RetentionPolicy, batch = PRUNE_BATCH): Promise<number> {
  return runTransaction(db, async (tx) => {
    const [lock] = await tx.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${AdvisoryLock.EVENT_RETENTION.toString()}::int8) as locked`);
    if (!lock?.locked) return 0;
    const [result] = await tx.execute<{ pruned: string | null }>(sql`
      with horizon as (
        select greatest(
          (select max(id) from events) - ${policy.maxCount}::int8,
          -- created_at follows id order (appends are serialized), so the first young event bounds the old ones
          coalesce(
            (select id - 1 from events where created_at >= now() - ${policy.maxAgeMs}::int8 * interval '1 millisecond' order by created_at limit 1),
            (select max(id) from events)
          )
        ) as id
      ),
      doomed as (
        select id from events where id <= (select id from horizon) order by id limit ${batch}
      ),
      deleted as (
        delete from events where id in (select id from doomed) returning id
      )
      update event_log_state
      set pruned_through = greatest(pruned_through, (select max(id) from deleted))
      where exists (select 1 from deleted)
      returning (select count(*) from deleted) as pruned
    `);
    return Number(result?.pruned ?? 0);
  });
}

export function startRetentionSweeper(db: Db, log: Logger, policy: RetentionPolicy, intervalMs: number): Periodic {
  return startPeriodic('event retention', intervalMs, log, async () => {
    const pruned = await pruneEvents(db, policy);
    if (pruned > 0) log.info({ pruned }, 'pruned events beyond the retention policy');
    return pruned === PRUNE_BATCH;
  });
}
