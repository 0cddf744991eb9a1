import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { services } from '../../db/schema.js';
import { notFound } from '../../errors.js';
import type { ServiceInstance } from './model.js';

/**
 * Renews an instance's lease. Heartbeats are not events: like an etcd lease
 * keep-alive, renewing changes nothing a watcher acts on, and at one per instance
 * per few seconds they would drown the log. Expiry, when it comes, is an event.
 */
export async function heartbeat(db: Db, id: string): Promise<ServiceInstance> {
  const [renewed] = await db
    .update(services)
    .set({
      lastHeartbeatAt: sql`now()`,
      expiresAt: sql`case when ${services.ttlMs} is null then null else now() + ${services.ttlMs} * interval '1 millisecond' end`,
    })
    .where(eq(services.id, id))
    .returning();
  if (!renewed) throw notFound('Service instance', id);
  return renewed;
}
