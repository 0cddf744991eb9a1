import { and, eq, lt } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { runTransaction } from '../../db/transaction.js';
import { alertRules, alerts, webhookDeliveries, type AlertRow, type AlertRuleRow } from '../../db/schema/index.js';
import { appendEvents } from '../../events/append.js';
import type { NewEvent } from '../../events/types.js';
import { alertEvent } from './events.js';
import { KINDS, type Observation } from './kinds.js';
import { fenceLeadership } from '../leadership/index.js';
import { EVALUATOR_ROLE } from './leadership.js';
import { fingerprintOf, toAlert, type Alert } from './model.js';
import { alertmanagerPayload } from './payload.js';
import { activeSilences, isSilenced } from './silences.js';

export interface EvaluationOptions {
  /** Who evaluates: must lead alert evaluation. */
  holder: string;
  /** Where the registry is reached, for payloads (externalURL, generatorURL). */
  externalUrl: string;
}

export interface EvaluationResult {
  /** FIRING and RESOLVED transitions written. */
  transitions: number;
  /** Webhook deliveries queued. */
  deliveries: number;
  /** The earliest moment a PENDING alert of the rule becomes due to fire (epoch ms). */
  nextDueMs: number | undefined;
}

/** Leadership was lost (to another process, or by expiry): nothing was written. */
export class LeadershipLost extends Error {
  override readonly name = 'LeadershipLost';
}

/**
 * Evaluates one rule and writes what changed, in one transaction: fence on leadership, read the
 * condition from the stored state, lock the rule's alerts, and move each to PENDING, FIRING or
 * RESOLVED; every FIRING/RESOLVED transition appends its event and, unless a silence covers it,
 * queues one webhook delivery per receiver. Transitions are idempotent against the locked rows,
 * so a re-run finds nothing to do. Returns undefined when the rule no longer exists.
 */
export async function evaluateRule(db: Db, ruleId: string, options: EvaluationOptions): Promise<EvaluationResult | undefined> {
  return runTransaction(db, async (tx) => {
    const now = await fenceLeadership(tx, EVALUATOR_ROLE, options.holder);
    if (!now) throw new LeadershipLost('another process leads alert evaluation');
    // FOR SHARE: a concurrent delete waits, rather than failing this write on the foreign key.
    const [rule] = await tx.select().from(alertRules).where(eq(alertRules.id, ruleId)).for('share');
    if (!rule) return undefined;
    const observations = await KINDS[rule.kind].observe(tx, rule);
    const existing = new Map(
      (await tx.select().from(alerts).where(eq(alerts.ruleId, ruleId)).orderBy(alerts.id).for('update')).map((row) => [row.fingerprint, row]),
    );
    const result = await reconcile(tx, rule, observations, existing, now, options);
    const seen = Math.max(rule.seenEventId, ...observations.map((observation) => observation.eventId ?? 0));
    if (seen > rule.seenEventId) await tx.update(alertRules).set({ seenEventId: seen }).where(eq(alertRules.id, ruleId));
    return result;
  });
}

interface Pending {
  alert: Alert;
  status: 'firing' | 'resolved';
}

async function reconcile(
  tx: Tx,
  rule: AlertRuleRow,
  observations: readonly Observation[],
  existing: Map<string, AlertRow>,
  now: Date,
  options: EvaluationOptions,
): Promise<EvaluationResult> {
  const forMs = rule.forMs ?? 0;
  const transitions: Pending[] = [];
  const seen = new Set<string>();
  let nextDueMs: number | undefined;

  for (const observation of observations) {
    const labels = { alertname: rule.name, ...rule.labels, ...observation.labels };
    const annotations = { ...rule.annotations, ...observation.annotations };
    const fingerprint = fingerprintOf(labels);
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    const row = existing.get(fingerprint);
    const active = row && (row.state === 'PENDING' || row.state === 'FIRING');
    const activeSince = active && row.activeSince ? row.activeSince : (observation.since ?? now);
    if (row?.state === 'FIRING') {
      await tx.update(alerts).set({ annotations, lastEvaluatedAt: now }).where(eq(alerts.id, row.id));
      continue;
    }
    const dueMs = activeSince.getTime() + forMs;
    const fires = dueMs <= now.getTime();
    if (!fires) nextDueMs = Math.min(nextDueMs ?? dueMs, dueMs);
    const values = {
      labels,
      annotations,
      state: fires ? ('FIRING' as const) : ('PENDING' as const),
      activeSince,
      ...(fires ? { startsAt: now, endsAt: null } : {}),
      lastEvaluatedAt: now,
    };
    const [written] = await tx
      .insert(alerts)
      .values({ ruleId: rule.id, fingerprint, ...values })
      .onConflictDoUpdate({ target: [alerts.ruleId, alerts.fingerprint], set: values })
      .returning();
    if (fires) transitions.push({ alert: toAlert(written!), status: 'firing' });
  }

  for (const row of existing.values()) {
    if (seen.has(row.fingerprint)) continue;
    if (row.state === 'FIRING') {
      const [written] = await tx
        .update(alerts)
        .set({ state: 'RESOLVED', endsAt: now, activeSince: null, lastEvaluatedAt: now })
        .where(eq(alerts.id, row.id))
        .returning();
      transitions.push({ alert: toAlert(written!), status: 'resolved' });
    } else if (row.state === 'PENDING') {
      // Never fired: nothing to remember. Fired before: back to how it ended then.
      if (row.startsAt === null) await tx.delete(alerts).where(eq(alerts.id, row.id));
      else await tx.update(alerts).set({ state: 'RESOLVED', activeSince: null, lastEvaluatedAt: now }).where(eq(alerts.id, row.id));
    }
  }
  await tx
    .update(alerts)
    .set({ lastEvaluatedAt: now })
    .where(and(eq(alerts.ruleId, rule.id), lt(alerts.lastEvaluatedAt, now)));

  if (transitions.length === 0) return { transitions: 0, deliveries: 0, nextDueMs };
  const silences = await activeSilences(tx, rule.id, now);
  const events: NewEvent[] = [];
  const deliveries: (typeof webhookDeliveries.$inferInsert)[] = [];
  for (const { alert, status } of transitions) {
    const silenced = isSilenced(silences, rule.id, alert.labels);
    events.push(alertEvent(rule, alert, status, silenced));
    if (silenced) continue;
    for (const receiver of rule.receivers) {
      deliveries.push({
        alertId: Number(alert.id),
        ruleId: rule.id,
        alertStatus: status,
        receiver: receiver.name,
        url: receiver.url,
        payload: alertmanagerPayload(rule, alert, status, receiver.name, options.externalUrl) as unknown as Record<string, unknown>,
      });
    }
  }
  if (deliveries.length > 0) await tx.insert(webhookDeliveries).values(deliveries);
  await appendEvents(tx, events);
  return { transitions: transitions.length, deliveries: deliveries.length, nextDueMs };
}
