import { inArray, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import { unregisteredEvent } from './events.js';
import type { ServiceInstance } from '../instances/model.js';

export const REAP_BATCH = 100;

/**
 * deregisterCriticalServiceAfter: removes instances with a check that has been
 * critical at least that long, each with a `service.unregistered` event saying
 * which check and why. Nodes split the work with SKIP LOCKED.
 *
 * Lock first, then decide in a fresh statement. The locking statement's snapshot
 * predates its locks: a check that turned passing (under the instance's lock) and
 * committed while this statement waited would still look critical to it. Every
 * check write locks its instance first, so once the rows are ours the second read
 * is the truth until commit.
 */
export async function reapCriticalServices(db: Db): Promise<ServiceInstance[]> {
  return runTransaction(db, async (tx) => {
    const locked = await criticalTooLong(tx, sql`true`, sql`limit ${REAP_BATCH} for update of s skip locked`);
    if (locked.length === 0) return [];
    const doomed = await criticalTooLong(tx, sql`s.id in ${locked.map((row) => row.id)}`);
    if (doomed.length === 0) return [];
    const removed = await tx
      .delete(services)
      .where(
        inArray(
          services.id,
          doomed.map((row) => row.id),
        ),
      )
      .returning();
    const causes = new Map(doomed.map((row) => [row.id, row]));
    await appendEvents(
      tx,
      removed.map((instance) => {
        const cause = causes.get(instance.id)!;
        const event = unregisteredEvent(instance, 'critical-too-long');
        event.data['check'] = { id: cause.check_id, name: cause.check_name, criticalSince: cause.critical_since };
        return event;
      }),
    );
    return removed;
  });
}

/** Instances matching `filter` with a check critical for longer than it allows (`suffix`: a limit and lock). */
function criticalTooLong(tx: Tx, filter: SQL, suffix: SQL = sql``) {
  return tx.execute<{ id: string; check_id: string; check_name: string; critical_since: string }>(sql`
    select s.id, c.id as check_id, c.name as check_name, to_json(c.critical_since) #>> '{}' as critical_since
    from services s
    join lateral (
      select id, name, critical_since from health_checks
      where service_id = s.id
        and status = 'CRITICAL'
        and deregister_critical_after_ms is not null
        and critical_since + deregister_critical_after_ms * interval '1 millisecond' <= now()
      order by critical_since
      limit 1
    ) c on true
    where ${filter}
    ${suffix}
  `);
}
