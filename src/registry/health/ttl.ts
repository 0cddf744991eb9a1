import { eq, sql } from 'drizzle-orm';
import { badInput, notFound, textFaults } from '@switchboard/contracts';
import type { Db, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { healthChecks } from '../../db/schema/index.js';
import { withOutbox } from '../../events/append.js';
import type { NewEvent } from '../../events/types.js';
import { assertMayChangeInstance, type Principal } from '../access/principal.js';
import { lockInstance } from '../instances/lock.js';
import type { ServiceInstance } from '../instances/model.js';
import { capOutput, type CheckStatus, type HealthCheck } from './model.js';
import { recordHealthChange } from './transitions.js';

export interface TtlUpdate {
  status: CheckStatus | 'UNKNOWN';
  output?: string | null | undefined;
}

/**
 * Sets a TTL check's status (how a service reports its own health), valid for the
 * check's TTL; once that lapses without another update the worker marks it
 * critical. Updates take effect at once (no hysteresis), as in Consul, and cancel
 * a lapse that a worker may be recording at this very moment (its claim is voided).
 */
export async function updateTtlCheck(db: Db, checkId: string, update: TtlUpdate, principal: Principal): Promise<HealthCheck> {
  if (update.status === 'UNKNOWN') throw badInput('A TTL check can be set PASSING, WARNING or CRITICAL.', { field: 'status' });
  const status = update.status;
  const output = capOutput(update.output ?? '');
  if (textFaults(output).length > 0) throw badInput('output must be valid Unicode text without NUL characters.', { field: 'output' });
  return runTransaction(db, async (tx) => {
    // A check never moves to another instance, so this unlocked read names the instance to lock;
    // everything the update depends on (its kind, its status) is read again, locked.
    const [found] = await tx.select({ serviceId: healthChecks.serviceId }).from(healthChecks).where(eq(healthChecks.id, checkId));
    if (!found) throw notFound('Health check', checkId);
    // The instance goes with its checks (cascade): gone here means the check is gone too.
    const instance = await lockInstance(tx, found.serviceId);
    if (!instance) throw notFound('Health check', checkId);
    assertMayChangeInstance(principal, instance);
    const [previous] = await tx.select().from(healthChecks).where(eq(healthChecks.id, checkId)).for('update');
    if (!previous) throw notFound('Health check', checkId);
    if (previous.kind !== 'TTL') throw badInput(`Health check "${checkId}" is a ${previous.kind} check; only TTL checks take updates.`, { field: 'checkId' });
    const [updated] = await tx
      .update(healthChecks)
      .set(ttlRefresh(status, output, previous.status))
      .where(eq(healthChecks.id, checkId))
      .returning();
    if (updated!.status !== previous.status) {
      await withOutbox(tx, (outbox) =>
        recordHealthChange(tx, instance, { checkId, checkName: updated!.name, from: previous.status, to: updated!.status, output }, outbox),
      );
    }
    return updated!;
  });
}

/**
 * A heartbeat also passes every TTL check of the instance (the caller has locked the
 * instance). Health events go to `outbox`, for the caller to append last.
 */
export async function passTtlChecks(tx: Tx, instance: ServiceInstance, outbox: NewEvent[]): Promise<ServiceInstance> {
  const previous = await tx
    .select({ id: healthChecks.id, name: healthChecks.name, status: healthChecks.status })
    .from(healthChecks)
    .where(sql`${healthChecks.serviceId} = ${instance.id} and ${healthChecks.kind} = 'TTL'`)
    .for('update');
  let current = instance;
  for (const check of previous) {
    await tx
      .update(healthChecks)
      .set(ttlRefresh('PASSING', 'Heartbeat received.', check.status))
      .where(eq(healthChecks.id, check.id));
    if (check.status !== 'PASSING') {
      current = await recordHealthChange(
        tx,
        current,
        { checkId: check.id, checkName: check.name, from: check.status, to: 'PASSING', output: 'Heartbeat received.' },
        outbox,
      );
    }
  }
  return current;
}

function ttlRefresh(status: CheckStatus, output: string, previous: CheckStatus) {
  const changed = status !== previous;
  return {
    status,
    output,
    nextRunAt: sql`now() + ${healthChecks.ttlMs} * interval '1 millisecond'`,
    lastCheckAt: sql`now()`,
    checkCount: sql`${healthChecks.checkCount} + 1`,
    failureCount: status === 'PASSING' ? sql`${healthChecks.failureCount}` : sql`${healthChecks.failureCount} + 1`,
    consecutiveSuccesses: status === 'PASSING' ? sql`${healthChecks.consecutiveSuccesses} + 1` : 0,
    consecutiveFailures: status === 'PASSING' ? 0 : sql`${healthChecks.consecutiveFailures} + 1`,
    ...(changed ? { statusChangedAt: sql`now()`, criticalSince: status === 'CRITICAL' ? sql`now()` : null } : {}),
    // Void any claim: a worker about to record a lapse must not overwrite this update.
    lockedBy: null,
    lockedUntil: null,
  };
}
