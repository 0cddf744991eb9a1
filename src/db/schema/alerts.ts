import type { AlertRuleKindValue, AlertStateValue, WebhookDeliveryStatusValue } from '@switchboard/contracts';
import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

/** A webhook target of a rule. The secret signs payloads; the API never returns it. */
export interface StoredReceiver {
  name: string;
  url: string;
  secret: string | null;
}

/** Alert rules: one condition each (its kind and the fields that kind uses), and where to send its transitions. */
export const alertRules = pgTable(
  'alert_rules',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    kind: text('kind').$type<AlertRuleKindValue>().notNull(),
    service: text('service'),
    minPassing: integer('min_passing'),
    forMs: integer('for_ms'),
    transitions: integer('transitions'),
    windowMs: integer('window_ms'),
    keyPrefix: text('key_prefix'),
    environment: text('environment'),
    eventType: text('event_type'),
    holdMs: integer('hold_ms'),
    /** SERVICE_STATE: the states that fire it. */
    states: text('states').array().$type<('ACTIVE' | 'SCALING' | 'HEALING' | 'DOWN')[]>(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull().default({}),
    receivers: jsonb('receivers').$type<StoredReceiver[]>().notNull().default([]),
    /** Event kinds look only at events after this id (the log's head when the rule was written). */
    sinceEventId: bigint('since_event_id', { mode: 'number' }).notNull().default(0),
    /** Event kinds: the newest matching event an evaluation has accounted for (each fires at least once, however late it is seen). */
    seenEventId: bigint('seen_event_id', { mode: 'number' }).notNull().default(0),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('alert_rules_name_idx').on(t.name)],
);

/**
 * Alerts: one row per rule and label set (fingerprint), in its current state. PENDING: the
 * condition holds but not yet for the rule's `for`. Transitions to FIRING and RESOLVED append
 * `alert.firing` / `alert.resolved` in the same transaction.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ruleId: text('rule_id')
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull(),
    state: text('state').$type<AlertStateValue>().notNull(),
    /** When the condition started holding (PENDING and FIRING). */
    activeSince: timestamptz('active_since'),
    startsAt: timestamptz('starts_at'),
    endsAt: timestamptz('ends_at'),
    lastEvaluatedAt: timestamptz('last_evaluated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('alerts_rule_fingerprint_idx').on(t.ruleId, t.fingerprint),
    index('alerts_state_idx').on(t.state),
    check('alerts_state_check', sql`${t.state} in ('PENDING', 'FIRING', 'RESOLVED')`),
  ],
);

/** Silences: alerts matching one (its rule, and every label matcher) send no webhook until it ends. */
export const alertSilences = pgTable(
  'alert_silences',
  {
    id: text('id').primaryKey(),
    ruleId: text('rule_id').references(() => alertRules.id, { onDelete: 'cascade' }),
    matchers: jsonb('matchers').$type<Record<string, string>>().notNull().default({}),
    comment: text('comment').notNull(),
    createdBy: text('created_by'),
    startsAt: timestamptz('starts_at').notNull().defaultNow(),
    endsAt: timestamptz('ends_at').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [index('alert_silences_ends_at_idx').on(t.endsAt)],
);

/**
 * Webhook deliveries: one per transition and receiver. A sender claims due rows (FOR UPDATE
 * SKIP LOCKED, locked_by/locked_until), POSTs with no transaction open, and writes the outcome
 * where it still holds the claim; failures are retried at next_attempt_at until the attempt limit.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    alertId: bigint('alert_id', { mode: 'number' }).references(() => alerts.id, { onDelete: 'cascade' }),
    ruleId: text('rule_id')
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    alertStatus: text('alert_status').$type<'firing' | 'resolved'>().notNull(),
    receiver: text('receiver').notNull(),
    url: text('url').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status').$type<WebhookDeliveryStatusValue>().notNull().default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    nextAttemptAt: timestamptz('next_attempt_at').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: timestamptz('locked_until'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    deliveredAt: timestamptz('delivered_at'),
  },
  (t) => [
    index('webhook_deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`status = 'PENDING'`),
    index('webhook_deliveries_alert_idx').on(t.alertId),
    check('webhook_deliveries_status_check', sql`${t.status} in ('PENDING', 'DELIVERED', 'FAILED')`),
  ],
);

/** Which process leads each role done by one process at a time across all servers (the alert evaluator), and until when unrenewed. */
export const leaders = pgTable('leaders', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: timestamptz('expires_at').notNull(),
});

export type AlertRuleRow = typeof alertRules.$inferSelect;
export type AlertRow = typeof alerts.$inferSelect;
export type SilenceRow = typeof alertSilences.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
