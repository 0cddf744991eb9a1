import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Stored shape of one documented endpoint of a service instance. */
export interface EndpointRecord {
  path: string;
  method: string;
  description: string | null;
  parameters: EndpointParameterRecord[];
  responses: EndpointResponseRecord[];
}

export interface EndpointParameterRecord {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie' | 'body';
  type: string;
  required: boolean;
  description: string | null;
}

export interface EndpointResponseRecord {
  status: number;
  description: string | null;
  schema: unknown;
}

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const services = pgTable(
  'services',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    version: text('version').notNull(),
    address: text('address').notNull(),
    port: integer('port').notNull(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    endpoints: jsonb('endpoints').$type<EndpointRecord[]>().notNull().default([]),
    protocols: text('protocols').array().notNull().default(sql`'{}'::text[]`),
    weight: integer('weight').notNull().default(1),
    priority: integer('priority').notNull().default(0),
    /** Lease length; an instance with a TTL expires unless heartbeats renew it. */
    ttlMs: integer('ttl_ms'),
    registeredAt: timestamptz('registered_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    lastHeartbeatAt: timestamptz('last_heartbeat_at'),
    expiresAt: timestamptz('expires_at'),
  },
  (t) => [
    index('services_name_idx').on(t.name),
    index('services_tags_idx').using('gin', t.tags),
    // Only leased instances are ever swept, so only they are indexed.
    index('services_expires_at_idx').on(t.expiresAt).where(sql`expires_at is not null`),
  ],
);

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
    // clock_timestamp(), not now(): appends are serialized, so this stays monotonic with the id.
    createdAt: timestamptz('created_at').notNull().default(sql`clock_timestamp()`),
  },
  (t) => [index('events_type_id_idx').on(t.type, t.id)],
);

export type ServiceRow = typeof services.$inferSelect;
export type EventRow = typeof events.$inferSelect;
