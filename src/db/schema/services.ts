import type { CheckStatusValue, EndpointRecord } from '@switchboard/contracts';
import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

export const services = pgTable(
  'services',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** Null: registered without one; such an instance matches no version range. */
    version: text('version'),
    address: text('address').notNull(),
    /** Null: registered without one; discovery still returns it, its caller decides the port. */
    port: integer('port'),
    tags: text('tags')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    endpoints: jsonb('endpoints').$type<EndpointRecord[]>().notNull().default([]),
    protocols: text('protocols')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    weight: integer('weight').notNull().default(1),
    priority: integer('priority').notNull().default(0),
    /** Lease length; an instance with a TTL expires unless heartbeats renew it. */
    ttlMs: integer('ttl_ms'),
    registeredAt: timestamptz('registered_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    lastHeartbeatAt: timestamptz('last_heartbeat_at'),
    expiresAt: timestamptz('expires_at'),
    /** Worst status of the instance's health checks (PASSING with none), kept current on every transition. */
    checkStatus: text('check_status').$type<CheckStatusValue>().notNull().default('PASSING'),
    /** Maintenance takes the instance out of passing discovery without deregistering it. */
    maintenanceReason: text('maintenance_reason'),
    maintenanceSince: timestamptz('maintenance_since'),
    /**
     * Ephemeral instances: the client session (graphql-ws connectionParams.sessionId) whose
     * connection keeps the lease alive; the server it is connected to renews it. Null: an
     * ordinary instance. A bearer secret of its client: never copied into events.
     */
    sessionId: text('session_id'),
    /**
     * The external registry this instance is followed from (a SWITCHBOARD_SOURCES name): only that
     * source's follower writes it; every other write is refused. Null: registered here (native).
     */
    source: text('source'),
  },
  (t) => [
    index('services_name_idx').on(t.name),
    index('services_tags_idx').using('gin', t.tags),
    // Only leased instances are ever swept, so only they are indexed.
    index('services_expires_at_idx')
      .on(t.expiresAt)
      .where(sql`expires_at is not null`),
    // Each server renews its connected sessions' instances by session id.
    index('services_session_id_idx')
      .on(t.sessionId)
      .where(sql`session_id is not null`),
    // A source's follower reads its own instances on every delivered set.
    index('services_source_idx')
      .on(t.source)
      .where(sql`source is not null`),
  ],
);
