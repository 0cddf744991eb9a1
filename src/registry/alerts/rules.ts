import { randomUUID } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { alertRuleSchema, AlertEventType, EVENT_SOURCE, notFound, parseInput, type AlertRuleDefinition, type AlertRuleInput } from '@switchboard/contracts';
import type { Db, Executor, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { alertRules, alerts, type AlertRuleRow, type StoredReceiver } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import type { NewBuiltInEvent, NewEvent } from '../../events/types.js';
import type { TargetPolicy } from '../health/policy.js';
import { assertMayChangeRule, type Principal } from '../access/index.js';
import { alertEvent } from './events.js';
import { toAlert, toRule, type AlertRule } from './model.js';
import { assertWebhookAllowed } from './targets.js';

/** Fields as the API names them, where the domain's differ. */
const FIELD_NAMES = { forMs: 'for', windowMs: 'window', holdMs: 'hold' };

/** What a stored rule or a definition watches, which decides who owns it (see assertMayChangeRule). */
const watched = (rule: { service?: string | null | undefined; keyPrefix?: string | null | undefined }) => ({
  service: rule.service ?? null,
  keyPrefix: rule.keyPrefix ?? null,
});

/**
 * The rule as defined, if the caller may own it: ownership is checked before the receivers,
 * whose check resolves names (a caller refused the rule gets no DNS lookups done for it).
 */
async function validate(input: AlertRuleInput, targets: TargetPolicy, principal: Principal): Promise<AlertRuleDefinition> {
  const rule = parseInput(alertRuleSchema, input, 'alert rule', FIELD_NAMES);
  assertMayChangeRule(principal, watched(rule), rule.name);
  for (const receiver of rule.receivers) await assertWebhookAllowed(targets, receiver.url);
  return rule;
}

function ruleEvent(row: AlertRuleRow, change: 'created' | 'updated' | 'deleted'): NewBuiltInEvent<'alert.rule.changed'> {
  return { type: AlertEventType.RULE_CHANGED, source: EVENT_SOURCE, data: { id: row.id, name: row.name, kind: row.kind, change } };
}

function columns(rule: AlertRuleDefinition, receivers: StoredReceiver[]) {
  return {
    name: rule.name,
    kind: rule.kind,
    service: rule.service ?? null,
    minPassing: rule.minPassing ?? null,
    forMs: rule.forMs == null ? null : Math.round(rule.forMs),
    transitions: rule.transitions ?? null,
    windowMs: rule.windowMs == null ? null : Math.round(rule.windowMs),
    keyPrefix: rule.keyPrefix ?? null,
    environment: rule.environment ?? null,
    eventType: rule.eventType ?? null,
    holdMs: rule.holdMs == null ? null : Math.round(rule.holdMs),
    states: rule.states ?? null,
    labels: rule.labels,
    annotations: rule.annotations,
    receivers,
    // Event kinds fire on events after the rule was written, not on history.
    sinceEventId: sql`(select coalesce(max(id), 0) from events)`,
    seenEventId: sql`(select coalesce(max(id), 0) from events)`,
    updatedAt: sql`now()`,
  };
}

/** Receivers to store: a receiver sent without a secret keeps the one stored for its URL, if any. */
function storedReceivers(rule: AlertRuleDefinition, previous: readonly StoredReceiver[]): StoredReceiver[] {
  return rule.receivers.map((receiver, index) => ({
    name: receiver.name ?? `webhook-${index + 1}`,
    url: receiver.url,
    secret: receiver.secret ?? previous.find((stored) => stored.url === receiver.url)?.secret ?? null,
  }));
}

/**
 * Creates a rule; its receivers must be inside the network allowlist. A taken name is a CONFLICT.
 * The caller must own what the rule watches: a rule pages about it.
 */
export async function createAlertRule(db: Db, input: AlertRuleInput, targets: TargetPolicy, principal: Principal): Promise<AlertRule> {
  const rule = await validate(input, targets, principal);
  return runTransaction(db, async (tx) => {
    const [row] = await tx
      .insert(alertRules)
      .values({ id: randomUUID(), ...columns(rule, storedReceivers(rule, [])) })
      .returning();
    await appendEvents(tx, [ruleEvent(row!, 'created')]);
    return toRule(row!);
  });
}

/**
 * Replaces a rule's definition (its alerts are re-evaluated against it). NOT_FOUND when unknown.
 * The caller must own the rule as stored (checked under its row lock) and as redefined: a
 * team may neither take over another's rule nor move its own onto another's services.
 */
export async function updateAlertRule(db: Db, id: string, input: AlertRuleInput, targets: TargetPolicy, principal: Principal): Promise<AlertRule> {
  const rule = await validate(input, targets, principal);
  return runTransaction(db, async (tx) => {
    const [existing] = await tx.select().from(alertRules).where(eq(alertRules.id, id)).for('update');
    if (!existing) throw notFound('Alert rule', id);
    assertMayChangeRule(principal, watched(existing), existing.name);
    const [row] = await tx
      .update(alertRules)
      .set(columns(rule, storedReceivers(rule, existing.receivers)))
      .where(eq(alertRules.id, id))
      .returning();
    await appendEvents(tx, [ruleEvent(row!, 'updated')]);
    return toRule(row!);
  });
}

/**
 * Deletes a rule with its alerts, silences and deliveries. Its firing alerts are recorded as
 * resolved (`alert.resolved`), without a webhook: the receivers went with the rule.
 */
export async function deleteAlertRule(db: Db, id: string, principal: Principal): Promise<void> {
  await runTransaction(db, async (tx) => {
    const [existing] = await tx.select().from(alertRules).where(eq(alertRules.id, id)).for('update');
    if (!existing) throw notFound('Alert rule', id);
    assertMayChangeRule(principal, watched(existing), existing.name);
    const firing = await tx
      .select()
      .from(alerts)
      .where(sql`${alerts.ruleId} = ${id} and ${alerts.state} = 'FIRING'`);
    await tx.delete(alertRules).where(eq(alertRules.id, id));
    const events: NewEvent[] = firing.map((row) => alertEvent(existing, { ...toAlert(row), state: 'RESOLVED', endsAt: new Date() }, 'resolved', false));
    events.push(ruleEvent(existing, 'deleted'));
    await appendEvents(tx, events);
  });
}

export async function listAlertRules(db: Executor): Promise<AlertRule[]> {
  return (await db.select().from(alertRules).orderBy(asc(alertRules.name))).map(toRule);
}

export async function getAlertRule(db: Executor, id: string): Promise<AlertRule | undefined> {
  const [row] = await db.select().from(alertRules).where(eq(alertRules.id, id));
  return row ? toRule(row) : undefined;
}

/** Rules with their secrets, for the evaluator (never for the API). */
export async function loadRuleRows(db: Executor | Tx): Promise<AlertRuleRow[]> {
  return db.select().from(alertRules).orderBy(asc(alertRules.id));
}
