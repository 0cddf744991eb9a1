import { asc, eq, sql } from 'drizzle-orm';
import { EVENT_SOURCE, parseInput, PolicyEventType, serviceNameSchema, servicePolicySchema, type ServicePolicyInput } from '@switchboard/contracts';
import type { Db, Executor, Tx } from '../../db/client.js';
import { servicePolicies, type ServicePolicyRow } from '../../db/schema/index.js';
import { runTransaction } from '../../db/transaction.js';
import { appendEvents } from '../../events/append.js';
import type { NewBuiltInEvent } from '../../events/types.js';
import { assertCanWriteService, type Principal } from '../access/index.js';
import type { ServicePolicy } from './model.js';

/**
 * Sets a service's scaling policy (replacing both bounds; a null bound means none) and
 * records `service.policy.changed`. Setting the policy it already has writes nothing.
 */
export async function setServicePolicy(db: Db, input: ServicePolicyInput, principal: Principal): Promise<ServicePolicy> {
  const parsed = parseInput(servicePolicySchema, input, 'service policy');
  assertCanWriteService(principal, parsed.service);
  const minInstances = parsed.minInstances ?? null;
  const maxInstances = parsed.maxInstances ?? null;
  return runTransaction(db, async (tx) => {
    let previous = await lockPolicy(tx, parsed.service);
    if (!previous) {
      const [inserted] = await tx.insert(servicePolicies).values({ service: parsed.service, minInstances, maxInstances }).onConflictDoNothing().returning();
      if (inserted) {
        await appendEvents(tx, [policyEvent(inserted, false, undefined)]);
        return inserted;
      }
      // Another first writer committed the row while our insert waited for it: change that one.
      previous = await lockPolicy(tx, parsed.service);
    }
    if (previous && previous.minInstances === minInstances && previous.maxInstances === maxInstances) return previous;
    const [row] = await tx
      .update(servicePolicies)
      .set({ minInstances, maxInstances, updatedAt: sql`now()` })
      .where(eq(servicePolicies.service, parsed.service))
      .returning();
    await appendEvents(tx, [policyEvent(row!, false, previous)]);
    return row!;
  });
}

/** Removes a service's policy; false when it had none. */
export async function deleteServicePolicy(db: Db, service: string, principal: Principal): Promise<boolean> {
  const name = parseInput(serviceNameSchema, service, 'service name');
  assertCanWriteService(principal, name);
  return runTransaction(db, async (tx) => {
    const [removed] = await tx.delete(servicePolicies).where(eq(servicePolicies.service, name)).returning();
    if (!removed) return false;
    await appendEvents(tx, [policyEvent({ ...removed, minInstances: null, maxInstances: null }, true, removed)]);
    return true;
  });
}

export async function getServicePolicy(db: Executor, service: string): Promise<ServicePolicy | undefined> {
  const [row] = await db.select().from(servicePolicies).where(eq(servicePolicies.service, service));
  return row;
}

export async function listServicePolicies(db: Executor): Promise<ServicePolicy[]> {
  return db.select().from(servicePolicies).orderBy(asc(servicePolicies.service));
}

/**
 * The policy row, read with FOR UPDATE: locked, and as last committed (a plain read's
 * snapshot could predate a writer we waited for).
 */
async function lockPolicy(tx: Tx, service: string): Promise<ServicePolicyRow | undefined> {
  const [row] = await tx.select().from(servicePolicies).where(eq(servicePolicies.service, service)).for('update');
  return row;
}

function policyEvent(row: ServicePolicyRow, deleted: boolean, previous: ServicePolicyRow | undefined): NewBuiltInEvent<'service.policy.changed'> {
  return {
    type: PolicyEventType.CHANGED,
    source: EVENT_SOURCE,
    data: {
      name: row.service,
      minInstances: row.minInstances,
      maxInstances: row.maxInstances,
      deleted,
      previous: previous ? { minInstances: previous.minInstances, maxInstances: previous.maxInstances } : null,
    },
  };
}
