import { eq } from 'drizzle-orm';
import { notFound } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import { assertMayChangeInstance, type Principal } from '../access/principal.js';
import { unregisteredEvent } from './events.js';
import type { ServiceInstance } from '../instances/model.js';

/** Removes an instance. Unknown ids are NOT_FOUND, so a typo is not mistaken for success. */
export async function unregisterService(db: Db, id: string, principal: Principal): Promise<ServiceInstance> {
  return runTransaction(db, async (tx) => {
    const [removed] = await tx.delete(services).where(eq(services.id, id)).returning();
    if (!removed) throw notFound('Service instance', id);
    // The delete holds the row lock: FORBIDDEN here rolls the removal back.
    assertMayChangeInstance(principal, removed);
    await appendEvents(tx, [unregisteredEvent(removed, 'deregistered')]);
    return removed;
  });
}
