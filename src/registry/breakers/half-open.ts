import { and, asc, eq, lte } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { circuitBreakers, services } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import { enterHalfOpen, type BreakerConfig } from './machine.js';
import { circuitEvent, toState, writeBreaker } from './store.js';

/** Breakers one sweep writes down at most (a full batch sweeps again at once). */
export const HALF_OPEN_BATCH = 100;

/**
 * Records OPEN -> HALF_OPEN for breakers whose cooldown has passed. Every server
 * already treats such a breaker as half-open; this writes the transition down when
 * it happens, so `circuitChanged` watchers and the event log learn of it then, not
 * at whatever selection or outcome report happens to come next. Any number of
 * processes may sweep at once: rows another is writing are skipped (SKIP LOCKED).
 * Returns how many were recorded.
 */
export async function recordDueHalfOpens(db: Db, config: BreakerConfig): Promise<number> {
  return runTransaction(db, async (tx) => {
    const now = Date.now();
    const due = await tx
      .select({ breaker: circuitBreakers, name: services.name })
      .from(circuitBreakers)
      .innerJoin(services, eq(services.id, circuitBreakers.serviceId))
      .where(and(eq(circuitBreakers.state, 'OPEN'), lte(circuitBreakers.openedAt, new Date(now - config.cooldownMs))))
      .orderBy(asc(circuitBreakers.serviceId))
      .limit(HALF_OPEN_BATCH)
      .for('update', { of: circuitBreakers, skipLocked: true });
    const events = [];
    for (const { breaker: row, name } of due) {
      const before = toState(row);
      const halfOpen = enterHalfOpen(before, now, config);
      if (!halfOpen) continue;
      await writeBreaker(tx, row.serviceId, halfOpen);
      events.push(circuitEvent(row.serviceId, name, 'HALF_OPENED', before.state, halfOpen, now, config));
    }
    await appendEvents(tx, events);
    return events.length;
  });
}
