import type { CheckKindValue, CheckStatusValue, CheckTarget } from '@switchboard/contracts';
import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';
import { services } from './services.js';

/**
 * Health checks, and their schedule: a worker claims due checks (next_run_at <= now,
 * claim free or expired; the claim is locked_by/locked_until) with FOR UPDATE SKIP LOCKED,
 * probes with no transaction open, and writes the result back where it still holds the claim.
 */
export const healthChecks = pgTable(
  'health_checks',
  {
    id: text('id').primaryKey(),
    serviceId: text('service_id')
      .notNull()
      .references(() => services.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').$type<CheckKindValue>().notNull(),
    target: jsonb('target').$type<CheckTarget>().notNull(),
    intervalMs: integer('interval_ms').notNull(),
    timeoutMs: integer('timeout_ms').notNull(),
    /** TTL checks: how long an update stays valid. */
    ttlMs: integer('ttl_ms'),
    successBeforePassing: integer('success_before_passing').notNull().default(0),
    failuresBeforeCritical: integer('failures_before_critical').notNull().default(0),
    deregisterCriticalAfterMs: integer('deregister_critical_after_ms'),
    status: text('status').$type<CheckStatusValue>().notNull().default('CRITICAL'),
    output: text('output').notNull().default(''),
    consecutiveSuccesses: integer('consecutive_successes').notNull().default(0),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    checkCount: bigint('check_count', { mode: 'number' }).notNull().default(0),
    failureCount: bigint('failure_count', { mode: 'number' }).notNull().default(0),
    lastCheckAt: timestamptz('last_check_at'),
    statusChangedAt: timestamptz('status_changed_at').notNull().defaultNow(),
    /** Set while critical: deregisterCriticalServiceAfter counts from here. */
    criticalSince: timestamptz('critical_since').defaultNow(),
    /** Next probe (for TTL checks: when the last update lapses). */
    nextRunAt: timestamptz('next_run_at').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: timestamptz('locked_until'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('health_checks_service_id_idx').on(t.serviceId),
    index('health_checks_next_run_at_idx').on(t.nextRunAt),
    index('health_checks_critical_idx')
      .on(t.criticalSince)
      .where(sql`deregister_critical_after_ms is not null`),
    check('health_checks_kind_check', sql`${t.kind} in ('HTTP', 'TCP', 'GRPC', 'SCRIPT', 'TTL')`),
    check('health_checks_status_check', sql`${t.status} in ('PASSING', 'WARNING', 'CRITICAL')`),
  ],
);

/** Recent status transitions of each instance's checks (bounded), so flapping shows. */
export const healthTransitions = pgTable(
  'health_transitions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    serviceId: text('service_id').notNull(),
    /** Null for a maintenance switch. */
    checkId: text('check_id'),
    checkName: text('check_name'),
    /** Null when the check is new (from) or was removed (to); for maintenance, the instance's status. */
    fromStatus: text('from_status').$type<CheckStatusValue>(),
    toStatus: text('to_status').$type<CheckStatusValue>(),
    output: text('output').notNull(),
    instanceStatus: text('instance_status').$type<CheckStatusValue>().notNull(),
    at: timestamptz('at').notNull().defaultNow(),
  },
  (t) => [index('health_transitions_service_idx').on(t.serviceId, t.id)],
);
