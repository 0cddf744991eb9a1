import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { WebhookDeliveryStatusValue } from '@switchboard/contracts';
import type { Executor } from '../../db/client.js';
import { webhookDeliveries } from '../../db/schema/index.js';
import { toDelivery, type WebhookDelivery } from './model.js';

/** A delivery a sender claimed: where to POST what, signed with which secret. */
export interface ClaimedDelivery {
  id: number;
  url: string;
  payload: Record<string, unknown>;
  /** This attempt's number (1 for the first). */
  attempt: number;
  /** Null: the receiver has no secret (or was removed from its rule); sent unsigned. */
  secret: string | null;
}

/**
 * Claims due deliveries in one statement (FOR UPDATE SKIP LOCKED: concurrent senders on other
 * servers take other rows), counts the attempt and holds the claim for `lockMs` (longer than a
 * POST may take). The secret is read from the rule as it is now, by the receiver's URL.
 */
export async function claimDueDeliveries(db: Executor, sender: string, limit: number, lockMs: number): Promise<ClaimedDelivery[]> {
  const rows = await db.execute<{ id: string; url: string; payload: Record<string, unknown>; attempts: number; secret: string | null }>(sql`
    with due as (
      select id from webhook_deliveries
      where status = 'PENDING' and next_attempt_at <= now() and (locked_until is null or locked_until < now())
      order by next_attempt_at
      limit ${limit}::int
      for update skip locked
    )
    update webhook_deliveries d
    set locked_by = ${sender}::text, locked_until = now() + ${lockMs}::int * interval '1 millisecond', attempts = d.attempts + 1
    from due
    where d.id = due.id
    returning d.id, d.url, d.payload, d.attempts,
      (select r->>'secret' from alert_rules ar, jsonb_array_elements(ar.receivers) r where ar.id = d.rule_id and r->>'url' = d.url limit 1) as secret`);
  return rows.map((row) => ({ id: Number(row.id), url: row.url, payload: row.payload, attempt: row.attempts, secret: row.secret }));
}

/** Milliseconds until a pending delivery can next be claimed (due, and not claimed by a sender); undefined: none pending. */
export async function millisUntilNextDelivery(db: Executor): Promise<number | undefined> {
  const [row] = await db.execute<{ ms: number | null }>(
    sql`select extract(epoch from min(greatest(next_attempt_at, coalesce(locked_until, next_attempt_at))) - now()) * 1000 as ms
        from webhook_deliveries where status = 'PENDING'`,
  );
  return row?.ms == null ? undefined : Number(row.ms);
}

export interface DeliveryOutcome {
  id: number;
  /** The receiver answered 2xx. */
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
  /** Failed: when to try again; undefined: give up (attempts spent, or a refusal retrying cannot fix). */
  retryInMs: number | undefined;
}

/** Writes an attempt's outcome where this sender still holds the claim, and releases it. */
export async function recordDeliveryOutcome(db: Executor, sender: string, outcome: DeliveryOutcome): Promise<void> {
  const status: WebhookDeliveryStatusValue = outcome.delivered ? 'DELIVERED' : outcome.retryInMs === undefined ? 'FAILED' : 'PENDING';
  await db
    .update(webhookDeliveries)
    .set({
      status,
      lastStatusCode: outcome.statusCode,
      lastError: outcome.error,
      nextAttemptAt:
        outcome.retryInMs === undefined
          ? sql`${webhookDeliveries.nextAttemptAt}`
          : sql`now() + ${Math.round(outcome.retryInMs)}::int * interval '1 millisecond'`,
      deliveredAt: outcome.delivered ? sql`now()` : null,
      lockedBy: null,
      lockedUntil: null,
    })
    .where(and(eq(webhookDeliveries.id, outcome.id), eq(webhookDeliveries.lockedBy, sender)));
}

/** On shutdown: hand back claims not finished, so another server sends them without waiting for expiry. */
export async function releaseDeliveryClaims(db: Executor, sender: string): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ lockedBy: null, lockedUntil: null })
    .where(and(eq(webhookDeliveries.lockedBy, sender), eq(webhookDeliveries.status, 'PENDING')));
}

export interface DeliveryFilter {
  status?: WebhookDeliveryStatusValue | null | undefined;
  ruleId?: string | null | undefined;
  first?: number | null | undefined;
}

export const DELIVERY_PAGE_MAX = 1000;

/** Deliveries, newest first. */
export async function listDeliveries(db: Executor, filter: DeliveryFilter = {}): Promise<WebhookDelivery[]> {
  const conditions: SQL[] = [];
  if (filter.status) conditions.push(eq(webhookDeliveries.status, filter.status));
  if (filter.ruleId) conditions.push(eq(webhookDeliveries.ruleId, filter.ruleId));
  const limit = Math.min(Math.max(filter.first ?? 100, 1), DELIVERY_PAGE_MAX);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(and(...conditions))
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit);
  return rows.map(toDelivery);
}

/** The deliveries of several alerts, in one query, oldest first per alert. */
export async function deliveriesOfAlerts(db: Executor, alertIds: readonly string[]): Promise<Map<string, WebhookDelivery[]>> {
  const byAlert = new Map<string, WebhookDelivery[]>(alertIds.map((id) => [id, []]));
  if (alertIds.length === 0) return byAlert;
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.alertId, alertIds.map(Number)))
    .orderBy(webhookDeliveries.id);
  for (const row of rows) byAlert.get(String(row.alertId))?.push(toDelivery(row));
  return byAlert;
}

export const DELIVERY_PRUNE_BATCH = 10_000;

/**
 * Removes finished deliveries (delivered or given up) created longer than `maxAgeMs` ago, at most
 * a batch at a time; pending ones are kept whatever their age. Returns how many went.
 */
export async function pruneWebhookDeliveries(db: Executor, maxAgeMs: number): Promise<number> {
  const removed = await db.execute<{ id: string }>(sql`
    delete from webhook_deliveries d
    using (
      select id from webhook_deliveries
      where status <> 'PENDING' and created_at < now() - make_interval(secs => ${maxAgeMs / 1000}::float8)
      limit ${DELIVERY_PRUNE_BATCH}::int
    ) old
    where d.id = old.id
    returning d.id`);
  return removed.length;
}
