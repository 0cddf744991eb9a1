import { randomUUID } from 'node:crypto';
import { desc, eq, sql } from 'drizzle-orm';
import { AlertEventType, badInput, EVENT_SOURCE, notFound, parseInput, silenceSchema, type SilenceInput } from '@switchboard/contracts';
import type { Db, Executor, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { alertRules, alertSilences, type SilenceRow } from '../../db/schema/index.js';
import { currentActor } from '../../events/actor.js';
import { appendEvents } from '../../events/append.js';
import type { NewBuiltInEvent } from '../../events/types.js';
import { assertHasScope, assertMayChangeRule, type Principal } from '../access/index.js';
import { silenceMatches, toSilence, type Silence } from './model.js';

function silenceEvent(row: SilenceRow, change: 'created' | 'expired'): NewBuiltInEvent<'alert.silence.changed'> {
  return {
    type: AlertEventType.SILENCE_CHANGED,
    source: EVENT_SOURCE,
    data: { id: row.id, ruleId: row.ruleId, matchers: row.matchers, endsAt: row.endsAt.toISOString(), change },
  };
}

/**
 * Silences alerts of a rule and/or with matching labels until `until` (or for `durationMs`).
 * A silenced alert still changes state and appears in queries (flagged), but its transitions
 * send no webhook while the silence lasts.
 */
export async function createSilence(db: Db, input: SilenceInput, principal: Principal): Promise<Silence> {
  const silence = parseInput(silenceSchema, input, 'silence', { durationMs: 'duration' });
  if (silence.until != null && silence.until.getTime() <= Date.now()) throw badInput('Invalid silence: until must be in the future.', { field: 'until' });
  return runTransaction(db, async (tx) => {
    await assertMaySilence(tx, principal, silence.ruleId ?? null);
    const endsAt =
      silence.until != null ? sql`${silence.until.toISOString()}::timestamptz` : sql`now() + ${silence.durationMs!}::float8 * interval '1 millisecond'`;
    const [row] = await tx
      .insert(alertSilences)
      .values({
        id: randomUUID(),
        ruleId: silence.ruleId ?? null,
        matchers: silence.matchers,
        comment: silence.comment,
        createdBy: currentActor()?.name ?? null,
        endsAt,
      })
      .returning();
    await appendEvents(tx, [silenceEvent(row!, 'created')]);
    return toSilence(row!);
  });
}

/** Ends a silence now (a no-op on one already over). NOT_FOUND when unknown. */
export async function expireSilence(db: Db, id: string, principal: Principal): Promise<Silence> {
  return runTransaction(db, async (tx) => {
    const [existing] = await tx.select().from(alertSilences).where(eq(alertSilences.id, id)).for('update');
    if (!existing) throw notFound('Silence', id);
    await assertMaySilence(tx, principal, existing.ruleId);
    if (existing.endsAt.getTime() <= Date.now()) return toSilence(existing);
    const [row] = await tx
      .update(alertSilences)
      .set({ endsAt: sql`greatest(now(), ${alertSilences.startsAt})` })
      .where(eq(alertSilences.id, id))
      .returning();
    await appendEvents(tx, [silenceEvent(row!, 'expired')]);
    return toSilence(row!);
  });
}

/**
 * A silence belongs to its rule: whoever owns the rule may silence it. One that names no rule
 * (labels only) can mute every team's alerts, so it is ADMIN's. The rule's row is share-locked,
 * so it cannot change owner (or go) before this transaction commits.
 */
async function assertMaySilence(tx: Tx, principal: Principal, ruleId: string | null): Promise<void> {
  if (ruleId === null) {
    assertHasScope(principal, 'ADMIN', 'silence alerts of every rule (name a ruleId to silence one rule)');
    return;
  }
  const [rule] = await tx
    .select({ name: alertRules.name, service: alertRules.service, keyPrefix: alertRules.keyPrefix })
    .from(alertRules)
    .where(eq(alertRules.id, ruleId))
    .for('key share');
  if (!rule) throw notFound('Alert rule', ruleId);
  assertMayChangeRule(principal, rule, rule.name);
}

/** Silences, newest first; `active` keeps only those in force now (false: only ended ones). */
export async function listSilences(db: Executor, active?: boolean | null): Promise<Silence[]> {
  const filter = active == null ? undefined : active ? sql`${alertSilences.endsAt} > now()` : sql`${alertSilences.endsAt} <= now()`;
  return (await db.select().from(alertSilences).where(filter).orderBy(desc(alertSilences.createdAt))).map(toSilence);
}

/** Silences in force at `at` that could cover alerts of the rule (its own and label-only ones). */
export async function activeSilences(db: Executor, ruleId: string, at: Date): Promise<Silence[]> {
  const rows = await db
    .select()
    .from(alertSilences)
    .where(
      sql`(${alertSilences.ruleId} = ${ruleId} or ${alertSilences.ruleId} is null) and ${alertSilences.startsAt} <= ${at.toISOString()}::timestamptz and ${alertSilences.endsAt} > ${at.toISOString()}::timestamptz`,
    );
  return rows.map(toSilence);
}

export function isSilenced(silences: readonly Silence[], ruleId: string, labels: Record<string, string>): boolean {
  return silences.some((silence) => silenceMatches(silence, ruleId, labels));
}
