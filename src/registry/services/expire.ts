import { and, inArray, lte, sql } from 'drizzle-orm';
import type { RemovalReason } from '@switchboard/contracts';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { services } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import { pgTextArray } from '../../events/read.js';
import { unregisteredEvent } from './events.js';
import type { ServiceInstance } from '../instances/model.js';

export const SWEEP_BATCH = 500;

export interface SweepOptions {
  /**
   * Sessions the sweeping process itself holds a connection for: their instances are
   * never removed by its sweep, however late its own renewal is (a server whose event
   * loop stalled must not remove its live clients' instances before its renewal catches
   * up). Another server's sweep still removes them once no server renewed them in time.
   */
  keepSessions?: readonly string[];
  limit?: number;
}

/** One instance the sweep removed, and what the log needs to say why. */
export interface LapsedInstance {
  instance: ServiceInstance;
  reason: Extract<RemovalReason, 'ttl-expired' | 'connection-lost'>;
  /** The session of an ephemeral instance (a client's secret: log only a fingerprint); null otherwise. */
  sessionId: string | null;
  /** The last heartbeat, renewal or registration: when the lease that lapsed was granted (database clock). */
  lastRenewedAt: Date | null;
}

/**
 * Removes instances whose lease lapsed (a TTL without heartbeats, or an ephemeral
 * instance whose session no server renewed for the grace period), each with a
 * `service.unregistered` event saying so. Every node sweeps; SKIP LOCKED lets them split
 * the work instead of queueing on each other, and a row a heartbeat or a renewal holds is
 * left for the next sweep (by then it is renewed).
 *
 * The decision is the database's, on its clock, under the row lock:
 * the first statement locks the candidates; the second, with a fresh snapshot, deletes only
 * those whose newest committed lease has still run out. A renewal that committed before the
 * lock is seen there; one that comes after waits for this transaction. Leases are stamped
 * with the time of their write (ephemeral.ts), so a renewal that waited counts in full.
 */
export async function expireLapsedServices(db: Db, options: SweepOptions = {}): Promise<LapsedInstance[]> {
  const limit = options.limit ?? SWEEP_BATCH;
  const keep = pgTextArray([...(options.keepSessions ?? [])]);
  return runTransaction(db, async (tx) => {
    const locked = await tx.execute<{ id: string }>(sql`
      select id from services
      where expires_at <= now()
        and (session_id is null or session_id <> all(${keep}::text[]))
      order by expires_at
      limit ${limit}::int
      for update skip locked
    `);
    if (locked.length === 0) return [];
    const removed = await tx
      .delete(services)
      .where(
        and(
          inArray(
            services.id,
            locked.map((row) => row.id),
          ),
          lte(services.expiresAt, sql`now()`),
        ),
      )
      .returning();
    const lapsed = removed.map(({ sessionId, ...instance }): LapsedInstance => {
      // An ephemeral instance's lease lapses when no server renews it: its client's connection is gone.
      const reason = sessionId === null ? 'ttl-expired' : 'connection-lost';
      // Every lease is written as (time of the write) + ttl: the difference is when it was granted.
      const lastRenewedAt = instance.expiresAt && instance.ttlMs !== null ? new Date(instance.expiresAt.getTime() - instance.ttlMs) : null;
      return { instance, reason, sessionId, lastRenewedAt };
    });
    await appendEvents(
      tx,
      lapsed.map(({ instance, reason }) => unregisteredEvent(instance, reason)),
    );
    return lapsed;
  });
}
