import type { EventActor } from '@switchboard/contracts';
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

/**
 * The change log. Ids are handed out in commit order (see src/events/append.ts),
 * so "every event after id N" is a complete, gap-free answer.
 */
export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    type: text('type').notNull(),
    source: text('source').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    /** Who caused it (token id and name); null for the registry's own work (sweeps, health checks). */
    actor: jsonb('actor').$type<EventActor>(),
    // clock_timestamp(), not now(): appends are serialized, so this stays monotonic with the id.
    createdAt: timestamptz('created_at')
      .notNull()
      .default(sql`clock_timestamp()`),
  },
  (t) => [
    index('events_type_id_idx').on(t.type, t.id),
    // Retention finds the oldest event still young enough to keep.
    index('events_created_at_idx').on(t.createdAt),
  ],
);

/** One row: how far the event log has been pruned (a cursor below it cannot be resumed). */
export const eventLogState = pgTable(
  'event_log_state',
  {
    singleton: boolean('singleton').primaryKey().default(true),
    prunedThrough: bigint('pruned_through', { mode: 'number' }).notNull().default(0),
  },
  (t) => [check('event_log_state_singleton', sql`${t.singleton}`)],
);
