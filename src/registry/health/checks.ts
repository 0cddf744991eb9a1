import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import { conflict, notFound, type HealthCheckInput } from '@switchboard/contracts';
import type { Db, Executor, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { healthChecks } from '../../db/schema/index.js';
import { withOutbox } from '../../events/append.js';
import type { NewEvent } from '../../events/types.js';
import { assertMayAddChecks, assertMayChangeInstance, type Principal } from '../access/principal.js';
import { lockInstance, lockInstanceToChange } from '../instances/lock.js';
import type { ServiceInstance } from '../instances/model.js';
import { lockOrInsertOne, sameDefinition } from '../upsert.js';
import { parseCheckDefinition, type CheckDefinition, type CheckPolicy, type NewCheck } from './definition.js';
import type { CheckStatus, HealthCheck } from './model.js';
import { recordHealthChange } from './transitions.js';

export interface HealthOptions {
  policy: CheckPolicy;
  /** Transitions kept per instance (pruned periodically). */
  historyLimit: number;
}

/** First runs are spread over one interval, so a burst of registrations does not probe all at once. */
const staggeredStart = (intervalMs: number) => sql`now() + ${Math.floor(Math.random() * intervalMs)}::int * interval '1 millisecond'`;

export async function registerHealthCheck(db: Db, serviceId: string, input: HealthCheckInput, policy: CheckPolicy, principal: Principal): Promise<HealthCheck> {
  const definition = parseCheckDefinition(serviceId, input, policy);
  assertMayAddChecks(principal, [input]);
  return runTransaction(db, async (tx) => {
    const instance = await lockInstanceToChange(tx, serviceId, principal);
    const { checks } = await withOutbox(tx, (outbox) => upsertChecks(tx, instance, [definition], outbox));
    return checks[0]!;
  });
}

/**
 * Adds checks to an instance, or updates them by id. A new check starts with its
 * initial status, CRITICAL unless the registration says otherwise (as in Consul:
 * nothing is trusted before it has been seen to pass), and is recorded as a health
 * change. Re-registering an unchanged check changes nothing; a changed one keeps its
 * status and is rescheduled: an initial status applies to new checks only.
 *
 * `locked`: the instance, its row locked by the caller's transaction (and its owner
 * checked there). Health events go to `outbox`, for the caller to append last.
 * Returns the checks and the instance as it is after them (its aggregate status included).
 */
export async function upsertChecks(
  tx: Tx,
  locked: ServiceInstance,
  checks: readonly NewCheck[],
  outbox: NewEvent[],
): Promise<{ checks: HealthCheck[]; instance: ServiceInstance }> {
  const serviceId = locked.id;
  let instance = locked;
  const results: HealthCheck[] = [];
  for (const { initialStatus, ...definition } of checks) {
    const { check, created } = await lockOrCreateCheck(tx, serviceId, definition, initialStatus);
    if (created) {
      instance = await recordHealthChange(
        tx,
        instance,
        { checkId: check.id, checkName: check.name, from: null, to: check.status, output: check.output },
        outbox,
      );
      results.push(check);
    } else if (check.serviceId !== serviceId) {
      throw conflict(`Health check "${definition.id}" belongs to instance "${check.serviceId}"; choose another check id.`, { checkId: definition.id });
    } else if (sameDefinition(check, definition)) {
      results.push(check);
    } else {
      const [updated] = await tx
        .update(healthChecks)
        .set({ ...definition, nextRunAt: staggeredStart(definition.intervalMs), lockedBy: null, lockedUntil: null })
        .where(eq(healthChecks.id, definition.id))
        .returning();
      results.push(updated!);
    }
  }
  return { checks: results, instance };
}

/**
 * The check with this id, locked, or the one this call inserted with `status`. Two
 * registrations of one new id can race (on two instances, even): the loser reads the
 * winner's row, locked, instead of failing on the primary key.
 */
async function lockOrCreateCheck(
  tx: Tx,
  serviceId: string,
  definition: CheckDefinition,
  status: CheckStatus,
): Promise<{ check: HealthCheck; created: boolean }> {
  const trusted = status !== 'CRITICAL';
  const { row, created } = await lockOrInsertOne(tx, healthChecks, {
    ...definition,
    serviceId,
    status,
    output: trusted ? `Not checked yet; registered as ${status.toLowerCase()}.` : 'Not checked yet.',
    // deregisterCriticalServiceAfter counts from here: only for a check that starts critical.
    criticalSince: status === 'CRITICAL' ? sql`now()` : null,
    // A TTL check declared passing lasts its TTL, as if just updated; a stagger could lapse it sooner.
    nextRunAt: definition.kind === 'TTL' && trusted ? sql`now() + ${definition.ttlMs}::int * interval '1 millisecond'` : staggeredStart(definition.intervalMs),
  });
  return { check: row, created };
}

/**
 * Removes the instance's checks whose ids are not in `keepIds` (a registration with
 * replaceExistingChecks, as Consul's `replace-existing-checks`), each recorded as a
 * check deregistration is. Their claims go with their rows: a worker still probing
 * one writes nothing back. `locked`: the instance, its row locked by the caller's
 * transaction; health events go to `outbox`, for the caller to append last. Returns
 * the instance as the removals leave it (its status no longer counts them).
 */
export async function removeChecksNotIn(tx: Tx, locked: ServiceInstance, keepIds: readonly string[], outbox: NewEvent[]): Promise<ServiceInstance> {
  const serviceId = locked.id;
  let instance = locked;
  const others = keepIds.length ? notInArray(healthChecks.id, [...keepIds]) : undefined;
  const removed = await tx
    .delete(healthChecks)
    .where(and(eq(healthChecks.serviceId, serviceId), others))
    .returning();
  for (const check of removed.sort((a, b) => (a.id < b.id ? -1 : 1))) {
    instance = await recordHealthChange(
      tx,
      instance,
      { checkId: check.id, checkName: check.name, from: check.status, to: null, output: 'Check removed.' },
      outbox,
    );
  }
  return instance;
}

/** Removes a check; NOT_FOUND when it does not exist. The instance's status is recomputed. */
export async function deregisterHealthCheck(db: Db, checkId: string, principal: Principal): Promise<HealthCheck> {
  return runTransaction(db, async (tx) => {
    // A check never moves to another instance, so this unlocked read names the instance to lock.
    const [check] = await tx.select({ serviceId: healthChecks.serviceId }).from(healthChecks).where(eq(healthChecks.id, checkId));
    if (!check) throw notFound('Health check', checkId);
    const instance = await lockInstance(tx, check.serviceId);
    if (instance) assertMayChangeInstance(principal, instance);
    const [removed] = await tx.delete(healthChecks).where(eq(healthChecks.id, checkId)).returning();
    if (!removed) throw notFound('Health check', checkId);
    if (instance) {
      await withOutbox(tx, (outbox) =>
        recordHealthChange(tx, instance, { checkId, checkName: removed.name, from: removed.status, to: null, output: 'Check removed.' }, outbox),
      );
    }
    return removed;
  });
}

export async function getHealthChecksByIds(db: Executor, ids: readonly string[]): Promise<HealthCheck[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(healthChecks)
    .where(inArray(healthChecks.id, [...ids]));
}

/** The checks of several instances in one query (for a request's batch loader). */
export async function getHealthChecksByServiceIds(db: Executor, serviceIds: readonly string[]): Promise<HealthCheck[]> {
  if (serviceIds.length === 0) return [];
  return db
    .select()
    .from(healthChecks)
    .where(inArray(healthChecks.serviceId, [...serviceIds]))
    .orderBy(asc(healthChecks.id));
}
