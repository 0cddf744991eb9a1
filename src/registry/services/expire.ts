import { asc, inArray, lte, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import { unregisteredEvent } from './events.js';
import type { ServiceInstance } from '../instances/model.js';

export const SWEEP_BATCH = 500;

/**
 * Removes instances whose lease lapsed (a TTL without heartbeats, or an ephemeral
 * instance whose client stayed disconnected for the grace period), each with a
 * `service.unregistered` event saying so. Every node sweeps; SKIP LOCKED lets them split the work instead of
 * queueing on each other, and a row a heartbeat holds is left for the next sweep
 * (by then it is renewed).
 */
export async function expireLapsedServices(db: Db, limit = SWEEP_BATCH): Promise<ServiceInstance[]> {
  return runTransaction(db, async (tx) => {
    const lapsed = tx
      .select({ id: services.id })
      .from(services)
      .where(lte(services.expiresAt, sql`now()`))
      .orderBy(asc(services.expiresAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    const removed = await tx.delete(services).where(inArray(services.id, lapsed)).returning();
    await appendEvents(
      tx,
      // An ephemeral instance's lease lapses when no server renews it: its client's connection is gone.
      removed.map((instance) => unregisteredEvent(instance, instance.sessionId === null ? 'ttl-expired' : 'connection-lost')),
    );
    return removed;
  });
}
