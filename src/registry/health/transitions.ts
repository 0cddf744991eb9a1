import { desc, eq, inArray, sql } from 'drizzle-orm';
import { badInput } from '@switchboard/contracts';
import type { Executor, Tx } from '../../db/client.js';
import { healthTransitions, services } from '../../db/schema/index.js';
import type { NewEvent } from '../../events/types.js';
import type { ServiceInstance } from '../instances/model.js';
import { healthChangedEvent } from './events.js';
import { effectiveStatus, type CheckStatus, type HealthTransition } from './model.js';

export interface HealthChangeInput {
  checkId: string | null;
  checkName: string | null;
  from: CheckStatus | null;
  to: CheckStatus | null;
  output: string;
}

/** One change to an instance's health, with the instance as locked before it. */
export interface PendingHealthChange {
  before: ServiceInstance;
  change: HealthChangeInput;
  /** Record it even if no status moved (maintenance details changed, say). */
  always?: boolean;
}

/**
 * After checks changed status (or appeared, or went, or maintenance was switched):
 * refresh the affected instances' stored aggregates, add the transitions to the
 * history, and record `service.health.changed` events, for any number of changes
 * in a fixed handful of statements. The caller holds the instances' row locks
 * (SELECT … FOR UPDATE), so two checks of one instance changing at once cannot
 * both compute the aggregate from stale data. Returns the instances after.
 *
 * The events go to `outbox`, for the caller to append as its transaction's last
 * statement (appendEvents holds the cluster-wide append lock until commit).
 */
export async function recordHealthChanges(tx: Tx, pending: readonly PendingHealthChange[], outbox: NewEvent[]): Promise<Map<string, ServiceInstance>> {
  const serviceIds = [...new Set(pending.map((entry) => entry.before.id))];
  if (serviceIds.length === 0) return new Map();
  const updated = await tx
    .update(services)
    .set({
      checkStatus: sql`coalesce((
        select case max(case status when 'CRITICAL' then 2 when 'WARNING' then 1 else 0 end)
                 when 2 then 'CRITICAL' when 1 then 'WARNING' else 'PASSING' end
        from health_checks where service_id = ${services.id}), 'PASSING')`,
    })
    .where(inArray(services.id, serviceIds))
    .returning();
  const after = new Map(updated.map((instance) => [instance.id, instance]));

  const transitions = pending.flatMap(({ before, change, always }) => {
    const current = after.get(before.id);
    if (!current) return [];
    const instanceFrom = effectiveStatus(before);
    const instanceTo = effectiveStatus(current);
    if (!always && change.from === change.to && instanceFrom === instanceTo) return [];
    return [{ before, change, instanceFrom, instanceTo }];
  });
  if (transitions.length === 0) return after;

  await tx.insert(healthTransitions).values(
    transitions.map(({ before, change, instanceTo }) => ({
      serviceId: before.id,
      checkId: change.checkId,
      checkName: change.checkName,
      fromStatus: change.from,
      toStatus: change.to,
      output: change.output,
      instanceStatus: instanceTo,
    })),
  );
  outbox.push(
    ...transitions.map(({ before, change, instanceFrom, instanceTo }) => {
      const current = after.get(before.id)!;
      return healthChangedEvent({
        id: before.id,
        name: before.name,
        ...change,
        instanceFrom,
        instanceTo,
        checkStatus: current.checkStatus,
        maintenance: current.maintenanceSince ? { reason: current.maintenanceReason, since: current.maintenanceSince.toISOString() } : null,
      });
    }),
  );
  return after;
}

/** One change; see recordHealthChanges. */
export async function recordHealthChange(
  tx: Tx,
  before: ServiceInstance,
  change: HealthChangeInput,
  outbox: NewEvent[],
  always = false,
): Promise<ServiceInstance> {
  const after = await recordHealthChanges(tx, [{ before, change, always }], outbox);
  return after.get(before.id) ?? before;
}

/**
 * Keeps the newest `limit` transitions of each instance (run periodically: pruning
 * on every transition would cost a statement per status change).
 */
export async function pruneHealthHistory(db: Executor, limit: number): Promise<number> {
  const removed = await db.execute<{ id: string }>(sql`
    delete from health_transitions t
    using (
      select id from (
        select id, row_number() over (partition by service_id order by id desc) as position
        from health_transitions
      ) ranked
      where position > ${limit}::int
      limit 10000
    ) old
    where t.id = old.id
    returning t.id`);
  return removed.length;
}

export const HISTORY_PAGE_DEFAULT = 20;
export const HISTORY_PAGE_MAX = 1000;

/** Recent transitions of an instance's health, newest first. */
export async function healthHistory(db: Executor, serviceId: string, last = HISTORY_PAGE_DEFAULT): Promise<HealthTransition[]> {
  if (!Number.isInteger(last) || last < 1 || last > HISTORY_PAGE_MAX) throw badInput(`last must be from 1 to ${HISTORY_PAGE_MAX}.`, { field: 'last' });
  return db.select().from(healthTransitions).where(eq(healthTransitions.serviceId, serviceId)).orderBy(desc(healthTransitions.id)).limit(last);
}
