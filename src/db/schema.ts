import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

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
  (t) => [
    index('events_type_id_idx').on(t.type, t.id),
    // Retention finds the oldest event still young enough to keep.
    index('events_created_at_idx').on(t.createdAt),
  ],
);

export type ServiceRow = typeof services.$inferSelect;
export type EventRow = typeof events.$inferSelect;

/** Framework components (steps, transformers, …). Several versions of one name coexist under different ids. */
export const components = pgTable(
  'components',
  {
    id: text('id').primaryKey(),
    type: text('type').$type<ComponentTypeValue>().notNull(),
    name: text('name').notNull(),
    version: text('version').notNull(),
    description: text('description'),
    /** Declared dependencies, in declaration order. */
    dependencies: jsonb('dependencies').$type<ComponentDependencyRecord[]>().notNull().default([]),
    /** The names in `dependencies`, indexed for the reverse ("who depends on X") lookup. */
    dependencyNames: text('dependency_names').array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    registeredAt: timestamptz('registered_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('components_name_idx').on(t.name),
    index('components_type_idx').on(t.type),
    index('components_dependency_names_idx').using('gin', t.dependencyNames),
    check('components_type_check', sql`${t.type} in ('STEP', 'TRANSFORMER', 'VALIDATOR', 'FLOW', 'MIDDLEWARE', 'PLUGIN')`),
  ],
);

export type ComponentTypeValue = 'STEP' | 'TRANSFORMER' | 'VALIDATOR' | 'FLOW' | 'MIDDLEWARE' | 'PLUGIN';

export interface ComponentDependencyRecord {
  name: string;
  /** A semver range; "*" when the dependency names no version. */
  range: string;
}

/**
 * Current configuration values. The global value of a key has environment '' (so
 * it can be part of the primary key); the API shows it as null. A deleted key
 * keeps its row as a tombstone so versions never restart.
 */
export const configEntries = pgTable(
  'config_entries',
  {
    key: text('key').notNull(),
    environment: text('environment').notNull(),
    value: jsonb('value'),
    version: integer('version').notNull(),
    deleted: boolean('deleted').notNull().default(false),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.key, t.environment] })],
);

/** Every version of every configuration value, newest kept up to a bound. */
export const configHistory = pgTable(
  'config_history',
  {
    key: text('key').notNull(),
    environment: text('environment').notNull(),
    version: integer('version').notNull(),
    value: jsonb('value'),
    deleted: boolean('deleted').notNull().default(false),
    changedAt: timestamptz('changed_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.key, t.environment, t.version] })],
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

export type ComponentRow = typeof components.$inferSelect;
export type ConfigEntryRow = typeof configEntries.$inferSelect;
export type ConfigHistoryRow = typeof configHistory.$inferSelect;
