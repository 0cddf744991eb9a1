import { eq, sql } from 'drizzle-orm';
import { badInput, ServiceLimits } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import type { Principal } from '../access/principal.js';
import { registeredEvent } from './events.js';
import { lockInstanceToChange } from '../instances/lock.js';
import type { ServiceInstance } from '../instances/model.js';

/**
 * Changes an instance's weight (0 drains it). Every server reads weights from the
 * same row, so the next selection anywhere uses it; watchers get an UPDATED change.
 */
export async function updateWeight(db: Db, id: string, weight: number, principal: Principal): Promise<ServiceInstance> {
  if (!Number.isInteger(weight) || weight < 0 || weight > ServiceLimits.maxWeight) {
    throw badInput(`weight must be an integer from 0 to ${ServiceLimits.maxWeight}.`, { field: 'weight' });
  }
  return runTransaction(db, async (tx) => {
    const before = await lockInstanceToChange(tx, id, principal);
    // The same weight changes nothing: touching updatedAt without an event would
    // answer a time that no catalog (and so no read) ever shows.
    if (before.weight === weight) return before;
    const [updated] = await tx
      .update(services)
      .set({ weight, updatedAt: sql`now()` })
      .where(eq(services.id, id))
      .returning();
    await appendEvents(tx, [registeredEvent(updated!, false)]);
    return updated!;
  });
}
