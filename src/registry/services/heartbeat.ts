import { eq, sql } from 'drizzle-orm';
import { notFound } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { withOutbox } from '../../events/append.js';
import { assertMayChangeInstance, type Principal } from '../access/principal.js';
import { passTtlChecks } from '../health/ttl.js';
import type { ServiceInstance } from '../instances/model.js';

/**
 * Renews an instance's lease and passes its TTL checks. Heartbeats are not events:
 * like an etcd lease keep-alive, renewing changes nothing a watcher acts on, and at
 * one per instance per few seconds they would drown the log. Expiry, when it comes,
 * is an event; so is a TTL check turning passing again.
 */
export async function heartbeat(db: Db, id: string, principal: Principal): Promise<ServiceInstance> {
  return runTransaction(db, async (tx) => {
    const [renewed] = await tx
      .update(services)
      .set({
        lastHeartbeatAt: sql`now()`,
        expiresAt: sql`case when ${services.ttlMs} is null then null else now() + ${services.ttlMs} * interval '1 millisecond' end`,
      })
      .where(eq(services.id, id))
      .returning();
    if (!renewed) throw notFound('Service instance', id);
    // The update holds the row lock: the owner checked here is the owner at commit (FORBIDDEN rolls the renewal back).
    assertMayChangeInstance(principal, renewed);
    return withOutbox(tx, (outbox) => passTtlChecks(tx, renewed, outbox));
  });
}
