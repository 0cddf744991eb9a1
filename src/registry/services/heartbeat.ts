import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { services } from '../../db/schema.js';
import { notFound } from '../../errors.js';
import { passTtlChecks } from '../health/ttl.js';
import type { ServiceInstance } from './model.js';

/**
 * Renews an instance's lease and passes its TTL checks. Heartbeats are not events:
 * like an etcd lease keep-alive, renewing changes nothing a watcher acts on, and at
 * one per instance per few seconds they would drown the log. Expiry, when it comes,
 * is an event; so is a TTL check turning passing again.
 */
export async function heartbeat(db: Db, id: string): Promise<ServiceInstance> {
  return db.transaction(async (tx) => {
    const [renewed] = await tx
      .update(services)
      .set({
        lastHeartbeatAt: sql`now()`,
        expiresAt: sql`case when ${services.ttlMs} is null then null else now() + ${services.ttlMs} * interval '1 millisecond' end`,
      })
      .where(eq(services.id, id))
      .returning();
    if (!renewed) throw notFound('Service instance', id);
    // The answer is the instance after its TTL checks passed, not the row before
    // (which would still say CRITICAL next to checks that say passing).
    return passTtlChecks(tx, renewed);
  });
}
