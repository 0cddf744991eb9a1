import { bigint, boolean, customType, integer, numeric, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

/**
 * A configuration value: any JSON, a bare string included. postgres.js already parses jsonb;
 * Drizzle's own jsonb column parses a string a second time when it looks like JSON, so the
 * string "30" read back as the number 30 and the string '{"a":1}' as an object.
 */
const jsonValue = customType<{ data: unknown; driverData: unknown }>({
  dataType: () => 'jsonb',
  toDriver: (value) => JSON.stringify(value),
  fromDriver: (value) => value,
});

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
    value: jsonValue('value'),
    version: integer('version').notNull(),
    deleted: boolean('deleted').notNull().default(false),
    /** Secret values are shown only to tokens that may write the key, and never put in events. */
    secret: boolean('secret').notNull().default(false),
    /** An opaque unsigned 64-bit number a client keeps with the value (Consul KV's `Flags`); decimal text when read. */
    flags: numeric('flags', { precision: 20, scale: 0 }).notNull().default('0'),
    /** The version at which the value was last created (after a deletion, versions go on): Consul KV's `CreateIndex`. */
    createdVersion: integer('created_version').notNull().default(1),
    /**
     * The id of the event that created the current value, and of the one that last changed it (a
     * deletion included). Consul KV's CreateIndex and ModifyIndex are built from them, so that they
     * are on the scale of X-Consul-Index (the event log's), as clients block on either. Written in
     * the statement that appends the event (see writeConfig).
     */
    createdEventId: bigint('created_event_id', { mode: 'number' }).notNull().default(0),
    modifiedEventId: bigint('modified_event_id', { mode: 'number' }).notNull().default(0),
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
    value: jsonValue('value'),
    deleted: boolean('deleted').notNull().default(false),
    secret: boolean('secret').notNull().default(false),
    changedAt: timestamptz('changed_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.key, t.environment, t.version] })],
);

export type ConfigEntryRow = typeof configEntries.$inferSelect;
export type ConfigHistoryRow = typeof configHistory.$inferSelect;
