import type { CircuitStateValue } from '@switchboard/contracts';
import { sql } from 'drizzle-orm';
import { check, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';
import { services } from './services.js';

/**
 * Circuit breakers, one per instance that has had outcomes reported, shared by
 * every server. The failure rate is a sliding window approximated by two fixed
 * buckets (this one and the previous, weighted by overlap).
 */
export const circuitBreakers = pgTable(
  'circuit_breakers',
  {
    serviceId: text('service_id')
      .primaryKey()
      .references(() => services.id, { onDelete: 'cascade' }),
    state: text('state').$type<CircuitStateValue>().notNull().default('CLOSED'),
    windowStart: timestamptz('window_start').notNull().defaultNow(),
    calls: integer('calls').notNull().default(0),
    failures: integer('failures').notNull().default(0),
    previousCalls: integer('previous_calls').notNull().default(0),
    previousFailures: integer('previous_failures').notNull().default(0),
    openedAt: timestamptz('opened_at'),
    /** Half-open: probe selections granted, and when the last one was. */
    probesGranted: integer('probes_granted').notNull().default(0),
    lastProbeAt: timestamptz('last_probe_at'),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [check('circuit_breakers_state_check', sql`${t.state} in ('CLOSED', 'OPEN', 'HALF_OPEN')`)],
);

export type CircuitBreakerRow = typeof circuitBreakers.$inferSelect;
