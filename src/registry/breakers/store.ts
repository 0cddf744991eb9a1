import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { CircuitEventType, EVENT_SOURCE, type SwitchboardError } from '@switchboard/contracts';
import type { Db, Executor, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { circuitBreakers, services, type CircuitBreakerRow } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import type { NewBuiltInEvent, NewEvent } from '../../events/types.js';
import { serviceNameRefusal, type Principal } from '../access/principal.js';
import {
  applyOutcomesInOrder,
  closedBreaker,
  effectiveState,
  grantProbe,
  windowCounts,
  type BreakerConfig,
  type BreakerState,
  type CircuitState,
  type Outcome,
  type Transition,
} from './machine.js';

/** A breaker as the API shows it. */
export interface CircuitBreakerView {
  state: BreakerState['state'];
  /** Calls and failures in the rolling window (the previous bucket weighted by overlap). */
  calls: number;
  failures: number;
  openedAt: Date | null;
}

export function toState(row: CircuitBreakerRow): BreakerState {
  return {
    state: row.state,
    windowStart: row.windowStart.getTime(),
    calls: row.calls,
    failures: row.failures,
    previousCalls: row.previousCalls,
    previousFailures: row.previousFailures,
    openedAt: row.openedAt?.getTime() ?? null,
    probesGranted: row.probesGranted,
    lastProbeAt: row.lastProbeAt?.getTime() ?? null,
  };
}

export function view(state: BreakerState | undefined, now: number, config: BreakerConfig): CircuitBreakerView {
  const breaker = state ?? closedBreaker(now);
  const counts = windowCounts(breaker, now, config);
  return {
    state: effectiveState(breaker, now, config),
    calls: Math.round(counts.calls),
    failures: Math.round(counts.failures),
    openedAt: breaker.openedAt === null ? null : new Date(breaker.openedAt),
  };
}

/** Breakers of several instances, in one query (missing: never reported, so closed). */
export async function getBreakers(db: Executor, serviceIds: readonly string[]): Promise<Map<string, BreakerState>> {
  if (serviceIds.length === 0) return new Map();
  const rows = await db
    .select()
    .from(circuitBreakers)
    .where(inArray(circuitBreakers.serviceId, [...serviceIds]));
  return new Map(rows.map((row) => [row.serviceId, toState(row)]));
}

/**
 * Applies a batch of reported outcomes (many calls, many instances) in one
 * transaction: create missing breakers, lock them in id order (two servers
 * flushing at once cannot deadlock), run the state machine over each instance's
 * outcomes in order, write the changed breakers, and record circuit events.
 * Returns the ids that exist (outcomes for unknown instances are dropped) and the
 * outcomes refused because their reporter may not write the instance's name.
 */
/** An outcome and who reported it (none: a trusted caller). */
export type ReportedOutcome = Outcome & { principal: Principal };

export async function applyOutcomes(
  db: Db,
  outcomes: ReadonlyMap<string, readonly ReportedOutcome[]>,
  config: BreakerConfig,
): Promise<{ known: Set<string>; refused: Map<ReportedOutcome, SwitchboardError>; lastEventId: number }> {
  const ids = [...outcomes.keys()].sort();
  const refused = new Map<ReportedOutcome, SwitchboardError>();
  if (ids.length === 0) return { known: new Set(), refused, lastEventId: 0 };
  return runTransaction(db, async (tx) => {
    // KEY SHARE: an instance deregistered between this read and the breaker insert below would
    // fail the whole batch on the foreign key; this lock makes the delete wait for the commit.
    const instances = await tx
      .select({ id: services.id, name: services.name })
      .from(services)
      .where(inArray(services.id, ids))
      .orderBy(asc(services.id))
      .for('key share');
    const names = new Map(instances.map((instance) => [instance.id, instance.name]));
    const known = ids.filter((id) => names.has(id));
    if (known.length === 0) return { known: new Set<string>(), refused, lastEventId: 0 };
    // Under the lock: who owns the id decides who may feed its breaker (a token's servicePrefix). Not its source:
    // an outcome is the caller's report, not a change of the instance, so a source's instances have breakers too.
    const accepted = new Map<string, ReportedOutcome[]>();
    for (const id of known) {
      accepted.set(
        id,
        (outcomes.get(id) ?? []).filter((outcome) => {
          const refusal = serviceNameRefusal(outcome.principal, names.get(id)!);
          if (refusal) refused.set(outcome, refusal);
          return !refusal;
        }),
      );
    }
    await tx
      .insert(circuitBreakers)
      .values(known.map((serviceId) => ({ serviceId })))
      .onConflictDoNothing();
    const rows = await tx.select().from(circuitBreakers).where(inArray(circuitBreakers.serviceId, known)).orderBy(asc(circuitBreakers.serviceId)).for('update');

    const events: NewEvent[] = [];
    for (const row of rows) {
      const name = names.get(row.serviceId)!;
      const { breaker, steps } = applyOutcomesInOrder(toState(row), accepted.get(row.serviceId) ?? [], config);
      for (const step of steps) events.push(circuitEvent(row.serviceId, name, step.transition, step.from, step.breaker, step.at, config));
      await writeBreaker(tx, row.serviceId, breaker);
    }
    const appended = await appendEvents(tx, events);
    return { known: new Set(known), refused, lastEventId: appended.at(-1)?.id ?? 0 };
  });
}

/**
 * Grants a half-open probe selection of an instance, across all servers: at most
 * `halfOpenProbes` per cooldown. True when this caller may send the probe.
 */
export async function tryGrantProbe(db: Db, serviceId: string, name: string, config: BreakerConfig): Promise<boolean> {
  return runTransaction(db, async (tx) => {
    const [row] = await tx.select().from(circuitBreakers).where(eq(circuitBreakers.serviceId, serviceId)).for('update');
    if (!row) return false;
    const now = Date.now();
    const before = toState(row);
    const granted = grantProbe(before, now, config);
    if (!granted) return false;
    await writeBreaker(tx, serviceId, granted.breaker);
    // The stored state, not the effective one: the first grant is what moves OPEN to HALF_OPEN.
    if (granted.transition) await appendEvents(tx, [circuitEvent(serviceId, name, granted.transition, before.state, granted.breaker, now, config)]);
    return true;
  });
}

export async function writeBreaker(tx: Tx, serviceId: string, breaker: BreakerState): Promise<void> {
  await tx
    .update(circuitBreakers)
    .set({
      state: breaker.state,
      windowStart: new Date(breaker.windowStart),
      calls: breaker.calls,
      failures: breaker.failures,
      previousCalls: breaker.previousCalls,
      previousFailures: breaker.previousFailures,
      openedAt: breaker.openedAt === null ? null : new Date(breaker.openedAt),
      probesGranted: breaker.probesGranted,
      lastProbeAt: breaker.lastProbeAt === null ? null : new Date(breaker.lastProbeAt),
      updatedAt: sql`now()`,
    })
    .where(and(eq(circuitBreakers.serviceId, serviceId)));
}

export function circuitEvent(
  serviceId: string,
  name: string,
  transition: Transition,
  from: CircuitState,
  after: BreakerState,
  at: number,
  config: BreakerConfig,
): NewBuiltInEvent<(typeof CircuitEventType)[Transition]> {
  const counts = windowCounts(after, at, config);
  return {
    type: CircuitEventType[transition],
    source: EVENT_SOURCE,
    data: {
      id: serviceId,
      name,
      from,
      to: after.state,
      calls: Math.round(counts.calls),
      failures: Math.round(counts.failures),
      openedAt: after.openedAt === null ? null : new Date(after.openedAt).toISOString(),
    },
  };
}
